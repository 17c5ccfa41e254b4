"""No SLA clock starts on a case notify already closed.

Referral and routing events come on two topics: notify can read the referrer's cancellation
before an offer routing made just before it saw that cancellation. The offer started a running
acceptance clock on the cancelled case, which warned, breached and escalated to the lead and ops
until routing's RoutingStopped was read (never, while routing was down or lagging).
"""

from __future__ import annotations

from datetime import timedelta

from schemas.sla import SlaBreached, SlaWarningRaised
from tests.unit.notify.notify_builders import T0, CaseFlow, Harness


def at(minutes: float):
    return T0 + timedelta(minutes=minutes)


def test_an_offer_read_after_the_cancellation_starts_no_clock() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.received(at(0)))
    offer = flow.offered(at(10))
    h.apply(flow.cancelled(at(11)))
    out = h.apply(offer, now=at(12))  # the offer webhook still goes: routing did make it
    assert ("specialist", "spec-1", "assignment_offered") in h.notifications
    assert out.state.clocks == {} and out.state.next_due_at is None
    h.apply(flow.tick(at(300)))
    assert not [e for e in h.events if isinstance(e, (SlaWarningRaised, SlaBreached))]


def test_an_acceptance_read_after_the_case_closed_starts_no_turnaround_clock() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.offered(at(0)))
    h.apply(flow.cancelled(at(5)))
    out = h.apply(flow.accepted(at(4)), now=at(6))  # read after the cancellation
    assert "s1:turnaround" not in out.state.clocks and out.state.next_due_at is None
