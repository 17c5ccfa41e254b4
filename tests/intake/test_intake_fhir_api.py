"""POST /fhir/Bundle end to end on a fake log: FHIR and its JSON twin land on the same case,
unmapped content is reported and carried, cancellations cancel, refusals say why."""

from __future__ import annotations

import json
from pathlib import Path

from schemas.cases import ReferralCancelled, ReferralReceived
from tests.intake.intake_fakes import bearer, running_intake

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fhir"
NORTH = bearer("ref-north-gp")
FHIR_JSON = {"Content-Type": "application/fhir+json"}


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def test_fhir_bundle_is_accepted_and_unmapped_content_is_reported_and_carried() -> None:
    with running_intake() as (client, log):
        response = client.post("/fhir/Bundle", content=fixture_bytes("fbss-recurrent-disc.message"),
                               headers=NORTH | FHIR_JSON)
    assert response.status_code == 202
    body = response.json()
    assert body["received_via"] == "fhir" and len(body["unmapped"]) == 2
    [event] = log.events()
    assert isinstance(event, ReferralReceived)
    assert event.received_via == "fhir" and event.unmapped == body["unmapped"]
    assert event.referral.surgeries[0].institution_id == "inst-st-elsewhere"


def test_json_twin_after_the_fhir_bundle_replays_the_same_case() -> None:
    twin = fixture_bytes("fbss-recurrent-disc.referral")
    with running_intake() as (client, log):
        fhir = client.post("/fhir/Bundle", content=fixture_bytes("fbss-recurrent-disc.message"),
                           headers=NORTH | {"Content-Type": "application/json"})
        json_twin = client.post("/referrals", content=twin,
                                headers=NORTH | {"Content-Type": "application/json"})
    assert json_twin.status_code == 200 and json_twin.json()["case_id"] == fhir.json()["case_id"]
    assert len(log.events()) == 1


def test_revoked_service_request_cancels_the_case() -> None:
    with running_intake() as (client, log):
        created = client.post("/fhir/Bundle", content=fixture_bytes("fbss-recurrent-disc.message"),
                              headers=NORTH | FHIR_JSON).json()
        cancelled = client.post(
            "/fhir/Bundle", content=fixture_bytes("fbss-recurrent-disc.cancel.message"),
            headers=NORTH | FHIR_JSON,
        )
    assert cancelled.status_code == 202
    assert cancelled.json()["case_id"] == created["case_id"]
    assert cancelled.json()["status"] == "cancelled"
    assert isinstance(log.events()[-1], ReferralCancelled)


def test_cancelling_an_unknown_referral_is_404() -> None:
    with running_intake() as (client, log):
        response = client.post(
            "/fhir/Bundle", content=fixture_bytes("fbss-recurrent-disc.cancel.message"),
            headers=NORTH | FHIR_JSON,
        )
    assert response.status_code == 404 and log.records == []


def test_update_message_creates_a_new_revision() -> None:
    bundle = json.loads(fixture_bytes("fbss-recurrent-disc.message"))
    with running_intake() as (client, log):
        client.post("/fhir/Bundle", json=bundle, headers=NORTH)
        bundle["entry"][0]["resource"]["reason"]["coding"][0]["code"] = "update"
        bundle["entry"][15]["resource"]["valueInteger"] = 9  # symptoms.nrs_limb
        response = client.post("/fhir/Bundle", json=bundle, headers=NORTH)
    assert response.status_code == 202 and response.json()["revision"] == 2
    event = log.events()[-1]
    assert isinstance(event, ReferralReceived) and event.referral.symptoms.nrs_limb == 9


def diagnostics(response) -> str:  # type: ignore[no-untyped-def]
    """The OperationOutcome's issue texts, joined."""
    return " ".join(i.get("diagnostics", "") + " " + i["details"]["text"]
                    for i in response.json()["issue"])


def test_stu3_and_non_bundles_are_refused_with_an_operation_outcome_saying_why() -> None:
    service_request = json.loads(fixture_bytes("facet-no-imaging.collection"))["entry"][0]
    with running_intake() as (client, log):
        stu3 = client.post("/fhir/Bundle", content=fixture_bytes("stu3-referralrequest"),
                           headers=NORTH | FHIR_JSON)
        bare = client.post("/fhir/Bundle", json=service_request["resource"], headers=NORTH)
    assert stu3.status_code == 422 and "STU3" in diagnostics(stu3)
    assert bare.status_code == 422 and "expected a Bundle" in diagnostics(bare)
    assert stu3.headers["content-type"] == "application/fhir+json"
    assert stu3.json()["resourceType"] == "OperationOutcome"
    assert log.records == []


def test_other_media_types_are_415() -> None:
    with running_intake() as (client, _):
        response = client.post("/fhir/Bundle", content=b"<Bundle/>",
                               headers=NORTH | {"Content-Type": "application/fhir+xml"})
    assert response.status_code == 415


def test_every_form_of_an_r4_birth_date_is_answered_never_a_500() -> None:
    # Review 18: "1975" and "1975-06" (valid R4) were a plain-text 500.
    ages = {}
    for born in ("1975", "1975-06", "1975-06-15"):
        bundle = json.loads(fixture_bytes("fbss-recurrent-disc.message"))
        bundle["entry"][2]["resource"]["birthDate"] = born
        with running_intake() as (client, log):
            response = client.post("/fhir/Bundle", content=json.dumps(bundle),
                                   headers=NORTH | FHIR_JSON)
        assert response.status_code == 202, (born, response.text)
        [event] = log.events()
        assert isinstance(event, ReferralReceived)
        ages[born] = event.referral.age
    assert ages == {"1975": 51, "1975-06": 50, "1975-06-15": 50}  # authored 2026-03-02
    bundle["entry"][2]["resource"]["birthDate"] = "0001"  # 2,025 years old: past the contract
    with running_intake() as (client, log):
        refused = client.post("/fhir/Bundle", content=json.dumps(bundle),
                              headers=NORTH | FHIR_JSON)
    assert refused.status_code == 422 and log.records == []
    assert refused.headers["content-type"] == "application/fhir+json"
    [issue] = refused.json()["issue"]
    assert issue["expression"] == ["Bundle.entry[2].resource.birthDate"]
