"""A referral system on the real broker, through FHIR only: it posts a bundle, gets 202 with the
Task's Location, and follows the Task while specialists accept and complete on routing's API:
requested/received -> accepted -> completed, then reads the report and its ServiceRequest back.
Another referral system sees none of it; errors are OperationOutcome; metadata validates."""

from __future__ import annotations

import uuid
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task

from services.common.auth import mint_token
from tests.support.directory import put_specialists
from tests.support.polling import wait_until as _wait

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures/fhir/fbss-recurrent-disc.message.json"
RUN = uuid.uuid4().hex[:6]
ALWAYS = {"weekdays": [0, 1, 2, 3, 4, 5, 6], "start": "00:00:00", "end": "23:59:59"}
PEOPLE = {f"{RUN}-surgeon": "neurosurgeon", f"{RUN}-radiologist": "neuroradiologist"}


def auth(subject: str, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(subject=subject, role=role)}"}  # type: ignore[arg-type]


REFERRER = auth(f"ref-{RUN}", "referrer")
OTHER = auth(f"other-{RUN}", "referrer")


def _register_specialists(routing: str) -> None:
    put_specialists(routing, [
        {"specialist_id": sid, "name": f"Dr {sid}", "role": role,
         "licences": [{"jurisdiction": "GB-ENG", "expires_on": "2099-01-01"}],
         "working_hours": ALWAYS, "capacity": {"max_open_cases": 50, "max_new_per_day": 50}}
        for sid, role in PEOPLE.items()], auth("ops-e2e", "ops"))


def _task(location: str, headers: dict[str, str] = REFERRER) -> dict[str, Any]:
    r = httpx.get(location, headers=headers, timeout=10)
    if r.status_code == 503:  # the status view is still catching up: not an answer yet
        return {}
    assert r.status_code == 200, r.text
    Task.model_validate(r.json())
    return dict(r.json())


def _reports(task: dict[str, Any]) -> list[dict[str, Any]]:
    """The Task's outputs that are reports (not flags read from the referrer's text)."""
    return [o for o in task.get("output", [])
            if o["type"]["coding"][0]["code"] == "specialist-report"]


def _open_offer(routing: str, case_id: str) -> tuple[str, str] | None:
    for sid in PEOPLE:
        offers = httpx.get(f"{routing}/me/offers", headers=auth(sid, "specialist"),
                           timeout=10).json()
        for offer in offers:
            if offer["case_id"] == case_id:
                return sid, offer["step_id"]
    return None


def _after_step(location: str, routing: str, case_id: str,
                reports: int) -> tuple[dict[str, Any], tuple[str, str] | None] | None:
    """After a step's report: (completed Task, None), or (in-progress Task, the next offer).

    The report and the case's completion are two routing events that intake's view applies one
    at a time: a Task read between them shows every report and still "in-progress". Waiting for
    the report alone, then for an offer, waited 90 s for a step that was never coming (CI,
    2026-11-27). So it waits for one of the two ends, with this step's report on the Task.
    """
    task = _task(location)
    if len(_reports(task)) != reports:
        return None
    if task["status"] == "completed":
        return task, None
    offer = _open_offer(routing, case_id) if task["status"] == "in-progress" else None
    return (task, offer) if offer else None


def test_a_referral_system_follows_its_fhir_task_to_the_report(start_system: Any) -> None:
    system = start_system(("intake", "triage", "routing"))
    intake, routing = system["intake"].url, system["routing"].url
    _register_specialists(routing)

    metadata = httpx.get(f"{intake}/fhir/metadata", timeout=10)
    assert metadata.status_code == 200
    CapabilityStatement.model_validate(metadata.json())

    posted = httpx.post(f"{intake}/fhir/Bundle", content=FIXTURE.read_bytes(), timeout=30,
                        headers=REFERRER | {"Content-Type": "application/fhir+json"})
    assert posted.status_code == 202, posted.text
    case_id = posted.json()["case_id"]
    location = posted.headers["location"]
    assert location == f"{intake}/fhir/Task/{case_id}"
    first = _wait("task", lambda: _task(location))
    assert first["status"] in ("requested", "received")

    seen = [first["status"]]
    offer: tuple[str, str] | None = _wait("an offer", lambda: _open_offer(routing, case_id))
    completed_steps = 0
    while offer is not None:  # one step per team the plan needs: accept, check, complete
        sid, step_id = offer
        headers = auth(sid, "specialist")
        accepted = httpx.post(f"{routing}/offers/{case_id}/{step_id}/accept", headers=headers,
                              timeout=30)
        assert accepted.status_code == 200, accepted.text
        if completed_steps == 0:
            task = _wait("accepted", lambda: (t := _task(location)).get("status") == "accepted"
                         and t)
            seen.append(task["status"])
            assert task["owner"]["identifier"]["value"] == sid
            assert task["restriction"]["period"]["end"]
        done = httpx.post(
            f"{routing}/assignments/{case_id}/{step_id}/complete", headers=headers, timeout=30,
            json={"conclusion": "differs", "opinion": "Pseudarthrosis at L4-5.",
                  "recommendations": ["CT of the fusion"]})
        assert done.status_code == 200, done.text
        completed_steps += 1
        task, offer = _wait("the next team's offer or the completed Task",
                            partial(_after_step, location, routing, case_id, completed_steps))
        seen.append(task["status"])
    assert seen[-2:] in (["accepted", "completed"], ["in-progress", "completed"])

    outputs = _reports(task)
    assert len(outputs) == completed_steps
    report = httpx.get(f"{intake}/fhir/{outputs[-1]['valueReference']['reference']}",
                       headers=REFERRER, timeout=10)
    assert report.status_code == 200
    assert DiagnosticReport.model_validate(report.json()).status in ("final", "appended")

    request = httpx.get(f"{intake}/fhir/ServiceRequest/{case_id}", headers=REFERRER, timeout=10)
    assert ServiceRequest.model_validate(request.json()).status == "completed"

    found = httpx.get(f"{intake}/fhir/Task", params={"based-on": f"ServiceRequest/{case_id}",
                                                      "status": "completed"},
                      headers=REFERRER, timeout=10)
    assert Bundle.model_validate(found.json()).total == 1

    theirs = httpx.get(location, headers=OTHER, timeout=10)
    assert theirs.status_code == 404
    assert OperationOutcome.model_validate(theirs.json()).issue[0].code == "not-found"
    none = httpx.get(f"{intake}/fhir/Task", params={"based-on": f"ServiceRequest/{case_id}"},
                     headers=OTHER, timeout=10)
    assert Bundle.model_validate(none.json()).total == 0
