"""A re-offer at a higher urgency holds the step's acceptance clock to that urgency's budget.

A re-offer keeps the step's acceptance clock (the budget counts across offers), and it kept the
clock's first urgency too: a routine referral re-triaged urgent (routing shortens the open
offer and re-offers at `urgent`) still had 24 h to be accepted, first warning at 18 h, where
the shared policy gives an urgent step 2 h."""

from __future__ import annotations

from datetime import timedelta

from schemas.sla import SlaWarningRaised
from tests.unit.notify.notify_builders import T0, CaseFlow, Harness


def at(minutes: float):
    return T0 + timedelta(minutes=minutes)


def test_the_urgent_reoffer_tightens_the_routine_clock_from_its_start() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.offered(at(0), urgency="routine"))
    h.apply(flow.declined(at(50)))
    out = h.apply(flow.offered(at(60), specialist="spec-2", urgency="urgent"))
    clock = out.state.clocks["s1:acceptance"]
    assert (clock.urgency, clock.target_seconds, clock.started_at) == ("urgent", 7200, at(0))
    h.apply(flow.tick(at(91)))
    warnings = [e for e in h.events if isinstance(e, SlaWarningRaised)]
    assert [(w.urgency, w.elapsed_fraction, w.deadline) for w in warnings] == [
        ("urgent", 0.75, at(120))]


def test_a_reoffer_at_a_lower_urgency_keeps_the_stricter_budget() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.offered(at(0), urgency="urgent"))
    h.apply(flow.declined(at(50)))
    out = h.apply(flow.offered(at(60), specialist="spec-2", urgency="routine"))
    clock = out.state.clocks["s1:acceptance"]
    assert (clock.urgency, clock.target_seconds) == ("urgent", 7200)


def test_an_active_chain_takes_the_stricter_urgency_with_its_clock() -> None:
    """A routine clock warned (its chain on routine's delays), then re-offered urgent: the
    chain escalates on urgent's schedule, as the clock now counts."""
    h, flow = Harness(), CaseFlow()
    h.apply(flow.offered(at(0), urgency="routine"))
    h.apply(flow.tick(at(19 * 60)))  # past 0.75 of routine's 24 h: a warning starts the chain
    assert h.state.chains["s1:acceptance"].urgency == "routine"
    h.apply(flow.declined(at(19 * 60 + 5)))
    out = h.apply(flow.offered(at(19 * 60 + 10), specialist="spec-2", urgency="urgent"))
    assert out.state.chains["s1:acceptance"].urgency == "urgent"
