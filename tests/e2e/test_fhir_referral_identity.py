"""Referral identity on the real broker (intake alone): two senders reusing one ServiceRequest
fullUrl get two cases, the same sender reusing it is 409, a cancel naming the referral by an
identifier it was not sent with finds it, and the Task read through the Kafka-fed view says
cancelled. A restarted intake still knows every name (registry topic)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from services.common.auth import mint_token
from tests.intake.test_intake_fhir_identity import cancel_of, message

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

HEADERS = {"Authorization": f"Bearer {mint_token(subject='ref-identity-e2e', role='referrer')}"}
WALES_ID = {"system": "https://wrds.wales.nhs.uk/Optom-Referrals", "value": "1e792757-e2e"}


def post(intake: str, bundle: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{intake}/fhir/Bundle", json=bundle, headers=HEADERS, timeout=30)


def task_status(location: str) -> str | None:
    response = httpx.get(location, headers=HEADERS, timeout=10)
    return str(response.json()["status"]) if response.status_code == 200 else None


def test_referral_names_across_senders_and_a_cancel_by_identifier(start_system: Any) -> None:
    system = start_system(("intake",))
    intake = system["intake"].url
    wales = message(identifier=False, sender="https://optom-wales-bars.aws.com")
    ers = message(identifier=False, sender="https://fhir.nhs.uk/Id/ers-dos-service-id|AandG",
                  nrs_limb=9)
    first, second = post(intake, wales), post(intake, ers)
    assert first.status_code == second.status_code == 202, second.text
    assert first.json()["case_id"] != second.json()["case_id"]
    reused = post(intake, message(identifier=False, sender="https://optom-wales-bars.aws.com",
                                  nrs_limb=2))
    assert reused.status_code == 409
    assert reused.json()["resourceType"] == "OperationOutcome"

    system["intake"].stop()
    system["intake"].start().wait_healthy(60)  # names come back from the registry topic

    cancelled = post(intake, cancel_of(wales, identifier=WALES_ID))
    assert cancelled.status_code == 202, cancelled.text
    assert cancelled.json()["case_id"] == first.json()["case_id"]
    location = cancelled.headers["location"]
    deadline = time.monotonic() + 30
    while task_status(location) != "cancelled" and time.monotonic() < deadline:
        time.sleep(0.3)
    assert task_status(location) == "cancelled"
    found = httpx.get(f"{intake}/fhir/Task", headers=HEADERS, timeout=10,
                      params={"identifier": f"{WALES_ID['system']}|{WALES_ID['value']}"}).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [first.json()["case_id"]]
    assert task_status(first.headers["location"].replace(first.json()["case_id"],
                                                         second.json()["case_id"])) == "requested"
