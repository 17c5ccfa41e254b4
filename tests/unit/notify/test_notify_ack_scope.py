"""A specialist's acknowledgement stops the chains of the steps they hold, never another's."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.notify.notify_builders import T0, CaseFlow, Harness


def at(minutes: float):
    return T0 + timedelta(minutes=minutes)


def two_specialists_paged() -> tuple[Harness, CaseFlow]:
    """s1 offered to spec-1, s2 to spec-2; both acceptance clocks warn at 90 min."""
    h, flow = Harness(), CaseFlow()
    h.apply(flow.offered(at(0), specialist="spec-1", step="s1"))
    h.apply(flow.offered(at(0), specialist="spec-2", step="s2"))
    h.apply(flow.tick(at(95)))
    return h, flow


def chains(h: Harness) -> dict[str, tuple[str, str | None]]:
    assert h.state is not None
    return {c.step_id: (c.status, c.closed_by) for c in h.state.chains.values()}


def test_a_specialist_ack_without_a_step_stops_only_the_steps_they_hold() -> None:
    h, flow = two_specialists_paged()
    h.apply(flow.ack(at(96), by="spec-1", role="specialist"))
    assert chains(h) == {"s1": ("acknowledged", "spec-1"), "s2": ("active", None)}
    before = len(h.notifications)
    for minute in (120, 150, 200):
        h.apply(flow.tick(at(minute)))
    # s2's breach still climbs to spec-2's lead and to ops; s1's chain stays quiet.
    assert ("team_lead", "lead-1", "sla_breached") in h.notifications[before:]
    assert ("ops", "ops-1", "sla_breached") in h.notifications[before:]
    assert ("specialist", "spec-1", "sla_breached") not in h.notifications[before:]


def test_a_specialist_ack_naming_another_specialists_step_stops_nothing() -> None:
    # The HTTP edge answers 403; an old or forged command on the topic is refused here too.
    h, flow = two_specialists_paged()
    h.apply(flow.ack(at(96), by="spec-1", role="specialist", step="s2"))
    assert chains(h) == {"s1": ("active", None), "s2": ("active", None)}


def test_a_specialist_who_no_longer_holds_the_step_cannot_acknowledge_it() -> None:
    h, flow = two_specialists_paged()
    h.apply(flow.declined(at(96), specialist="spec-1", step="s1"))
    h.apply(flow.ack(at(97), by="spec-1", role="specialist"))
    assert chains(h)["s1"] == ("active", None)


def test_ops_still_acknowledge_the_whole_case() -> None:
    h, flow = two_specialists_paged()
    h.apply(flow.ack(at(96), by="ops-1", role="ops"))
    assert chains(h) == {"s1": ("acknowledged", "ops-1"), "s2": ("acknowledged", "ops-1")}
