"""An Idempotency-Key on an update (FHIR update message or JSON PUT) follows a submission's
rules: a retry under it replays and writes nothing, even after a later revision (a late retry
must not put stale clinical content back), and another body under the key is 409."""

from __future__ import annotations

import json
from typing import Any

from schemas.cases import ReferralReceived
from tests.intake.intake_fakes import bearer, running_intake
from tests.intake.test_intake_fhir_api import fixture_bytes
from tests.unit.intake.intake_builders import referral_body

NORTH = bearer("ref-north-gp")


def _update(bundle: dict[str, Any], nrs_limb: int) -> dict[str, Any]:
    changed: dict[str, Any] = json.loads(json.dumps(bundle))
    changed["entry"][0]["resource"]["reason"]["coding"][0]["code"] = "update"
    changed["entry"][15]["resource"]["valueInteger"] = nrs_limb  # symptoms.nrs_limb
    return changed


def _key(key: str) -> dict[str, str]:
    return NORTH | {"Idempotency-Key": key}


def test_a_late_retry_of_a_fhir_update_under_its_key_replays_and_does_not_revert() -> None:
    bundle = json.loads(fixture_bytes("fbss-recurrent-disc.message"))
    with running_intake() as (client, log):
        assert client.post("/fhir/Bundle", json=bundle, headers=NORTH).status_code == 202
        first = client.post("/fhir/Bundle", json=_update(bundle, 9), headers=_key("upd-1"))
        assert first.status_code == 202 and first.json()["revision"] == 2
        retry_now = client.post("/fhir/Bundle", json=_update(bundle, 9), headers=_key("upd-1"))
        assert retry_now.status_code == 200 and retry_now.json() == first.json()
        second = client.post("/fhir/Bundle", json=_update(bundle, 4), headers=_key("upd-2"))
        assert second.status_code == 202 and second.json()["revision"] == 3
        written = len(log.records)
        # The client's retry of its first update (its answer was lost) under the same key:
        retry = client.post("/fhir/Bundle", json=_update(bundle, 9), headers=_key("upd-1"))
    assert retry.status_code == 200, (retry.status_code, retry.json())
    assert retry.json()["revision"] == 3 and len(log.records) == written
    latest = [e for e in log.events() if isinstance(e, ReferralReceived)][-1]
    assert latest.revision == 3 and latest.referral.symptoms.nrs_limb == 4


def test_another_fhir_update_body_under_a_used_key_is_409_operation_outcome() -> None:
    bundle = json.loads(fixture_bytes("fbss-recurrent-disc.message"))
    with running_intake() as (client, log):
        client.post("/fhir/Bundle", json=bundle, headers=NORTH)
        client.post("/fhir/Bundle", json=_update(bundle, 9), headers=_key("upd-1"))
        written = len(log.records)
        reused = client.post("/fhir/Bundle", json=_update(bundle, 4), headers=_key("upd-1"))
    assert reused.status_code == 409, (reused.status_code, reused.json())
    assert reused.headers["content-type"].startswith("application/fhir+json")
    assert reused.json()["resourceType"] == "OperationOutcome"
    assert "Idempotency-Key" in json.dumps(reused.json())
    assert len(log.records) == written


def test_a_put_under_a_key_replays_after_a_later_revision_and_refuses_another_body() -> None:
    with running_intake() as (client, log):
        case_id = client.post("/referrals", json=referral_body(), headers=NORTH).json()["case_id"]
        path = f"/referrals/{case_id}"
        first = client.put(path, json=referral_body(age=60), headers=_key("put-1"))
        assert first.status_code == 202 and first.json()["revision"] == 2
        second = client.put(path, json=referral_body(age=61), headers=_key("put-2"))
        assert second.status_code == 202
        written = len(log.records)
        retry = client.put(path, json=referral_body(age=60), headers=_key("put-1"))
        reused = client.put(path, json=referral_body(age=62), headers=_key("put-1"))
    assert retry.status_code == 200 and retry.json()["revision"] == 3
    assert reused.status_code == 409
    assert reused.headers["content-type"] == "application/problem+json"
    assert reused.json()["type"].endswith("/idempotency-key-reused")
    assert len(log.records) == written
    latest = [e for e in log.events() if isinstance(e, ReferralReceived)][-1]
    assert latest.revision == 3 and latest.referral.age == 61
