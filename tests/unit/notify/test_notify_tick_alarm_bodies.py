"""An alarm a tick raises depends on the case's row, not on when the tick ran or was read.

A warning, breach or escalation step was dated by the tick and carried the elapsed fraction
at the tick: when the row that recorded it was lost before the commit (a crash), the alarm was
raised again by a later tick (or the same tick read again) with another date and fraction, so
the same Idempotency-Key went out with another signed body. Each is now dated at the instant
it fell due (the threshold's, the deadline's, the step's), its fraction counted there, and the
things a tick raises are taken in the order they fell due, so a later tick raises the same
ones, in the same order, with the same sequence numbers, before anything newer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from schemas.envelope import Event
from schemas.sla import SlaBreached, SlaWarningRaised
from services.notify.domain.handlers import apply_event
from services.notify.domain.outbox import webhook_body
from services.notify.domain.state import CaseState, Outcome
from tests.unit.notify.notify_builders import POLICY, T0, CaseFlow, FakeContacts, Harness


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def committed(events: list[Event], ticked_until: float) -> tuple[CaseState, CaseFlow]:
    """The row as last committed: `events`, then a tick every minute up to `ticked_until`."""
    h, flow = Harness(), CaseFlow()
    for make in events:
        h.apply(make)
    minute = 0.0
    while minute <= ticked_until:
        h.apply(flow.tick(at(minute)))
        minute += 1
    assert h.state is not None
    return h.state, flow


def tick(prior: CaseState, when: float, *, read_at: float | None = None) -> Outcome:
    flow = CaseFlow()
    flow.counter = 10_000 + int(when * 100)  # ticks carry fresh ids, as the timer's uuid4s do
    event = flow.tick(at(when))
    return apply_event(prior, event, policy=POLICY, contacts=FakeContacts(),
                       now=at(read_at if read_at is not None else when), partition=0)


def same_bytes_under_same_ids(first: Outcome, later: Outcome) -> int:
    """Everything both outcomes raised under one id is byte-identical; returns how many."""
    notes = {n.notification_id: webhook_body(n) for n in first.notifications}
    events = {e.event_id: e.to_bytes() for e in first.events}
    shared = 0
    for n in later.notifications:
        if n.notification_id in notes:
            assert webhook_body(n) == notes[n.notification_id], n.kind
            shared += 1
    for e in later.events:
        if e.event_id in events:
            assert e.to_bytes() == events[e.event_id], e.event_type
            shared += 1
    return shared


def one_offer() -> list[Event]:
    return [CaseFlow().offered(at(0))]  # urgent: 2 h to accept; lead at +30 min, ops at +60


# (row committed after the tick at minute, first tick, later tick): the first tick's row is lost
@pytest.mark.parametrize(("ticked_until", "first", "later"), [
    (89, 90.5, 95),     # the 0.75 warning (due at 90) and the assignee's message
    (107, 108.5, 112),  # the 0.9 warning, sent again to the assignee (already told)
    (119, 120.5, 125),  # the breach and the team lead's step, both due at 120
    (149, 150.5, 170),  # ops' step
])
def test_an_alarm_raised_again_by_a_later_tick_is_the_same_bytes(
    ticked_until: float, first: float, later: float,
) -> None:
    prior, _ = committed(one_offer(), ticked_until)
    lost, again = tick(prior, first), tick(prior, later)
    raised = len(lost.events) + len(lost.notifications)
    assert raised >= 1
    assert same_bytes_under_same_ids(lost, again) == raised  # all of it, the same bytes


def test_a_warning_is_dated_when_it_fell_due_with_its_fraction_there() -> None:
    prior, _ = committed(one_offer(), 80)
    out = tick(prior, 97)
    warning = next(e for e in out.events if isinstance(e, SlaWarningRaised))
    assert warning.occurred_at == at(90) and warning.elapsed_fraction == 0.75
    (note,) = out.notifications
    assert note.created_at == at(90) and note.data["elapsed_fraction"] == 0.75


def test_a_breach_is_dated_at_its_deadline() -> None:
    prior, _ = committed(one_offer(), 110)
    out = tick(prior, 121.5)
    breach = next(e for e in out.events if isinstance(e, SlaBreached))
    assert breach.occurred_at == breach.deadline == at(120)
    assert breach.late_by_seconds == 0
    assert {n.created_at for n in out.notifications} == {at(120)}


def test_an_escalation_step_is_dated_when_it_fell_due() -> None:
    prior, _ = committed(one_offer(), 140)
    out = tick(prior, 153)
    (ops,) = [n for n in out.notifications if n.audience == "ops"]
    assert ops.created_at == at(150) and ops.data["escalation_step"] == 2
    assert ops.data["elapsed_fraction"] == 1.25  # 150 of the clock's 120 minutes


def two_offers_the_later_one_due_first() -> list[Event]:
    """Step a's clock is the case's first (its offer was read first) yet falls due after b's."""
    flow = CaseFlow()
    return [flow.offered(at(10), step="a", specialist="spec-1"),
            flow.offered(at(0), step="b", specialist="spec-2")]


def test_a_later_tick_takes_what_fell_due_in_the_same_order_and_sequence() -> None:
    # b's 0.9 warning falls due at 108, a's at 118: a tick at 109 raises b's; one at 119 (after
    # the row of the first was lost) raises both, b's first with the same sequence number.
    prior, _ = committed(two_offers_the_later_one_due_first(), 101)
    first, later = tick(prior, 109), tick(prior, 119)
    assert [n.data["step_id"] for n in first.notifications] == ["b"]
    assert [n.data["step_id"] for n in later.notifications] == ["b", "a"]
    assert same_bytes_under_same_ids(first, later) == 2  # b's warning and its message


def test_the_same_tick_read_again_later_raises_exactly_what_it_raised() -> None:
    # A crash before the commit: the tick is read again from the command topic, minutes later.
    prior, _ = committed(one_offer(), 89)
    first, again = tick(prior, 95), tick(prior, 95, read_at=130)
    assert [e.to_bytes() for e in again.events] == [e.to_bytes() for e in first.events]
    assert [webhook_body(n) for n in again.notifications] == [
        webhook_body(n) for n in first.notifications]
    assert again.state.to_json() == first.state.to_json()


def test_an_alarm_raised_late_finds_its_chain_where_the_schedule_puts_it() -> None:
    # Nothing ran from 80 to 200 minutes (an outage): the breach fell due at 120, its chain
    # counts from there, so the lead (+30 min) and ops (+60 min) hear at once, each message
    # dated when its step fell due; the delivery lines show when they went out.
    prior, _ = committed(one_offer(), 80)
    out = tick(prior, 200)
    assert [type(e).__name__ for e in out.events] == ["SlaBreached"]
    assert [(n.audience, n.created_at) for n in out.notifications] == [
        ("specialist", at(120)), ("team_lead", at(150)), ("ops", at(180))]
