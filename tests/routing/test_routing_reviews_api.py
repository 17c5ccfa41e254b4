"""Reviewers over HTTP (processor in-process, dict tables): the case view before and after
acceptance, completing with a report, refusals (422 / 409), addenda, who may read a report, and
asking for another team."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from schemas.cases import CaseErased, ReferralReceived
from schemas.referral import Referral
from schemas.routing import (
    AssignmentCompleted,
    AssignmentOffered,
    PlanExtended,
    ReportAmended,
)
from services.common.auth import mint_token
from services.common.kafka_wait import KafkaAckTimeout
from services.routing.api import create_api
from services.routing.processor import RoutingProcessor
from tests.routing.fakes import Clock, InProcessGateway, RecordingPublisher, make_processor
from tests.unit.routing.builders import context, specialist, triaged

NAME, NHS = "Planted Patientname", "943 476 5919"
REPORT = {"conclusion": "differs", "opinion": "Facet-mediated pain; surgery not indicated.",
          "recommendations": ["Medial branch radiofrequency ablation"],
          "attachments": [{"reference": "pacs://study/1.2.3", "title": "Annotated MRI"}]}


def auth(role: str, subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(subject=subject, role=role)}"}  # type: ignore[arg-type]


OPS = auth("ops", "ops-1")
SURGEON, OTHER = auth("specialist", "a"), auth("specialist", "b")


def received(case_id: str = "case-1") -> ReferralReceived:
    referral = Referral.model_validate({
        "referral_id": "r-1", "referral_type": "post_surgery", "region": "lumbar", "age": 58,
        "sex": "F", "clinical_question": "Is revision surgery indicated?",
        "patient": {"pseudonym": "p-77", "name": NAME, "birth_date": "1968-02-03",
                    "identifiers": [{"system": "https://fhir.nhs.uk/Id/nhs-number",
                                     "value": NHS}]},
        "imaging": [{"modality": "mri", "weeks_ago": 3, "study_uid": "1.2.3",
                     "report_text": "Possible recurrent disc at L4-5."}],
    })
    return ReferralReceived(event_id=f"recv-{case_id}", case_id=case_id,
                            occurred_at=datetime.now(UTC), referrer_id="ref-1",
                            referral=referral, missing_records=["operative_note"])


@pytest.fixture
async def rig() -> AsyncIterator[tuple[httpx.AsyncClient, RoutingProcessor, RecordingPublisher]]:
    processor, publisher, _ = make_processor(Clock(datetime.now(UTC)))
    processor.directory.put(specialist("a"))
    processor.directory.put(specialist("b"))
    processor.directory.put(specialist("rad", role="neuroradiologist"))
    transport = httpx.ASGITransport(app=create_api(InProcessGateway(processor)))
    async with httpx.AsyncClient(transport=transport, base_url="http://routing") as client:
        yield client, processor, publisher


async def _open_case(processor: RoutingProcessor) -> None:
    await processor.on_case_input(received())
    ctx = context(missing_records=["operative_note"], patient_pseudonym="p-77")
    await processor.on_case_input(triaged(urgency="urgent", ctx=ctx))


async def _accepted(client: httpx.AsyncClient, processor: RoutingProcessor) -> dict[str, str]:
    """Open the case and accept its surgery step as whoever was offered it."""
    await _open_case(processor)
    holder = processor.case_state("case-1").steps["spine_surgery"].offer.specialist_id
    me = auth("specialist", holder)
    assert (await client.post("/offers/case-1/spine_surgery/accept", headers=me)).is_success
    return me


async def test_case_view_is_pseudonymous_until_accepted(rig: Any) -> None:
    client, processor, publisher = rig
    await _open_case(processor)
    holder = processor.case_state("case-1").steps["spine_surgery"].offer.specialist_id
    me = auth("specialist", holder)
    offer = (await client.get("/me/offers", headers=me)).json()[0]
    assert offer["missing_records"] == ["operative_note"]
    before = await client.get(offer["case_view"], headers=me)
    assert before.status_code == 200, before.text
    view = before.json()
    assert view["patient"]["pseudonym"] == "p-77" and not view["patient"]["identified"]
    assert NAME not in before.text and NHS not in before.text
    assert view["clinical_question"] == "Is revision surgery indicated?"
    assert view["imaging"][0]["study_uid"] == "1.2.3"
    assert "Possible recurrent disc" in view["imaging"][0]["report_text"]
    assert view["missing_records"] == ["operative_note"]
    mine = next(s for s in view["steps"] if s["yours"] == "offer")
    assert mine["deadline"] and mine["question"].startswith("Is (revision) surgery")
    # Nobody else may read it: not even its existence.
    stranger = "b" if holder == "a" else "a"
    refused = await client.get("/cases/case-1/review", headers=auth("specialist", stranger))
    assert refused.status_code == 404
    assert (await client.post("/offers/case-1/spine_surgery/accept", headers=me)).status_code == 200
    after = (await client.get("/cases/case-1/review", headers=me)).json()
    assert after["patient"]["identified"] and after["patient"]["name"] == NAME
    assert after["patient"]["identifiers"][0]["value"] == NHS
    offered = next(e for e in publisher.events if isinstance(e, AssignmentOffered))
    assert offered.summary is not None and offered.summary.missing_records == ["operative_note"]
    assert offered.summary.case_view.endswith("/cases/case-1/review")
    assert NAME not in offered.summary.model_dump_json()


async def test_complete_requires_a_report_once_then_addenda(rig: Any) -> None:
    client, processor, publisher = rig
    me = await _accepted(client, processor)
    empty = await client.post("/assignments/case-1/spine_surgery/complete", headers=me, json={})
    assert empty.status_code == 422
    assert {e["path"] for e in empty.json()["errors"]} == {"conclusion", "opinion"}
    bad = await client.post("/assignments/case-1/spine_surgery/complete", headers=me,
                            json={**REPORT, "conclusion": "maybe", "opinion": "x" * 10_001})
    assert {e["path"] for e in bad.json()["errors"]} == {"conclusion", "opinion"}
    assert processor.case_state("case-1").steps["spine_surgery"].status == "assigned"
    done = await client.post("/assignments/case-1/spine_surgery/complete", headers=me,
                             json=REPORT)
    assert done.status_code == 200, done.text
    again = await client.post("/assignments/case-1/spine_surgery/complete", headers=me,
                              json={**REPORT, "opinion": "A different opinion"})
    assert again.status_code == 409 and "addendum" in again.json()["detail"]
    completed = [e for e in publisher.events if isinstance(e, AssignmentCompleted)]
    assert len(completed) == 1 and completed[0].report is not None
    assert completed[0].report.conclusion == "differs"
    added = await client.post("/assignments/case-1/spine_surgery/addenda", headers=me,
                              json={"text": "Operative note received: unchanged."})
    assert added.status_code == 200 and added.json()["detail"] == "report version 2"

    ref = completed[0].report_ref
    assert ref == "/cases/case-1/reports/spine_surgery"
    for reader in (auth("referrer", "ref-1"), OPS, me):
        got = await client.get(ref, headers=reader)
        assert got.status_code == 200, got.text
        body = got.json()
        assert body["report"]["opinion"] == REPORT["opinion"] and body["version"] == 2
        assert body["addenda"][0]["text"].startswith("Operative note")
    for outsider in (auth("referrer", "ref-2"), auth("specialist", "rad")):
        assert (await client.get(ref, headers=outsider)).status_code == 404
    listed = (await client.get("/cases/case-1/reports", headers=auth("referrer", "ref-1"))).json()
    assert [r["step_id"] for r in listed] == ["spine_surgery"]


async def test_a_referral_system_reads_the_reports_of_its_own_cases_only(rig: Any) -> None:
    # status_report_ready names this report_ref to the referrer's system, which holds an API
    # key (role `system`, subject = its referrer id) rather than a person's token.
    client, processor, _ = rig
    me = await _accepted(client, processor)
    done = await client.post("/assignments/case-1/spine_surgery/complete", headers=me,
                             json=REPORT)
    assert done.status_code == 200, done.text
    ref, own, other = "/cases/case-1/reports/spine_surgery", auth("system", "ref-1"), auth(
        "system", "ref-2")
    got = await client.get(ref, headers=own)
    assert got.status_code == 200, got.text
    assert got.json()["report"]["opinion"] == REPORT["opinion"]
    listed = await client.get("/cases/case-1/reports", headers=own)
    assert [r["step_id"] for r in listed.json()] == ["spine_surgery"]
    assert (await client.get(ref, headers=other)).status_code == 404
    assert (await client.get("/cases/case-1/reports", headers=other)).status_code == 404
    # The reviewers' case view stays theirs (and ops').
    assert (await client.get("/cases/case-1/review", headers=own)).status_code == 403


async def test_a_retried_addendum_under_the_same_idempotency_key_is_filed_once(rig: Any) -> None:
    # Each request got a fresh command id: a client retrying after a timeout filed a second
    # addendum. Under one Idempotency-Key the retry is the same command, answered, not redone.
    client, processor, publisher = rig
    me = await _accepted(client, processor)
    url = "/assignments/case-1/spine_surgery"
    assert (await client.post(f"{url}/complete", headers=me, json=REPORT)).status_code == 200
    note = {"text": "Operative note received: unchanged."}
    first = await client.post(f"{url}/addenda", headers=me | {"Idempotency-Key": "k-1"}, json=note)
    retry = await client.post(f"{url}/addenda", headers=me | {"Idempotency-Key": "k-1"}, json=note)
    other = await client.post(f"{url}/addenda", headers=me | {"Idempotency-Key": "k-2"}, json=note)
    assert first.status_code == retry.status_code == 200, retry.text
    assert retry.json() == first.json() and first.json()["detail"] == "report version 2"
    assert other.json()["detail"] == "report version 3"  # a new key is a new addendum
    assert len([e for e in publisher.events if isinstance(e, ReportAmended)]) == 2
    report = (await client.get("/cases/case-1/reports/spine_surgery", headers=me)).json()
    assert report["version"] == 3 and len(report["addenda"]) == 2
    long_key = await client.post(f"{url}/addenda", headers=me | {"Idempotency-Key": "k" * 201},
                                 json=note)
    assert long_key.status_code == 422
    assert long_key.json()["errors"][0]["path"] == "idempotency-key", long_key.text


async def test_a_reused_idempotency_key_with_another_body_is_409_and_files_nothing(
        rig: Any) -> None:
    # The key alone derives the command id: a second body under it was answered with the first
    # decision and silently dropped. Now the body's digest must match too, as in intake.
    client, processor, publisher = rig
    me = await _accepted(client, processor)
    url, key = "/assignments/case-1/spine_surgery", me | {"Idempotency-Key": "k-1"}

    async def reused(path: str, body: dict[str, Any]) -> None:
        got = await client.post(f"{url}/{path}", headers=me | {"Idempotency-Key": path},
                                json=body)
        assert got.status_code == 409, got.text
        assert got.headers["content-type"].startswith("application/problem+json")
        problem = got.json()
        assert problem["type"].endswith("/idempotency-key-reused")
        assert problem["title"] == "Idempotency key reused" and "new key" in problem["detail"]

    body = {"team": "spine_radiology", "reason": "Second read of the contrast MRI"}
    teams = await client.post(f"{url}/teams", headers=me | {"Idempotency-Key": "teams"},
                              json=body)
    assert teams.status_code == 200, teams.text
    await reused("teams", {**body, "reason": "Something else"})
    done = await client.post(f"{url}/complete", headers=me | {"Idempotency-Key": "complete"},
                             json=REPORT)
    assert done.status_code == 200, done.text
    await reused("complete", {**REPORT, "opinion": "A different opinion"})
    note = {"text": "Operative note received: unchanged."}
    first = await client.post(f"{url}/addenda", headers=key, json=note)
    assert first.status_code == 200 and first.json()["detail"] == "report version 2"
    other = await client.post(f"{url}/addenda", headers=key, json={"text": "Worse on review."})
    assert other.status_code == 409 and other.json()["type"].endswith("/idempotency-key-reused")
    again = await client.post(f"{url}/addenda", headers=key, json=note)
    assert again.status_code == 200 and again.json() == first.json()  # the first body replays

    assert len([e for e in publisher.events if isinstance(e, PlanExtended)]) == 1
    assert len([e for e in publisher.events if isinstance(e, AssignmentCompleted)]) == 1
    assert len([e for e in publisher.events if isinstance(e, ReportAmended)]) == 1
    report = (await client.get("/cases/case-1/reports/spine_surgery", headers=me)).json()
    assert report["report"]["opinion"] == REPORT["opinion"] and report["version"] == 2
    assert [a["text"] for a in report["addenda"]] == [note["text"]]
    assert processor.case_state("case-1").steps["spine_radiology"].request_reason == (
        body["reason"])


async def test_later_steps_read_the_report_they_depend_on(rig: Any) -> None:
    client, processor, _ = rig
    await processor.on_case_input(received())
    await processor.on_case_input(triaged(teams=["spine_radiology", "spine_surgery"]))
    rad = auth("specialist", "rad")
    await client.post("/offers/case-1/spine_radiology/accept", headers=rad)
    await client.post("/assignments/case-1/spine_radiology/complete", headers=rad,
                      json={**REPORT, "conclusion": "agrees"})
    surgery = processor.case_state("case-1").steps["spine_surgery"]
    surgeon = auth("specialist", surgery.offer.specialist_id)  # type: ignore[union-attr]
    offer = (await client.get("/me/offers", headers=surgeon)).json()[0]
    assert offer["attachments"] == ["/cases/case-1/reports/spine_radiology"]
    read = await client.get(offer["attachments"][0], headers=surgeon)
    assert read.status_code == 200 and read.json()["report"]["conclusion"] == "agrees"


async def test_a_reviewer_asks_for_another_team(rig: Any) -> None:
    client, processor, publisher = rig
    await _open_case(processor)
    holder = processor.case_state("case-1").steps["spine_surgery"].offer.specialist_id
    me = auth("specialist", holder)
    body = {"team": "spine_radiology", "reason": "Second read of the contrast MRI"}
    early = await client.post("/assignments/case-1/spine_surgery/teams", headers=me, json=body)
    assert early.status_code == 409  # only once accepted
    await client.post("/offers/case-1/spine_surgery/accept", headers=me)
    bad = await client.post("/assignments/case-1/spine_surgery/teams", headers=me,
                            json={"team": "astrology", "reason": ""})
    assert {e["path"] for e in bad.json()["errors"]} == {"team", "reason"}
    ed = await client.post("/assignments/case-1/spine_surgery/teams", headers=me,
                           json={"team": "emergency_department", "reason": "x"})
    assert ed.status_code == 422
    added = await client.post("/assignments/case-1/spine_surgery/teams", headers=me, json=body)
    assert added.status_code == 200, added.text
    extended = [e for e in publisher.events if isinstance(e, PlanExtended)]
    assert [(e.team, e.requested_by) for e in extended] == [("spine_radiology", holder)]
    state = processor.case_state("case-1")
    assert state.steps["spine_radiology"].offer.specialist_id == "rad"  # type: ignore[union-attr]
    twice = await client.post("/assignments/case-1/spine_surgery/teams", headers=me, json=body)
    assert twice.status_code == 409
    view = (await client.get("/cases/case-1/review", headers=auth("specialist", "rad"))).json()
    asked = next(s for s in view["steps"] if s["team"] == "spine_radiology")
    assert (asked["yours"], asked["requested_by"], asked["request_reason"]) == (
        "offer", holder, body["reason"])
    assert view["patient"]["name"] is None  # the new reviewer has not accepted yet


async def test_erasure_drops_content_and_reports(rig: Any) -> None:
    client, processor, _ = rig
    me = await _accepted(client, processor)
    await client.post("/assignments/case-1/spine_surgery/complete", headers=me, json=REPORT)
    assert processor.casedata.content("case-1") is not None
    await processor.on_case_input(CaseErased(
        event_id="erase-1", case_id="case-1", occurred_at=datetime.now(UTC),
        referrer_id="ref-1", requested_by="ops-1"))
    assert processor.casedata.content("case-1") is None
    assert processor.casedata.report("case-1", "spine_surgery") is None
    got = await client.get("/cases/case-1/reports/spine_surgery", headers=OPS)
    assert got.status_code == 404


async def test_an_erased_completed_case_refuses_addenda(rig: Any) -> None:
    client, processor, publisher = rig
    me = await _accepted(client, processor)
    await client.post("/assignments/case-1/spine_surgery/complete", headers=me, json=REPORT)
    await processor.on_case_input(CaseErased(
        event_id="erase-1", case_id="case-1", occurred_at=datetime.now(UTC),
        referrer_id="ref-1", requested_by="ops-1"))
    published = len(publisher.events)
    added = await client.post("/assignments/case-1/spine_surgery/addenda", headers=me,
                              json={"text": f"{NAME} also reports new numbness"})
    assert added.status_code == 409, added.text
    assert added.headers["content-type"].startswith("application/problem+json")
    assert publisher.events[published:] == []
    assert processor.casedata.report("case-1", "spine_surgery") is None


async def test_a_command_kafka_did_not_confirm_is_504_outcome_unknown_without_a_key(
        rig: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The ack's deadline passed with the record perhaps still in the producer's buffer: a
    # keyless addendum told "503, retry" was filed twice once the retry went through.
    client, processor, _ = rig
    me = await _accepted(client, processor)
    url = "/assignments/case-1/spine_surgery"
    assert (await client.post(f"{url}/complete", headers=me, json=REPORT)).status_code == 200

    async def unconfirmed(self: InProcessGateway, command: Any) -> None:
        raise KafkaAckTimeout("timed out")

    monkeypatch.setattr(InProcessGateway, "submit", unconfirmed)
    note = {"text": "Operative note received: unchanged."}
    keyless = await client.post(f"{url}/addenda", headers=me, json=note)
    assert keyless.status_code == 504, keyless.text
    body = keyless.json()
    assert body["type"].endswith("outcome-unknown") and "Retry-After" not in keyless.headers
    assert body["command_id"] and body["case_id"] == "case-1"
    keyed = await client.post(f"{url}/addenda", headers=me | {"Idempotency-Key": "k-9"}, json=note)
    assert keyed.status_code == 503 and keyed.headers["Retry-After"]  # same key, same command
