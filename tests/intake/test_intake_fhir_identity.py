"""Referral identity over FHIR: the ServiceRequest identifier names the referral; without one the
Bundle identifier does; a bare fullUrl only within one sender (two BaRS senders reusing the same
urn:uuid do not collide); a cancel that names the referral differently still finds it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from schemas.cases import ReferralCancelled
from services.intake.domain.identity import MAX_NAMES_PER_CASE
from services.intake.fhir.identity import MAX_IDENTIFIERS
from tests.intake.intake_fakes import bearer, running_intake

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fhir"
NORTH = bearer("ref-north-gp")
SHARED_FULL_URL = "urn:uuid:236bb75d-90ef-461f-b71e-fde7f899802c"  # reused by the BaRS examples


def message(*, identifier: bool = True, sender: str = "https://north-gp.example/fhir",
            nrs_limb: int | None = None) -> dict[str, Any]:
    """The fixture referral message, optionally without its ServiceRequest identifier and with
    the ServiceRequest at the shared BaRS fullUrl."""
    bundle = json.loads((FIXTURES / "fbss-recurrent-disc.message.json").read_text())
    header, request = bundle["entry"][0], bundle["entry"][1]
    header["resource"]["source"]["endpoint"] = sender
    old_url, request["fullUrl"] = request["fullUrl"], SHARED_FULL_URL
    header["resource"]["focus"] = [{"reference": SHARED_FULL_URL}]
    text = json.dumps(bundle).replace(old_url, SHARED_FULL_URL)
    bundle = json.loads(text)
    if not identifier:
        del bundle["entry"][1]["resource"]["identifier"]
    if nrs_limb is not None:
        bundle["entry"][15]["resource"]["valueInteger"] = nrs_limb
    return dict(bundle)


def cancel_of(bundle: dict[str, Any], *, identifier: dict[str, str] | None) -> dict[str, Any]:
    """A revoke of the same ServiceRequest (same fullUrl and sender), named as given."""
    cancel = copy.deepcopy(bundle)
    cancel["entry"][0]["resource"]["reason"]["coding"][0]["code"] = "update"
    request = cancel["entry"][1]["resource"]
    request["status"] = "revoked"
    if identifier is not None:
        request["identifier"] = [identifier]
    return cancel


def post(client: TestClient, bundle: dict[str, Any]) -> Any:
    return client.post("/fhir/Bundle", json=bundle, headers=NORTH)


def test_two_senders_reusing_a_service_request_full_url_get_two_cases() -> None:
    with running_intake() as (client, _log):
        first = post(client, message(identifier=False, sender="https://optom-wales.example"))
        second = post(client, message(identifier=False, sender="https://ers.example|AandG",
                                      nrs_limb=9))
        same_sender_again = post(client, message(identifier=False,
                                                 sender="https://optom-wales.example", nrs_limb=3))
    assert first.status_code == second.status_code == 202, second.text
    assert first.json()["case_id"] != second.json()["case_id"]
    assert same_sender_again.status_code == 409  # one sender, one fullUrl: one referral
    assert same_sender_again.headers["content-type"] == "application/fhir+json"


def test_a_cancel_naming_the_referral_by_identifier_finds_one_sent_without_it() -> None:
    """The NHS Wales pair: the referral has no identifier, its cancel names it by one."""
    wales = message(identifier=False, sender="https://optom-wales-bars.aws.com")
    cancel = cancel_of(wales, identifier={
        "system": "https://wrds.wales.nhs.uk/Optom-Referrals",
        "value": "1e792757-8998-480e-bd9a-17e77d89e53d"})
    with running_intake() as (client, log):
        created = post(client, wales).json()
        cancelled = post(client, cancel)
        again = post(client, cancel)
        request = client.get(f"/fhir/ServiceRequest/{created['case_id']}", headers=NORTH).json()
    assert cancelled.status_code == 202 and cancelled.json()["case_id"] == created["case_id"]
    assert cancelled.json()["status"] == "cancelled" and again.status_code == 200
    assert isinstance(log.events()[-1], ReferralCancelled)
    assert request["status"] == "revoked"
    assert {"system": "https://wrds.wales.nhs.uk/Optom-Referrals",
            "value": "1e792757-8998-480e-bd9a-17e77d89e53d"} in request["identifier"]


def test_the_identifier_finds_the_referral_from_another_message_and_sender_url() -> None:
    original = message(identifier=True)
    cancel = cancel_of(original, identifier=None)
    cancel["entry"][1]["fullUrl"] = "urn:uuid:99999999-0000-4000-8000-000000000009"
    cancel["entry"][0]["resource"]["focus"] = [{"reference": cancel["entry"][1]["fullUrl"]}]
    with running_intake() as (client, _):
        created = post(client, original).json()
        cancelled = post(client, cancel)
        by_identifier = client.get(
            "/fhir/Task", params={"identifier": "https://north-gp.example/referrals|NGP-2026-0042"},
            headers=NORTH).json()
    assert cancelled.status_code == 202 and cancelled.json()["case_id"] == created["case_id"]
    assert by_identifier["total"] == 1
    assert by_identifier["entry"][0]["resource"]["status"] == "cancelled"


def test_without_a_service_request_identifier_the_bundle_identifier_names_it() -> None:
    bundle = message(identifier=False)
    bundle["identifier"] = {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:1d0c0b9e-doc"}
    elsewhere = copy.deepcopy(bundle)
    elsewhere["entry"][0]["resource"]["source"]["endpoint"] = "https://other.example"
    with running_intake() as (client, log):
        first = post(client, bundle)
        resent_via_another_endpoint = post(client, elsewhere)
    assert first.status_code == 202
    assert resent_via_another_endpoint.status_code == 200  # same referral, replayed
    assert resent_via_another_endpoint.json()["case_id"] == first.json()["case_id"]
    assert len(log.events()) == 1


def test_erasure_forgets_the_names_too() -> None:
    with running_intake() as (client, _log):
        created = post(client, message(identifier=True)).json()
        client.delete(f"/referrals/{created['case_id']}/patient-data",
                      headers=bearer("ops-1", role="ops"))
        intake = client.app.state.intake  # type: ignore[attr-defined]
        assert intake.registry.identity_keys_of(created["case_id"]) == []
        assert post(client, message(identifier=True)).status_code == 410


def test_a_message_without_a_source_is_rejected_naming_the_element() -> None:
    """MessageHeader.source (and its endpoint) is 1..1 in R4, but fhir.resources lets a JSON
    null through; a mangled message once crashed the naming (AttributeError, found by the
    property test), then was accepted with its names scoped to the client. Now a 422
    OperationOutcome names the element, and nothing is published."""
    for mangle, element in ((lambda h: h.update(source=None), "source"),
                            (lambda h: h["source"].pop("endpoint"), "source.endpoint"),
                            (lambda h: h["source"].update(endpoint=None), "source.endpoint")):
        bundle = message(identifier=False)
        mangle(bundle["entry"][0]["resource"])
        with running_intake() as (client, log):
            answer = post(client, bundle)
        assert answer.status_code == 422, answer.text
        outcome = answer.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert [i["expression"] for i in outcome["issue"]] == [
            [f"Bundle.entry[0].resource.{element}"]], outcome
        assert log.records == []


def _identifiers(prefix: str, count: int) -> list[dict[str, str]]:
    return [{"system": "https://north-gp.example/ids", "value": f"{prefix}-{i}"}
            for i in range(count)]


def test_more_identifiers_than_the_cap_is_422_naming_the_element() -> None:
    # 20,000 identifiers were accepted: each one a registry record kept forever on every worker.
    over, at_cap = message(), message()
    over["entry"][1]["resource"]["identifier"] += _identifiers("x", MAX_IDENTIFIERS)
    at_cap["entry"][1]["resource"]["identifier"] += _identifiers("x", MAX_IDENTIFIERS - 1)
    with running_intake() as (client, log):
        refused = post(client, over)
        assert log.records == []
        accepted = post(client, at_cap)
    assert refused.status_code == 422, refused.text
    outcome = refused.json()
    assert outcome["resourceType"] == "OperationOutcome"
    [issue] = outcome["issue"]
    assert issue["expression"] == ["Bundle.entry[1].resource.identifier"]
    assert "ServiceRequest.identifier" in issue["details"]["text"]
    assert accepted.status_code == 202, accepted.text


def test_a_case_collects_at_most_the_capped_names_across_updates() -> None:
    # Each update may bring new identifiers and always a new message id: without a per-case cap
    # a sender could grow one case's names (registry records, Task identifiers) without end.
    original = message()
    with running_intake() as (client, _log):
        case_id = post(client, original).json()["case_id"]
        for n in range(6):
            update = copy.deepcopy(original)
            update["entry"][0]["resource"]["id"] = f"header-update-{n}"
            update["entry"][0]["resource"]["reason"]["coding"][0]["code"] = "update"
            update["identifier"] = {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:u-{n}"}
            update["entry"][1]["resource"]["identifier"] += _identifiers(f"u{n}", 9)
            update["entry"][15]["resource"]["valueInteger"] = n
            answer = post(client, update)
            assert answer.status_code in (200, 202), answer.text
            assert answer.json()["case_id"] == case_id
        intake = client.app.state.intake  # type: ignore[attr-defined]
        names = intake.registry.identity_keys_of(case_id)
        task = client.get(f"/fhir/Task/{case_id}", headers=NORTH).json()
        found = client.get(
            "/fhir/Task", params={"identifier": "https://north-gp.example/referrals|NGP-2026-0042"},
            headers=NORTH).json()
    assert len(names) == MAX_NAMES_PER_CASE
    assert len(task["identifier"]) <= MAX_NAMES_PER_CASE
    assert found["total"] == 1  # the first names stay: the case is still found by them
