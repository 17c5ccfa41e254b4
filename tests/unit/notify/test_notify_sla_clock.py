"""One SLA clock: deadlines, pause and resume, warnings and the breach, each raised once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas.sla import SlaBreached, SlaMet, SlaPaused, SlaResumed, SlaWarningRaised
from services.notify.domain import sla
from services.notify.domain.calendar import BusinessCalendar

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FRACTIONS = (0.75, 0.9)


def two_hour_clock(**kw: object) -> sla.Clock:
    args: dict = {"kind": "acceptance", "step_id": "s1", "team": "spine_surgery",
                  "urgency": "urgent", "target_seconds": 7200.0, "calendar": None, "now": T0}
    return sla.start_clock(**{**args, **kw})


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def run(clock: sla.Clock, minutes: float) -> tuple[sla.Clock, list]:
    return sla.evaluate(clock, case_id="c1", fractions=FRACTIONS, now=at(minutes))


def test_deadline_is_start_plus_target() -> None:
    assert sla.deadline(two_hour_clock(), T0) == at(120)


def test_next_due_walks_through_the_thresholds() -> None:
    clock = two_hour_clock()
    assert sla.next_due(clock, FRACTIONS, T0) == at(90)
    clock, _ = run(clock, 90)
    assert sla.next_due(clock, FRACTIONS, at(90)) == at(108)
    clock, _ = run(clock, 108)
    assert sla.next_due(clock, FRACTIONS, at(108)) == at(120)
    clock, _ = run(clock, 120)
    assert sla.next_due(clock, FRACTIONS, at(120)) is None


def test_each_warning_and_the_breach_fire_exactly_once() -> None:
    clock = two_hour_clock()
    raised = []
    for minute in (10, 89, 90, 91, 100, 108, 109, 119, 120, 150, 300):
        clock, events = run(clock, minute)
        raised += [(minute, e) for e in events]
    kinds = [(m, type(e).__name__, getattr(e, "elapsed_fraction", None)) for m, e in raised]
    assert kinds == [
        (90, "SlaWarningRaised", 0.75), (108, "SlaWarningRaised", 0.9), (120, "SlaBreached", None)
    ]


def test_a_breach_noticed_late_is_dated_at_its_deadline() -> None:
    # Dated by the clock, not by the tick: raised again by a later tick, it is the same event.
    _, events = run(two_hour_clock(), 135)
    assert len(events) == 1 and isinstance(events[0], SlaBreached)
    assert events[0].occurred_at == events[0].deadline == at(120)
    assert events[0].late_by_seconds == 0


def test_after_an_outage_only_the_most_severe_threshold_is_raised() -> None:
    clock, events = run(two_hour_clock(), 112)
    assert [type(e) for e in events] == [SlaWarningRaised]
    assert events[0].elapsed_fraction == 0.9
    clock, events = run(clock, 113)
    assert events == []  # 0.75 was skipped past, not forgotten


def test_pause_stops_the_clock_and_resume_moves_the_deadline() -> None:
    clock = two_hour_clock()
    clock, paused = sla.pause(clock, case_id="c1", cause_id="e1", reason="records", now=at(30))
    assert isinstance(paused[0], SlaPaused) and paused[0].deadline == at(120)
    clock, events = run(clock, 500)
    assert events == []  # a paused clock raises nothing, however long it waits
    clock, resumed = sla.resume(clock, case_id="c1", cause_id="e2", now=at(600))
    assert isinstance(resumed[0], SlaResumed)
    assert sla.deadline(clock, at(600)) == at(690)  # 90 minutes of budget were left
    assert sla.elapsed_seconds(clock, at(630)) == 60 * 60


def test_pause_and_resume_are_idempotent() -> None:
    clock = two_hour_clock()
    clock, first = sla.pause(clock, case_id="c1", cause_id="e1", reason="r", now=at(10))
    clock, second = sla.pause(clock, case_id="c1", cause_id="e1", reason="r", now=at(20))
    assert len(first) == 1 and second == []
    assert sla.elapsed_seconds(clock, at(50)) == 600


def test_a_clock_started_paused_counts_nothing_until_resumed() -> None:
    clock = two_hour_clock(paused=True)
    assert sla.elapsed_seconds(clock, at(1000)) == 0
    clock, _ = sla.resume(clock, case_id="c1", cause_id="e", now=at(1000))
    assert sla.deadline(clock, at(1000)) == at(1120)


def test_meeting_the_clock_stops_alarms_and_is_reported_once() -> None:
    clock, met = sla.meet(two_hour_clock(), case_id="c1", cause_id="acc", now=at(30))
    assert isinstance(met[0], SlaMet)
    assert sla.meet(clock, case_id="c1", cause_id="acc", now=at(31))[1] == []
    assert run(clock, 500)[1] == []


def test_stopped_clock_raises_nothing() -> None:
    clock = sla.stop(two_hour_clock(), now=at(5))
    assert run(clock, 500)[1] == []
    assert sla.next_due(clock, FRACTIONS, at(5)) is None


def test_event_ids_are_deterministic() -> None:
    first = run(two_hour_clock(), 95)[1][0]
    again = run(two_hour_clock(), 99)[1][0]
    assert first.event_id == again.event_id


def test_business_hours_clock_does_not_count_the_weekend() -> None:
    friday_17 = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)
    clock = two_hour_clock(calendar=BusinessCalendar(), now=friday_17)
    assert sla.deadline(clock, friday_17) == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    _, events = sla.evaluate(clock, case_id="c1", fractions=FRACTIONS,
                             now=datetime(2026, 3, 8, 23, 0, tzinfo=UTC))
    assert events == []
    assert sla.elapsed_seconds(clock, datetime(2026, 3, 9, 8, 30, tzinfo=UTC)) == pytest.approx(
        5400
    )
