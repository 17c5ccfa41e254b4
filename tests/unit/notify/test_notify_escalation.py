"""Escalation chains: assignee, then team lead, then ops, repeats, and acknowledgement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notify.domain import escalation
from services.notify.domain.policy import EscalationPolicy

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICY = EscalationPolicy(delays_seconds=(0, 600, 1200), repeat_every_seconds=600, max_repeats=2)


def chain() -> escalation.Chain:
    return escalation.start_chain(step_id="s1", clock="acceptance", urgency="urgent",
                                  trigger="sla_warning", event_id="w1", now=T0)


def due_steps(
    current: escalation.Chain, policy: EscalationPolicy, now: datetime
) -> tuple[escalation.Chain, list[escalation.EscalationStep]]:
    """Every step due by `now`, taken one at a time as a tick takes them."""
    steps = []
    while (due := escalation.next_due(current, policy)) is not None and due <= now:
        current, step = escalation.take_step(current, policy, now)
        steps += [step] if step is not None else []
    return current, steps


def run_until(minutes_list: list[int]) -> list[tuple[int, str, int]]:
    current, seen = chain(), []
    for minute in minutes_list:
        current, steps = due_steps(current, POLICY, T0 + timedelta(minutes=minute))
        seen += [(minute, s.audience, s.index) for s in steps]
    return seen


def test_levels_are_told_in_order_at_their_delays() -> None:
    assert run_until([0, 5, 10, 15, 20, 30, 40, 50, 60]) == [
        (0, "specialist", 0), (10, "team_lead", 1), (20, "ops", 2), (30, "ops", 3), (40, "ops", 4)
    ]


def test_an_outage_sends_each_level_once_and_one_repeat() -> None:
    assert run_until([45]) == [(45, "specialist", 0), (45, "team_lead", 1), (45, "ops", 2),
                               (45, "ops", 4)]


def test_acknowledgement_stops_the_chain() -> None:
    current, _ = due_steps(chain(), POLICY, T0)
    current = escalation.close(current, status="acknowledged", by="ops-1")
    later, steps = due_steps(current, POLICY, T0 + timedelta(hours=5))
    assert steps == []
    assert escalation.next_due(later, POLICY) is None
    assert escalation.close(later, status="resolved", by="x").closed_by == "ops-1"


def test_retrigger_tells_only_the_levels_already_reached() -> None:
    current, _ = due_steps(chain(), POLICY, T0 + timedelta(minutes=10))
    current, reached = escalation.retrigger(current, trigger="sla_breached", event_id="b1")
    assert reached == ["specialist", "team_lead"]
    assert current.trigger_event_id == "b1" and current.origin_event_id == "w1"


def test_next_due_follows_the_schedule() -> None:
    current = chain()
    assert escalation.next_due(current, POLICY) == T0
    current, _ = due_steps(current, POLICY, T0)
    assert escalation.next_due(current, POLICY) == T0 + timedelta(minutes=10)
