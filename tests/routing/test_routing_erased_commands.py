"""A specialist's command to an erased case is answered by the API without being submitted:
written to the compacted commands topic after the erasure's tombstone, its text (a report, a
decline reason, an addendum that may name the patient) would outlive the erasure."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from schemas.cases import CaseErased
from schemas.envelope import Event
from schemas.routing import AcceptOffer, AmendReport
from services.routing.api import create_api
from services.routing.domain.state import CommandOutcome
from services.routing.processor import RoutingProcessor
from tests.routing.fakes import Clock, InProcessGateway, make_processor
from tests.routing.test_routing_reviews_api import NAME, REPORT, _open_case, auth
from tests.unit.routing.builders import specialist


class SubmitLog(InProcessGateway):
    """The in-process gateway, keeping every command it was asked to submit."""

    def __init__(self, processor: RoutingProcessor) -> None:
        super().__init__(processor)
        self.submitted: list[Event] = []

    async def submit(self, command: Event) -> CommandOutcome | None:
        self.submitted.append(command)
        return await super().submit(command)


@pytest.fixture
async def rig() -> AsyncIterator[tuple[httpx.AsyncClient, RoutingProcessor, SubmitLog]]:
    processor, _, _ = make_processor(Clock(datetime.now(UTC)))
    for sid in ("a", "b"):
        processor.directory.put(specialist(sid))
    gateway = SubmitLog(processor)
    transport = httpx.ASGITransport(app=create_api(gateway))
    async with httpx.AsyncClient(transport=transport, base_url="http://routing") as client:
        yield client, processor, gateway


async def _erase(processor: RoutingProcessor) -> None:
    await processor.on_case_input(CaseErased(
        event_id="erase-1", case_id="case-1", occurred_at=datetime.now(UTC),
        referrer_id="ref-1", requested_by="ops-1"))


async def test_an_assignee_command_to_an_erased_case_is_409_and_never_submitted(rig: Any) -> None:
    client, processor, gateway = rig
    await _open_case(processor)
    holder = processor.case_state("case-1").steps["spine_surgery"].offer.specialist_id
    me = auth("specialist", holder)
    assert (await client.post("/offers/case-1/spine_surgery/accept", headers=me)).is_success
    await _erase(processor)
    gateway.submitted.clear()
    url = "/assignments/case-1/spine_surgery"
    answers = [
        await client.post(f"{url}/complete", headers=me,
                          json=dict(REPORT, opinion=f"{NAME} has facet-mediated pain.")),
        await client.post(f"{url}/addenda", headers=me | {"Idempotency-Key": "k-1"},
                          json={"text": f"{NAME} also reports numbness"}),
        await client.post(f"{url}/teams", headers=me,
                          json={"team": "spine_radiology", "reason": f"{NAME}'s MRI"}),
    ]
    for answer in answers:
        assert answer.status_code == 409, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        body = answer.json()  # the same answer the agent gives (handlers.CLOSED)
        assert body["type"].endswith("/conflict") and body["case_id"] == "case-1"
        assert body["detail"] == "case is not open for routing"
    assert gateway.submitted == []


async def test_a_decline_reason_to_an_erased_case_is_never_submitted(rig: Any) -> None:
    client, processor, gateway = rig
    await _open_case(processor)
    holder = processor.case_state("case-1").steps["spine_surgery"].offer.specialist_id
    await _erase(processor)
    answer = await client.post("/offers/case-1/spine_surgery/decline",
                               headers=auth("specialist", holder),
                               json={"reason": f"I treated {NAME} before"})
    assert answer.status_code == 409, answer.text
    assert gateway.submitted == []


async def test_a_stranger_to_an_erased_case_is_told_nothing_and_nothing_is_submitted(
        rig: Any) -> None:
    client, processor, gateway = rig
    await _open_case(processor)
    holder = processor.case_state("case-1").steps["spine_surgery"].offer.specialist_id
    stranger = "b" if holder == "a" else "a"
    assert stranger not in processor.case_state("case-1").offered_to
    await _erase(processor)
    answer = await client.post("/assignments/case-1/spine_surgery/complete",
                               headers=auth("specialist", stranger), json=REPORT)
    unknown = await client.post("/assignments/case-9/spine_surgery/complete",
                                headers=auth("specialist", stranger), json=REPORT)
    assert answer.status_code == unknown.status_code == 404  # as for a case that never was
    assert answer.json()["detail"] == unknown.json()["detail"]
    assert gateway.submitted == []


async def test_a_command_that_raced_the_erasure_is_tombstoned_when_the_agent_refuses_it() -> None:
    """Checked by the API just before the row turned erased, the command was written after the
    erasure's tombstone: the agent refuses it and writes the case's tombstone again, so the
    command's text is not the topic's last record for the case."""
    processor, publisher, _ = make_processor(Clock(datetime.now(UTC)))
    for sid in ("a", "b"):
        processor.directory.put(specialist(sid))
    await _open_case(processor)
    holder = processor.case_state("case-1").steps["spine_surgery"].offer.specialist_id
    await processor.on_case_input(AcceptOffer(
        event_id="acc-1", case_id="case-1", occurred_at=datetime.now(UTC),
        step_id="spine_surgery", specialist_id=holder))
    assert publisher.tombstoned == []
    await _erase(processor)
    assert publisher.tombstoned == []  # intake writes the erasure's own tombstones
    result = await processor.on_case_input(AmendReport(
        event_id="amend-1", case_id="case-1", occurred_at=datetime.now(UTC),
        step_id="spine_surgery", specialist_id=holder, text=f"{NAME} also reports numbness"))
    assert result.outcome is not None and result.outcome.status != "ok"
    assert publisher.tombstoned == ["case-1"]
