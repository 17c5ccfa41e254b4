"""FHIR reads on a fake log: a referral system posts a bundle, follows its Task through the
closed-loop states as routing events arrive, reads the report; others' cases are 404; every
error is an OperationOutcome; every answer validates as R4 (fhir.resources R4B models)."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task

from schemas.cases import CaseContext, CaseErased, CaseTriaged
from schemas.envelope import Event
from schemas.referral import Referral
from schemas.reports import ReportAddendum, ReviewReport
from schemas.routing import (
    AssignmentAccepted,
    AssignmentCompleted,
    AssignmentOffered,
    CaseCompleted,
    ReportAmended,
)
from schemas.topics import CASE_TRIAGED
from services.common.follow import Record
from services.intake.domain.registry import ErasedRecord, record_bytes
from services.intake.settings import IntakeSettings
from services.intake.state import Intake
from services.triage.engine import triage_referral
from tests.intake.intake_fakes import NOW, FakeIntakeLog, bearer, running_intake

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fhir"
NORTH = bearer("ref-north-gp")
CITY = bearer("ref-city-hospital")
FHIR_JSON = {"Content-Type": "application/fhir+json"}
DUE = NOW + timedelta(days=3)


def post_bundle(client: TestClient) -> str:
    body = (FIXTURES / "fbss-recurrent-disc.message.json").read_bytes()
    response = client.post("/fhir/Bundle", content=body, headers=NORTH | FHIR_JSON)
    assert response.status_code == 202, response.text
    case_id = str(response.json()["case_id"])
    assert response.headers["location"] == f"http://testserver/fhir/Task/{case_id}"
    return case_id


def feed(client: TestClient, *events: Event) -> None:
    """Routing's events as the status follower would deliver them."""
    for event in events:
        client.app.state.intake.tasks.apply(event)  # type: ignore[attr-defined]


def task(client: TestClient, case_id: str, headers: dict[str, str] = NORTH) -> dict[str, Any]:
    response = client.get(f"/fhir/Task/{case_id}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/fhir+json"
    Task.model_validate(response.json())
    return dict(response.json())


REPORT = ReviewReport(conclusion="differs", opinion="Pseudarthrosis, not a recurrent disc.",
                      recommendations=["CT of the fusion"])


def step_events(case_id: str) -> tuple[Event, ...]:
    common = {"case_id": case_id, "step_id": "spine_surgery", "team": "spine_surgery"}
    return (
        AssignmentOffered(event_id="e1", occurred_at=NOW, specialist_id="surg-1",
                          urgency="soon", offer_expires_at=NOW + timedelta(hours=4),
                          attempt=1, deadline=DUE, **common),
        AssignmentAccepted(event_id="e2", occurred_at=NOW + timedelta(hours=1),
                           specialist_id="surg-1", urgency="soon", **common),
        AssignmentCompleted(event_id="e3", occurred_at=NOW + timedelta(days=1),
                            specialist_id="surg-1", report_ref="report-77", report=REPORT,
                            **common),
        CaseCompleted(event_id="e4", case_id=case_id, occurred_at=NOW + timedelta(days=1),
                      report_refs=["report-77"]),
    )


def test_a_referral_system_follows_its_task_to_completed_and_reads_the_report() -> None:
    with running_intake() as (client, _):
        case_id = post_bundle(client)
        first = task(client, case_id)
        assert first["status"] == "requested"
        assert first["focus"] == {"reference": f"ServiceRequest/{case_id}"}
        assert first["basedOn"] == [first["focus"]]
        offered, accepted, completed_step, completed = step_events(case_id)
        feed(client, offered)
        assert task(client, case_id)["status"] == "received"
        feed(client, accepted)
        now = task(client, case_id)
        assert now["status"] == "accepted"
        assert now["owner"]["identifier"]["value"] == "surg-1"
        assert now["restriction"]["period"]["end"].startswith(DUE.date().isoformat())
        feed(client, completed_step, completed, accepted)  # a late redelivery changes nothing
        done = task(client, case_id)
        assert done["status"] == "completed"
        [output] = done["output"]
        report_url = "/fhir/" + output["valueReference"]["reference"]
        report = client.get(report_url, headers=NORTH)
        assert report.status_code == 200
        document = DiagnosticReport.model_validate(report.json())
        assert document.performer[0].identifier.value == "surg-1"  # type: ignore[index]
        assert document.status == "final" and document.conclusion == REPORT.opinion
        assert document.conclusionCode[0].coding[0].code == "differs"  # type: ignore[index]
        text = base64.b64decode(report.json()["presentedForm"][0]["data"]).decode()
        assert "CT of the fusion" in text
        assert client.get(report_url, headers=CITY).status_code == 404
        feed(client, ReportAmended(
            event_id="e5", case_id=case_id, step_id="spine_surgery", team="spine_surgery",
            occurred_at=NOW + timedelta(days=2), specialist_id="surg-1", report_ref="report-77",
            addendum=ReportAddendum(version=2, text="CT booked.", specialist_id="surg-1",
                                    added_at=NOW + timedelta(days=2))))
        amended = client.get(report_url, headers=NORTH).json()
        assert amended["status"] == "appended"
        assert "CT booked." in base64.b64decode(amended["presentedForm"][0]["data"]).decode()


def test_the_service_request_reads_back_what_was_sent() -> None:
    with running_intake() as (client, _):
        case_id = post_bundle(client)
        response = client.get(f"/fhir/ServiceRequest/{case_id}", headers=NORTH)
    assert response.status_code == 200
    request = ServiceRequest.model_validate(response.json())
    assert request.status == "active" and request.id == case_id
    assert request.code.coding[0].code == "post_surgery"  # type: ignore[union-attr,index]


def test_search_by_based_on_identifier_and_status_is_a_searchset_of_own_tasks() -> None:
    with running_intake() as (client, _):
        case_id = post_bundle(client)
        searches = {
            f"based-on=ServiceRequest/{case_id}": 1,
            f"identifier={case_id}": 1,
            "status=requested": 1,
            "status=completed": 0,
            f"based-on=ServiceRequest/{case_id}&status=requested,received": 1,
        }
        for query, hits in searches.items():
            response = client.get(f"/fhir/Task?{query}", headers=NORTH)
            bundle = Bundle.model_validate(response.json())
            assert bundle.type == "searchset" and bundle.total == hits, query
            other = Bundle.model_validate(client.get(f"/fhir/Task?{query}", headers=CITY).json())
            assert other.total == 0, query


def test_someone_elses_task_is_the_same_404_as_a_missing_one_as_operation_outcome() -> None:
    with running_intake() as (client, _):
        case_id = post_bundle(client)
        theirs = client.get(f"/fhir/Task/{case_id}", headers=CITY)
        missing = client.get("/fhir/Task/no-such-case", headers=NORTH)
        bad_status = client.get("/fhir/Task?status=nonsense", headers=NORTH)
        unauthenticated = client.get(f"/fhir/Task/{case_id}")
    assert theirs.status_code == missing.status_code == 404
    for response in (theirs, missing, bad_status, unauthenticated):
        assert response.headers["content-type"] == "application/fhir+json"
        outcome = OperationOutcome.model_validate(response.json())
        assert outcome.issue[0].severity == "error"
    assert theirs.json()["issue"][0]["code"] == "not-found"
    assert bad_status.status_code == 400
    assert unauthenticated.status_code == 401 and "www-authenticate" in unauthenticated.headers


def test_invalid_bundle_errors_name_the_element_in_operation_outcome_expression() -> None:
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": {"resourceType": "Patient", "birthDate": "not-a-date"}}]}
    with running_intake() as (client, _):
        response = client.post("/fhir/Bundle", json=bundle, headers=NORTH)
    assert response.status_code == 422
    outcome = OperationOutcome.model_validate(response.json())
    assert outcome.issue[0].expression == ["Bundle.entry[0].resource.birthDate"]
    assert "not-a-date" not in response.text  # the input never echoes back


def test_metadata_is_a_valid_capability_statement_listing_the_task_searches() -> None:
    with running_intake() as (client, _):
        response = client.get("/fhir/metadata")
    assert response.status_code == 200
    statement = CapabilityStatement.model_validate(response.json())
    assert statement.fhirVersion == "4.0.1"
    [rest] = statement.rest  # type: ignore[misc]
    task_resource = next(r for r in rest.resource if r.type == "Task")  # type: ignore[union-attr]
    names = {p.name for p in task_resource.searchParam}  # type: ignore[union-attr]
    assert {"based-on", "identifier", "status"} <= names


SENTENCE = "Both legs painful since the weekend and new difficulty starting to pee."


def triaged(case_id: str, text: str, revision: int = 1) -> CaseTriaged:
    referral = Referral.model_validate({
        "referral_id": "r-1", "referral_type": "post_surgery", "region": "lumbar", "age": 50,
        "sex": "F", "surgeries": [{"procedure": "discectomy", "weeks_before_referral": 30}],
        "clinical_question": text,
    })
    return CaseTriaged(event_id=f"t-{revision}", case_id=case_id, occurred_at=NOW,
                       revision=revision, context=CaseContext(referrer_id="ref-north-gp",
                                                              region="lumbar"),
                       triage=triage_referral(referral))


def test_the_task_quotes_the_referrers_sentence_that_raised_an_emergency_to_confirm() -> None:
    with running_intake() as (client, _):
        case_id = post_bundle(client)
        feed(client, triaged(case_id, SENTENCE))
        current = task(client, case_id)
        assert current["priority"] == "stat"
        flags = [o for o in current["output"]
                 if o["type"]["coding"][0]["code"] == "red-flag-to-confirm"]
        assert {f["valueString"].split(" (")[1].split(")")[0] for f in flags} == {
            "RF1_CES_established", "RF2_CES_suspected_bilateral"}
        assert all(SENTENCE in f["valueString"] for f in flags)
        assert all(f["type"]["text"].startswith("emergency flag") for f in flags)
        feed(client, triaged(case_id, "Denies saddle numbness; bladder normal.", revision=2))
        assert "output" not in task(client, case_id)  # the newer letter raised nothing
        feed(client, triaged(case_id, SENTENCE, revision=1))  # late: changes nothing
        assert "output" not in task(client, case_id)
        feed(client, triaged(case_id, SENTENCE, revision=3),
             CaseErased(event_id="x", case_id=case_id, occurred_at=NOW,
                        referrer_id="ref-north-gp", requested_by="ops-1"))
        assert SENTENCE not in client.get(f"/fhir/Task/{case_id}", headers=NORTH).text



def as_record(event: Event, topic: str = CASE_TRIAGED) -> Record:
    """The event as the status follower reads it."""
    return Record(topic, 0, 0, event.case_id.encode(), event.to_bytes())


def test_status_events_of_a_case_the_registry_knows_as_erased_are_not_held() -> None:
    """The erased marker (registry) and the case's events (four other topics) arrive in no
    order: whichever comes first, the Task view ends up holding nothing of the case."""
    intake = Intake(log=FakeIntakeLog(), settings=IntakeSettings())
    marker = ErasedRecord(case_id="c-late", referrer_id="ref-north-gp", erased_at=NOW)
    intake.on_registry_record("erased/c-late", record_bytes(marker))
    intake.on_status_record(as_record(triaged("c-late", SENTENCE)))  # read after the marker
    assert intake.tasks.get("c-late") is None
    intake.on_status_record(as_record(triaged("c-early", SENTENCE)))  # read before it
    assert intake.tasks.get("c-early") is not None
    intake.on_registry_record("erased/c-early", record_bytes(
        marker.model_copy(update={"case_id": "c-early"})))
    assert intake.tasks.get("c-early") is None
    intake.on_status_record(as_record(triaged("c-early", SENTENCE, revision=2)))
    assert intake.tasks.get("c-early") is None
