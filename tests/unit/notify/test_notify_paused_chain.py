"""An escalation chain holds while its clock is paused (the referrer owes records): the clock
consumes no budget then, yet the chain went on telling the team lead and then ops, every
repeat, about a warning whose clock was not running."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.notify.notify_builders import T0, CaseFlow, Harness


def at(minutes: float):
    return T0 + timedelta(minutes=minutes)


def paused_after_a_warning() -> tuple[Harness, CaseFlow]:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.received(at(0)))
    h.apply(flow.offered(at(0)))  # urgent: 2 h to accept; lead at +30 min, ops at +60 min
    h.apply(flow.tick(at(90)))  # 0.75 warning: the chain starts, the assignee is told
    assert h.notifications[-1] == ("specialist", "spec-1", "sla_warning")
    h.apply(flow.received(at(95), missing=("mri_report",), revision=2))
    return h, flow


def test_nobody_more_is_told_while_the_clock_is_paused() -> None:
    h, flow = paused_after_a_warning()
    told = len(h.notifications)
    for minute in (125, 155, 300, 600):
        h.apply(flow.tick(at(minute)))
    assert h.notifications[told:] == []
    assert h.state is not None and h.state.next_due_at is None  # nothing for the timer either


def test_the_chain_goes_on_once_the_records_arrive() -> None:
    h, flow = paused_after_a_warning()
    told = len(h.notifications)
    out = h.apply(flow.received(at(600), revision=3))  # records in: the clock runs again
    assert out.state.next_due_at is not None and out.state.next_due_at <= at(600)
    h.apply(flow.tick(at(600)))
    assert ("team_lead", "lead-1", "sla_warning") in h.notifications[told:]
