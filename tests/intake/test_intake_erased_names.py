"""Once a case is erased, every way of addressing it answers 410 Gone: the JSON cancel and update
by case id did, but a FHIR message naming the case by a name other than the one its id derives
from (the NHS Wales cancel names by identifier a referral sent without one) found nothing, since
erasure tombstones the case's names, and answered 404 as if it never existed; an update message
so named would have been decided as a new referral. Erasure now keeps each name's key (a hash,
no patient data) as an `erased-name/` record pointing at the erased case."""

from __future__ import annotations

import copy
from typing import Any

from fastapi.testclient import TestClient
from fhir.resources.R4B.operationoutcome import OperationOutcome

from schemas.cases import CaseErased
from services.intake.domain.identity import MAX_NAMES_PER_CASE
from tests.intake.intake_fakes import FakeIntakeLog, bearer, running_intake
from tests.intake.test_intake_fhir_identity import cancel_of, message

NORTH = bearer("ref-north-gp")
OPS = bearer("ops-1", role="ops")
WALES_ID = {"system": "https://wrds.wales.nhs.uk/Optom-Referrals",
            "value": "1e792757-8998-480e-bd9a-17e77d89e53d"}
PATIENT_DATA = ("Fiona", "Testperson", "9990001112", "PSN-7Q2K", WALES_ID["value"])


def post(client: TestClient, bundle: dict[str, Any], headers: dict[str, str] = NORTH) -> Any:
    return client.post("/fhir/Bundle", json=bundle, headers=headers)


def update_of(bundle: dict[str, Any], *, identifier: dict[str, str]) -> dict[str, Any]:
    """An update message of the same ServiceRequest, named by `identifier` first."""
    update = copy.deepcopy(bundle)
    update["entry"][0]["resource"]["reason"]["coding"][0]["code"] = "update"
    update["entry"][1]["resource"]["identifier"] = [identifier]
    update["entry"][15]["resource"]["valueInteger"] = 2
    return update


def assert_gone(answer: Any) -> None:
    assert answer.status_code == 410, answer.text
    assert answer.headers["content-type"] == "application/fhir+json"
    outcome = OperationOutcome.model_validate(answer.json())
    assert [issue.code for issue in outcome.issue] == ["deleted"]
    assert not any(secret in answer.text for secret in PATIENT_DATA)


def test_a_fhir_cancel_or_update_by_another_name_after_erasure_is_410() -> None:
    wales = message(identifier=False, sender="https://optom-wales-bars.aws.com")
    with running_intake() as (client, log):
        case_id = post(client, wales).json()["case_id"]
        assert client.delete(f"/referrals/{case_id}/patient-data", headers=OPS).status_code == 202
        written = len(log.records)
        by_identifier = post(client, cancel_of(wales, identifier=WALES_ID))
        by_its_own_names = post(client, cancel_of(wales, identifier=None))
        update = post(client, update_of(wales, identifier=WALES_ID))
        json_cancel = client.delete(f"/referrals/{case_id}", headers=NORTH)
        assert len(log.records) == written  # nothing written for any of them
    for answer in (by_identifier, by_its_own_names, update):
        assert_gone(answer)
    assert json_cancel.status_code == 410
    assert json_cancel.headers["content-type"] == "application/problem+json"
    assert isinstance(log.events()[-1], CaseErased)


def test_the_names_of_an_erased_case_answer_410_on_a_restarted_worker() -> None:
    """They are registry records: a worker that reads the topic again knows them."""
    log = FakeIntakeLog()
    wales = message(identifier=False, sender="https://optom-wales-bars.aws.com")
    with running_intake(log) as (client, _):
        case_id = post(client, wales).json()["case_id"]
        client.delete(f"/referrals/{case_id}/patient-data", headers=OPS)
    with running_intake(log) as (client, _):
        assert_gone(post(client, cancel_of(wales, identifier=WALES_ID)))


def test_another_referrer_naming_it_alike_is_not_told_of_the_erasure() -> None:
    wales = message(identifier=False, sender="https://optom-wales-bars.aws.com")
    with running_intake() as (client, _):
        case_id = post(client, wales).json()["case_id"]
        client.delete(f"/referrals/{case_id}/patient-data", headers=OPS)
        other = post(client, cancel_of(wales, identifier=WALES_ID),
                     headers=bearer("ref-city-hospital"))
    assert other.status_code == 404, other.text


def test_an_erasure_keeps_a_hash_of_each_name_and_no_name_itself() -> None:
    wales = message(identifier=True, sender="https://optom-wales-bars.aws.com")
    with running_intake() as (client, log):
        case_id = post(client, wales).json()["case_id"]
        intake = client.app.state.intake  # type: ignore[attr-defined]
        names = intake.registry.identity_keys_of(case_id)
        assert 0 < len(names) <= MAX_NAMES_PER_CASE
        client.delete(f"/referrals/{case_id}/patient-data", headers=OPS)
    kept = {r.key: r.value for r in log.records if r.key.startswith("erased-name/")}
    assert sorted(kept) == sorted(k.replace("identity/", "erased-name/") for k in names)
    for value in kept.values():
        assert value is not None and b"NGP-2026-0042" not in value
        assert b"north-gp.example" not in value
