"""A case re-triaged to an emergency gets the emergency's acknowledgement clock.

Routing pages the on-call surgeon on the case's spine surgery step, the very step an urgent
offer may already have opened an acceptance clock on (re-offers keep their clock). The page
kept that urgent clock: no warning for 90 minutes and no breach for two hours where the
on-call surgeon has 15, and alarms the old clock had raised shared their ids with the
emergency's (receivers would drop the emergency's as repeats).
"""

from __future__ import annotations

from datetime import timedelta

from schemas.routing import OfferExpired
from schemas.sla import SlaBreached, SlaWarningRaised
from tests.unit.notify.notify_builders import T0, CaseFlow, Harness


def at(minutes: float):
    return T0 + timedelta(minutes=minutes)


def paged_after_an_urgent_offer(offered_for: float) -> tuple[Harness, CaseFlow]:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.offered(at(0), step="spine_surgery"))
    h.apply(flow.tick(at(offered_for)))
    h.apply(OfferExpired(event_id="withdrawn-1", case_id=flow.case_id,
                         occurred_at=at(offered_for), step_id="spine_surgery",
                         team="spine_surgery", specialist_id="spec-1", reason="withdrawn"))
    h.apply(flow.emergency(at(offered_for), step="spine_surgery"))
    return h, flow


def test_the_page_is_acknowledged_within_the_emergency_budget() -> None:
    h, flow = paged_after_an_urgent_offer(10)
    clock = h.state.clocks["spine_surgery:acceptance"]  # type: ignore[union-attr]
    assert clock.urgency == "emergency" and clock.target_seconds == 15 * 60
    h.apply(flow.tick(at(10 + 16)))
    breaches = [e for e in h.events if isinstance(e, SlaBreached)]
    assert [(b.urgency, b.deadline) for b in breaches] == [("emergency", at(25))]
    assert ("specialist", "oncall-1", "sla_breached") in h.notifications


def test_the_emergencys_alarms_are_not_the_urgent_clocks_again() -> None:
    h, flow = paged_after_an_urgent_offer(100)  # the urgent clock had warned at 90 min
    h.apply(flow.tick(at(100 + 12)))
    warnings = [e for e in h.events if isinstance(e, SlaWarningRaised)]
    assert [w.urgency for w in warnings] == ["urgent", "emergency"]
    assert len({w.event_id for w in warnings}) == 2
    assert ("specialist", "oncall-1", "sla_warning") in h.notifications
