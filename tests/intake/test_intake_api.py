"""Intake's JSON API on a fake Kafka log: 202 only once written, idempotency, updates,
cancellation, missing records, erasure and field-naming validation errors."""

from __future__ import annotations

from typing import Any

from schemas.cases import CaseErased, ReferralCancelled, ReferralReceived
from schemas.topics import INTAKE_REGISTRY, REFERRAL_EVENTS
from tests.intake.intake_fakes import bearer, running_intake
from tests.unit.intake.intake_builders import referral_body

NORTH = bearer("ref-north-gp")
OPS = bearer("ops-1", role="ops")


def test_post_answers_202_with_the_case_id_after_writing_event_then_registry() -> None:
    with running_intake() as (client, log):
        response = client.post("/referrals", json=referral_body(), headers=NORTH)
    assert response.status_code == 202
    case_id = response.json()["case_id"]
    assert [(r.topic, r.key) for r in log.records] == [
        (REFERRAL_EVENTS, case_id), (INTAKE_REGISTRY, f"case/{case_id}")
    ]
    [event] = log.events()
    assert isinstance(event, ReferralReceived)
    assert event.referrer_id == "ref-north-gp" and event.referral.referrer is not None
    assert event.referral.referrer.id == "ref-north-gp"  # not what the body claimed


def test_resend_returns_the_same_body_and_writes_nothing() -> None:
    with running_intake() as (client, log):
        first = client.post("/referrals", json=referral_body(), headers=NORTH)
        written = len(log.records)
        again = client.post("/referrals", json=referral_body(), headers=NORTH)
    assert again.status_code == 200 and again.json() == first.json()
    assert len(log.records) == written


def test_idempotency_key_reused_with_another_body_is_409_problem() -> None:
    headers = NORTH | {"Idempotency-Key": "abc-123"}
    with running_intake() as (client, _):
        client.post("/referrals", json=referral_body(), headers=headers)
        response = client.post("/referrals", json=referral_body(referral_id="R-2"), headers=headers)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/idempotency-key-reused") and problem["status"] == 409
    assert "Idempotency-Key" in problem["detail"] and problem["instance"] == "/referrals"


def test_idempotency_key_first_sent_on_a_resend_refuses_another_body_later() -> None:
    keyed = NORTH | {"Idempotency-Key": "key-7"}
    with running_intake() as (client, log):
        first = client.post("/referrals", json=referral_body(), headers=NORTH)
        replay = client.post("/referrals", json=referral_body(), headers=keyed)
        other = client.post("/referrals", json=referral_body(referral_id="R-OTHER"), headers=keyed)
    assert replay.status_code == 200 and replay.json() == first.json()
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["type"].endswith("/idempotency-key-reused")
    assert len(log.events()) == 1  # the key's record is a registry write, never an event


def test_same_referral_id_with_changed_body_is_409_pointing_to_put() -> None:
    with running_intake() as (client, _):
        case_id = client.post("/referrals", json=referral_body(), headers=NORTH).json()["case_id"]
        response = client.post("/referrals", json=referral_body(age=70), headers=NORTH)
    assert response.status_code == 409 and f"PUT /referrals/{case_id}" in response.json()["detail"]


def test_registry_survives_a_restart_so_a_resend_replays() -> None:
    with running_intake() as (client, log):
        first = client.post("/referrals", json=referral_body(), headers=NORTH).json()
    with running_intake(log) as (client, _):
        again = client.post("/referrals", json=referral_body(), headers=NORTH)
    assert again.status_code == 200 and again.json()["case_id"] == first["case_id"]
    assert len(log.events()) == 1


def test_missing_records_are_listed_and_an_update_supplying_them_clears_them() -> None:
    body = referral_body(imaging=[])
    with running_intake() as (client, log):
        created = client.post("/referrals", json=body, headers=NORTH).json()
        assert created["missing_records"] == ["imaging"]
        updated = client.put(f"/referrals/{created['case_id']}", json=referral_body(),
                             headers=NORTH)
    assert updated.status_code == 202
    assert updated.json()["revision"] == 2 and updated.json()["missing_records"] == []
    first, second = log.events()
    assert isinstance(first, ReferralReceived) and isinstance(second, ReferralReceived)
    assert (first.missing_records, second.missing_records) == (["imaging"], [])
    assert second.revision == 2 and second.event_id != first.event_id


def test_put_of_an_unchanged_body_replays_without_a_new_revision() -> None:
    with running_intake() as (client, log):
        case_id = client.post("/referrals", json=referral_body(), headers=NORTH).json()["case_id"]
        response = client.put(f"/referrals/{case_id}", json=referral_body(), headers=NORTH)
    assert response.status_code == 200 and response.json()["revision"] == 1
    assert len(log.events()) == 1


def test_cancel_by_delete_or_post_produces_one_cancellation() -> None:
    with running_intake() as (client, log):
        case_id = client.post("/referrals", json=referral_body(), headers=NORTH).json()["case_id"]
        cancelled = client.delete(f"/referrals/{case_id}", headers=NORTH)
        again = client.post(f"/referrals/{case_id}/cancel", headers=NORTH)
        shown = client.get(f"/referrals/{case_id}", headers=NORTH)
    assert (cancelled.status_code, again.status_code) == (202, 200)
    assert shown.json()["status"] == "cancelled"
    assert [type(e) for e in log.events()] == [ReferralReceived, ReferralCancelled]


def test_referrer_sees_its_own_case_and_not_anothers() -> None:
    with running_intake() as (client, _):
        case_id = client.post("/referrals", json=referral_body(), headers=NORTH).json()["case_id"]
        own = client.get(f"/referrals/{case_id}", headers=NORTH)
        other = client.get(f"/referrals/{case_id}", headers=bearer("ref-city-hospital"))
        ops = client.get(f"/referrals/{case_id}", headers=OPS)
    assert own.status_code == 200 and own.json()["referrer_id"] == "ref-north-gp"
    assert other.status_code == 404 and ops.status_code == 200


def test_erasure_writes_case_erased_and_tombstones_and_forgets_the_case() -> None:
    with running_intake() as (client, log):
        case_id = client.post("/referrals", json=referral_body(), headers=NORTH).json()["case_id"]
        erased = client.delete(f"/referrals/{case_id}/patient-data", headers=OPS)
        shown = client.get(f"/referrals/{case_id}", headers=NORTH)
        resent = client.post("/referrals", json=referral_body(), headers=NORTH)
    assert erased.status_code == 202 and erased.json()["status"] == "erased"
    assert isinstance(log.events()[-1], CaseErased)
    tombstones = [r.key for r in log.records if r.topic == INTAKE_REGISTRY and r.value is None]
    assert tombstones == [f"case/{case_id}"]
    assert shown.status_code == 404 and resent.status_code == 410


def _errors(response: Any) -> dict[str, str]:
    return {e["path"]: e["message"] for e in response.json()["errors"]}


def test_invalid_fields_are_named_one_by_one() -> None:
    body = referral_body(age=130, sex="Q", symptoms={"nrs_back": 11}, unknown_field=1)
    with running_intake() as (client, log):
        response = client.post("/referrals", json=body, headers=NORTH)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert set(_errors(response)) == {"age", "sex", "symptoms.nrs_back", "unknown_field"}
    assert log.records == []


def test_missing_required_field_and_malformed_json_are_422_problems() -> None:
    body = referral_body()
    del body["region"]
    with running_intake() as (client, _):
        missing = client.post("/referrals", json=body, headers=NORTH)
        malformed = client.post("/referrals", content=b"{not json",
                                headers=NORTH | {"Content-Type": "application/json"})
    assert _errors(missing) == {"region": "Field required"}
    assert malformed.status_code == 422 and malformed.json()["title"] == "Invalid request"


def test_unknown_case_id_is_404_problem() -> None:
    with running_intake() as (client, _):
        response = client.get("/referrals/no-such-case", headers=NORTH)
    assert response.status_code == 404 and response.json()["type"].endswith("/not-found")
