"""Patient identifiers past the cap over HTTP: a 422 problem+json naming the field on the JSON
contract, a 422 OperationOutcome naming the element under /fhir, and nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.referral import MAX_PATIENT_IDENTIFIERS
from tests.intake.intake_fakes import bearer, running_intake
from tests.unit.intake.intake_builders import referral_body

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fhir"
NORTH = bearer("ref-north-gp")


def identifiers(count: int, value_chars: int = 0) -> list[dict[str, str]]:
    return [{"system": "https://north-gp.example/ids", "value": f"id-{i}".ljust(value_chars, "9")}
            for i in range(count)]


def errors(answer: Any) -> dict[str, str]:
    return {e["path"]: e["message"] for e in answer.json()["errors"]}


def test_json_referrals_past_the_identifier_caps_are_422_naming_the_field() -> None:
    too_many = referral_body(patient={"identifiers": identifiers(MAX_PATIENT_IDENTIFIERS + 1)})
    too_long = referral_body(referral_id="REF-2",
                             patient={"identifiers": identifiers(1, value_chars=101)})
    at_cap = referral_body(referral_id="REF-3",
                           patient={"identifiers": identifiers(MAX_PATIENT_IDENTIFIERS, 100)})
    with running_intake() as (client, log):
        many = client.post("/referrals", json=too_many, headers=NORTH)
        long = client.post("/referrals", json=too_long, headers=NORTH)
        assert log.records == []
        accepted = client.post("/referrals", json=at_cap, headers=NORTH)
    for answer in (many, long):
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/problem+json"
    assert list(errors(many)) == ["patient.identifiers"]
    assert list(errors(long)) == ["patient.identifiers.0.value"]
    assert "9" * 101 not in long.text  # the value itself is never echoed
    assert accepted.status_code == 202, accepted.text


def message_with_patient_identifiers(extra: list[dict[str, str]]) -> dict[str, Any]:
    bundle: dict[str, Any] = json.loads(
        (FIXTURES / "fbss-recurrent-disc.message.json").read_text())
    patient = bundle["entry"][2]["resource"]  # NHS number and pseudonym
    assert patient["resourceType"] == "Patient"
    patient["identifier"] += extra
    return bundle


def test_fhir_bundles_past_the_identifier_caps_are_422_outcomes_naming_the_element() -> None:
    too_many = message_with_patient_identifiers(identifiers(MAX_PATIENT_IDENTIFIERS))
    too_long = message_with_patient_identifiers(identifiers(1, value_chars=101))
    with running_intake() as (client, log):
        many = client.post("/fhir/Bundle", json=too_many, headers=NORTH)
        long = client.post("/fhir/Bundle", json=too_long, headers=NORTH)
        assert log.records == []
    expressions = []
    for answer in (many, long):
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith("application/fhir+json")
        outcome = answer.json()
        assert outcome["resourceType"] == "OperationOutcome"
        expressions.append([issue["expression"] for issue in outcome["issue"]])
    assert expressions == [[["Bundle.entry[2].resource.identifier"]],
                           [["Bundle.entry[2].resource.identifier[2]"]]]
    assert f"at most {MAX_PATIENT_IDENTIFIERS}" in many.text
    assert "9" * 101 not in long.text
