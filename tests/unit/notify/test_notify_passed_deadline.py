"""A review deadline already past when its clock starts or moves is still routing's deadline.

Routing counts the review deadline from triage, so a step accepted late (or a re-triage that
brings the deadline forward past the clock's start) hands notify a deadline already behind it.
The clock used to clamp its budget to one second from its start: the breach then named a
deadline routing never set and `late_by_seconds` of about zero, however late the report was.
The breach is dated when it fell due, the clock's start (not by the tick that noticed it), and
`late_by_seconds` says how far past the deadline that was.
"""

from __future__ import annotations

from datetime import timedelta

from schemas.routing import ReviewDeadlineChanged
from schemas.sla import SlaBreached
from services.notify.domain import sla
from tests.unit.notify.notify_builders import T0, CaseFlow, Harness


def at(minutes: float):
    return T0 + timedelta(minutes=minutes)


def test_an_acceptance_after_the_review_deadline_breaches_against_that_deadline() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.offered(at(0)))
    out = h.apply(flow.accepted(at(100)).model_copy(update={"deadline": at(40)}))
    assert sla.deadline(out.state.clocks["s1:turnaround"], at(100)) == at(40)
    out = h.apply(flow.tick(at(101)))
    breaches = [e for e in out.events if isinstance(e, SlaBreached)]
    assert len(breaches) == 1 and breaches[0].step_id == "s1"
    assert breaches[0].deadline == at(40) and breaches[0].late_by_seconds == 60 * 60
    assert breaches[0].occurred_at == at(100)  # accepted an hour after the review deadline


def test_a_deadline_moved_before_the_clocks_start_is_kept_exactly() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.offered(at(0)))
    h.apply(flow.accepted(at(100)).model_copy(update={"deadline": at(1000)}))
    moved = ReviewDeadlineChanged(event_id="e-moved", case_id=flow.case_id, occurred_at=at(110),
                                  step_id="s1", team="spine_surgery", specialist_id="spec-1",
                                  deadline=at(90))
    out = h.apply(moved)
    assert sla.deadline(out.state.clocks["s1:turnaround"], at(110)) == at(90)
    out = h.apply(flow.tick(at(111)))
    breach = next(e for e in out.events if isinstance(e, SlaBreached))
    # moved behind the clock's start (accepted at 100): it fell due there, 10 minutes late
    assert breach.deadline == at(90) and breach.late_by_seconds == 10 * 60
    assert breach.occurred_at == at(100)


def test_a_deadline_exactly_now_breaches_now() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.offered(at(0)))
    out = h.apply(flow.accepted(at(100)).model_copy(update={"deadline": at(100)}))
    assert sla.deadline(out.state.clocks["s1:turnaround"], at(100)) == at(100)
    out = h.apply(flow.tick(at(100)))
    breach = next(e for e in out.events if isinstance(e, SlaBreached))
    assert breach.deadline == at(100) and breach.late_by_seconds == 0
