"""Repeated escalation acknowledgements do not wash a case's memory of applied events.

Every POST /escalations/{case}/ack was a command with a fresh random id, and the agent keeps
the last 512 applied ids per case (what makes a redelivered event a no-op). A client retrying,
or a page polling the button, pushed the case's real event ids out: a routing event redelivered
afterwards (at-least-once) was applied again, its webhooks sent again. An ack is now named by
what it acknowledges (case, caller, step, the chains it can stop), so a repeat is one command
id however often it is sent, and an ops ack naming a step the case does not have is a 404.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from schemas.notifications import NotificationDelivered
from services.notify.domain.commands import AcknowledgeEscalation
from tests.notify.notify_rig import AgentRig
from tests.notify.test_notify_http import auth, escalation_client
from tests.unit.notify.notify_builders import CaseFlow


async def test_a_repeated_ack_is_one_command_and_keeps_redeliveries_harmless() -> None:
    rig, flow = AgentRig(), CaseFlow()
    offer = flow.offered(rig.clock())
    await rig.feed(offer)
    note = rig.submitted[0]
    await rig.feed(NotificationDelivered(  # the offer webhook went out and left the outbox
        event_id="delivered-1", case_id=note.case_id, occurred_at=rig.clock(),
        notification_id=note.notification_id, audience=note.audience,
        subscriber_id=note.subscriber_id, kind=note.kind, attempts=1, status_code=200,
        latency_ms=5.0))
    sent: list[AcknowledgeEscalation] = []
    client = escalation_client(rig, sent)
    for _ in range(600):
        assert client.post("/escalations/case-1/ack", headers=auth("ops", "ops-7")
                           ).status_code == 202
    assert len({c.event_id for c in sent}) == 1
    for command in sent:
        await rig.feed(command, topic="notify.commands.v1")
    before = len(rig.submitted)
    await rig.feed(offer)  # redelivered, as after a rebalance
    assert len(rig.submitted) == before  # no second offer webhook


async def test_a_new_chain_gets_a_new_ack() -> None:
    rig = AgentRig()
    await rig.feed(CaseFlow().offered(rig.clock()))
    sent: list[AcknowledgeEscalation] = []
    client = escalation_client(rig, sent)
    client.post("/escalations/case-1/ack", headers=auth("ops", "ops-7"))
    rig.clock.set_minutes(100)
    await rig.run_timer()  # a warning starts a chain: acknowledging it is news
    client.post("/escalations/case-1/ack", headers=auth("ops", "ops-7"))
    client.post("/escalations/case-1/ack", headers=auth("ops", "ops-8"))
    assert len({c.event_id for c in sent}) == 3


async def test_ops_naming_a_step_the_case_does_not_have_is_told_so() -> None:
    rig = AgentRig()
    await rig.feed(CaseFlow().offered(rig.clock()))
    sent: list[AcknowledgeEscalation] = []
    client: TestClient = escalation_client(rig, sent)
    response = client.post("/escalations/case-1/ack", json={"step_id": "s9"},
                           headers=auth("ops", "ops-7"))
    assert response.status_code == 404 and "step_id" in response.json()["detail"]
    assert sent == []


async def test_a_second_page_is_acknowledged_by_the_same_surgeon() -> None:
    # No chain is active before either ack; the second page's clock still makes it news.
    rig, flow = AgentRig(), CaseFlow()
    await rig.feed(flow.emergency(rig.clock(), step="e1"))
    sent: list[AcknowledgeEscalation] = []
    client = escalation_client(rig, sent)
    client.post("/escalations/case-1/ack", headers=auth("specialist", "oncall-1"))
    await rig.feed(sent[-1], topic="notify.commands.v1")
    await rig.feed(flow.emergency(rig.clock(), step="e2"))
    client.post("/escalations/case-1/ack", headers=auth("specialist", "oncall-1"))
    await rig.feed(sent[-1], topic="notify.commands.v1")
    state = rig.processor.state_of("case-1")
    assert state is not None
    assert [state.clocks[f"{s}:acceptance"].status for s in ("e1", "e2")] == ["met", "met"]
