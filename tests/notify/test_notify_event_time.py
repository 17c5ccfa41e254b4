"""SLA clocks run on the time things happened (event time), not on when notify read them.

Notify reads its inputs late after an outage, a restart or a rebalance (minutes of lag); a
clock started, met or paused at processing time then counted from the wrong instant: an offer
read 100 min late gave the specialist 100 min more than routing's deadline before any warning.
"""

from __future__ import annotations

from datetime import timedelta

from schemas.sla import SlaBreached, SlaMet, SlaWarningRaised
from services.notify.domain.state import CaseState
from tests.notify.notify_rig import AgentRig
from tests.unit.notify.notify_builders import T0, CaseFlow


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


async def test_an_offer_read_late_counts_from_when_it_was_made() -> None:
    rig, flow = AgentRig(), CaseFlow()
    rig.clock.set_minutes(100)  # notify was down; the urgent offer (2 h to accept) is 100 min old
    await rig.feed(flow.offered(T0))
    await rig.run_timer()
    warnings = [e for e in rig.published if isinstance(e, SlaWarningRaised)]
    assert [w.elapsed_fraction for w in warnings] == [0.75]
    assert warnings[0].deadline == T0 + minutes(120)  # routing's deadline, not read time + 2 h
    rig.clock.set_minutes(121)
    await rig.run_timer()
    assert any(isinstance(e, SlaBreached) for e in rig.published)


async def test_an_acceptance_read_after_the_deadline_meets_the_clock_when_it_happened() -> None:
    rig, flow = AgentRig(), CaseFlow()
    await rig.feed(flow.offered(T0))
    rig.clock.set_minutes(150)  # accepted at 60 min, read at 150 min (no tick ran meanwhile)
    await rig.feed(flow.accepted(T0 + minutes(60)))
    met = [e for e in rig.published if isinstance(e, SlaMet)]
    assert len(met) == 1 and met[0].occurred_at == T0 + minutes(60)
    state = CaseState.from_json(rig.cases["case-1"])
    clock = state.clocks["s1:acceptance"]
    assert clock.consumed_seconds == 3600 and clock.ended_at == T0 + minutes(60)


async def test_a_pause_read_late_stops_the_budget_when_the_referrer_was_asked() -> None:
    rig, flow = AgentRig(), CaseFlow()
    await rig.feed(flow.received(T0), topic="referral.events.v1")
    await rig.feed(flow.offered(T0))
    rig.clock.set_minutes(100)  # records asked for at 30 min; notify reads it at 100 min
    await rig.feed(flow.received(T0 + minutes(30), missing=("mri",), revision=2),
                   topic="referral.events.v1")
    clock = CaseState.from_json(rig.cases["case-1"]).clocks["s1:acceptance"]
    assert clock.status == "paused" and clock.consumed_seconds == 30 * 60


async def test_an_event_stamped_in_the_future_counts_from_when_it_is_read() -> None:
    rig, flow = AgentRig(), CaseFlow()
    await rig.feed(flow.offered(T0 + minutes(30)))  # a producer's clock 30 min fast
    clock = CaseState.from_json(rig.cases["case-1"]).clocks["s1:acceptance"]
    assert clock.started_at == T0
