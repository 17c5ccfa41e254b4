"""Agent-level: the processor's table round trip, ticks, restarts and escalation order."""

from __future__ import annotations

from prometheus_client import REGISTRY

from schemas.sla import SlaBreached, SlaWarningRaised
from services.notify.casefile import CaseSummary
from services.notify.domain.state import CaseState
from tests.notify.notify_rig import AgentRig
from tests.unit.notify.notify_builders import CaseFlow

EXPECTED_ALARMS = [("SlaWarningRaised", 0.75), ("SlaWarningRaised", 0.9), ("SlaBreached", None)]


async def test_warning_and_breach_fire_once_each_however_often_the_timer_runs() -> None:
    rig, flow = AgentRig(), CaseFlow()
    await rig.feed(flow.offered(rig.clock()))
    for minute in range(0, 240):
        rig.clock.set_minutes(minute)
        await rig.run_timer()
        await rig.feed(flow.tick(rig.clock()))  # a stray duplicate tick changes nothing either
    assert rig.sla_events() == EXPECTED_ALARMS


async def test_a_restart_between_warning_and_breach_changes_nothing() -> None:
    rig, flow = AgentRig(), CaseFlow()
    await rig.feed(flow.offered(rig.clock()))
    await rig.run_minutes(range(0, 100))
    assert rig.sla_events() == EXPECTED_ALARMS[:1]
    pending_before = {n.notification_id for n in CaseState.from_json(rig.cases["case-1"]).outbox}

    restarted = await rig.restart()
    assert {n.notification_id for n in restarted.submitted} == pending_before  # outbox resent
    await restarted.run_minutes(range(100, 240))

    assert restarted.sla_events() == EXPECTED_ALARMS[1:]  # nothing twice, nothing forgotten
    ids = [e.event_id for e in rig.published + restarted.published]
    assert len(ids) == len(set(ids))


def alarm_delays(event_type: str) -> float:
    return REGISTRY.get_sample_value(
        "notify_sla_alarm_delay_seconds_sum", {"event_type": event_type}) or 0.0


async def test_a_restart_long_after_the_deadline_still_breaches_once() -> None:
    rig, flow = AgentRig(), CaseFlow()
    await rig.feed(flow.offered(rig.clock()))
    restarted = await rig.restart()
    restarted.clock.set_minutes(600)
    delays = alarm_delays("SlaBreached")
    assert await restarted.run_timer() == 1
    assert alarm_delays("SlaBreached") - delays == 480 * 60  # how late it was raised
    assert await restarted.run_timer() == 0  # the tick is not sent again while it is in flight
    published = [type(e) for e in restarted.published]
    assert published == [SlaBreached]
    breach = restarted.published[0]
    # dated when it fell due, so a tick after a lost row raises the same bytes (the delivery
    # lines and notify_sla_alarm_delay_seconds show how late it was raised)
    assert isinstance(breach, SlaBreached) and breach.occurred_at == breach.deadline
    assert breach.late_by_seconds == 0


async def test_escalation_reaches_assignee_then_lead_then_ops() -> None:
    rig, flow = AgentRig(), CaseFlow()
    await rig.feed(flow.offered(rig.clock()))
    timeline = []
    for minute in range(0, 200):
        rig.clock.set_minutes(minute)
        before = len(rig.submitted)
        await rig.run_timer()
        timeline += [(minute, n.audience) for n in rig.submitted[before:]]
    first_per_audience = {}
    for minute, audience in timeline:
        first_per_audience.setdefault(audience, minute)
    assert first_per_audience == {"specialist": 90, "team_lead": 120, "ops": 150}
    seqs = [n.seq for n in rig.submitted]
    assert seqs == sorted(seqs)


async def test_acknowledgement_stops_the_chain() -> None:
    rig, flow = AgentRig(), CaseFlow()
    await rig.feed(flow.offered(rig.clock()))
    await rig.run_minutes(range(0, 95))
    await rig.feed(flow.ack(rig.clock(), by="ops-1"), topic="notify.commands.v1")
    await rig.run_minutes(range(95, 400))
    audiences = [n.audience for n in rig.submitted]
    assert "team_lead" not in audiences and "ops" not in audiences
    assert isinstance(rig.published[0], SlaWarningRaised)
    assert any(isinstance(e, SlaBreached) for e in rig.published)  # the clock still counts


async def test_every_event_is_folded_into_the_case_summary() -> None:
    rig, flow = AgentRig(), CaseFlow()
    await rig.feed(flow.received(rig.clock()), topic="referral.events.v1")
    await rig.feed(flow.offered(rig.clock()))
    await rig.run_minutes(range(0, 100))
    for event in list(rig.published):  # notify reads its own SLA events back from Kafka
        await rig.feed(event, topic="sla.events.v1")
    summary = CaseSummary.model_validate_json(rig.summaries["case-1"])
    assert summary.status == "offered"
    assert summary.referrer_id == "ref-1"
    assert [s.case_id for s in rig.processor.summary_views()] == ["case-1"]
