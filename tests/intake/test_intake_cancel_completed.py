"""A completed case stays completed: once intake's Task view saw the completion a cancellation
(JSON or FHIR) is refused with 409 `case-completed` and writes nothing; a cancel intake took
before it saw the completion (routing ignored it, the reports stand) leaves the Task completed."""

from __future__ import annotations

import json

from schemas.cases import ReferralCancelled
from tests.intake.intake_fakes import running_intake
from tests.intake.test_intake_fhir_api import fixture_bytes
from tests.intake.test_intake_fhir_status import (
    FHIR_JSON,
    NORTH,
    feed,
    post_bundle,
    step_events,
    task,
)
from tests.unit.intake.intake_builders import referral_body


def test_a_cancel_after_the_case_completed_is_409_and_the_task_stays_completed() -> None:
    with running_intake() as (client, log):
        case_id = post_bundle(client)
        feed(client, *step_events(case_id))
        written = len(log.records)
        cancel = client.delete(f"/referrals/{case_id}", headers=NORTH)
        cancel_post = client.post(f"/referrals/{case_id}/cancel", headers=NORTH)
        after = task(client, case_id)
        receipt = client.get(f"/referrals/{case_id}", headers=NORTH).json()
    assert cancel.status_code == 409 and cancel_post.status_code == 409
    assert cancel.headers["content-type"] == "application/problem+json"
    assert cancel.json()["type"].endswith("/case-completed")
    assert len(log.records) == written and receipt["status"] == "open"
    assert after["status"] == "completed" and after["output"]


def test_a_fhir_revoke_after_the_case_completed_is_409_operation_outcome() -> None:
    with running_intake() as (client, log):
        case_id = post_bundle(client)
        feed(client, *step_events(case_id))
        written = len(log.records)
        revoke = client.post("/fhir/Bundle",
                             content=fixture_bytes("fbss-recurrent-disc.cancel.message"),
                             headers=NORTH | FHIR_JSON)
        after = task(client, case_id)
    assert revoke.status_code == 409
    assert revoke.headers["content-type"].startswith("application/fhir+json")
    issue = revoke.json()["issue"][0]
    assert revoke.json()["resourceType"] == "OperationOutcome" and issue["code"] == "conflict"
    assert len(log.records) == written and after["status"] == "completed"


def test_a_cancel_taken_before_the_view_saw_the_completion_leaves_the_task_completed() -> None:
    with running_intake() as (client, log):
        case_id = post_bundle(client)
        feed(client, *step_events(case_id)[:2])  # accepted; the completion not yet read
        assert client.delete(f"/referrals/{case_id}", headers=NORTH).status_code == 202
        feed(client, *step_events(case_id)[2:])  # routing completed it and ignored the cancel
        after = task(client, case_id)
    assert any(isinstance(e, ReferralCancelled) for e in log.events())
    assert after["status"] == "completed" and after["output"]


def test_an_update_after_the_case_completed_is_409_and_writes_nothing() -> None:
    """Routing ignores a triage revision after completion: the new information would reach
    nobody, so the referrer is told to send a new referral; a resend of the same body still
    replays."""
    bundle = json.loads(fixture_bytes("fbss-recurrent-disc.message"))
    with running_intake() as (client, log):
        case_id = post_bundle(client)
        feed(client, *step_events(case_id))
        written = len(log.records)
        same = client.post("/fhir/Bundle", json=bundle, headers=NORTH)
        bundle["entry"][0]["resource"]["reason"]["coding"][0]["code"] = "update"
        bundle["entry"][15]["resource"]["valueInteger"] = 9  # symptoms.nrs_limb
        update = client.post("/fhir/Bundle", json=bundle, headers=NORTH)
        json_case = client.post("/referrals", json=referral_body(), headers=NORTH).json()
        feed(client, *step_events(json_case["case_id"]))
        written = len(log.records)
        put = client.put(f"/referrals/{json_case['case_id']}",
                         json=referral_body(clinical_question="new numbness"), headers=NORTH)
    assert same.status_code == 200
    assert update.status_code == 409 and update.json()["resourceType"] == "OperationOutcome"
    assert "new referral" in update.json()["issue"][0]["diagnostics"]
    assert put.status_code == 409 and put.json()["type"].endswith("/case-completed")
    assert len(log.records) == written
