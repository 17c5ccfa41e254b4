"""The board's deadline of a turnaround clock follows routing's latest ReviewDeadlineChanged,
whatever order notify reads it and its own older SLA events in (two topics, no order between
them): a warning raised against the old deadline and read back after the change put the old,
later deadline back on the card, which then looked on course while the case was about to breach.
"""

from __future__ import annotations

from schemas.routing import ReviewDeadlineChanged
from tests.unit.casefile import events as ev


def moved(minutes: float, *, to: float) -> ReviewDeadlineChanged:
    return ReviewDeadlineChanged(
        event_id=f"moved-{minutes}", case_id="c1", occurred_at=ev.at(minutes), step_id="s1",
        team="spine_surgery", deadline=ev.at(to), specialist_id="sp-1")


def test_an_older_warning_read_after_the_change_keeps_the_new_deadline() -> None:
    summary = ev.case([
        ev.received("c1", 0), ev.offered("c1", 1), ev.accepted("c1", 2),
        moved(710, to=800),
        ev.sla("warning", "c1", 700, deadline=1000, clock="turnaround"),  # raised before it
    ])
    clock = summary.clocks["s1:turnaround"]
    assert clock.deadline == ev.at(800)
    assert clock.warned_fraction == 0.75  # the warning itself still counts


def test_a_warning_read_before_the_change_and_a_later_one_agree() -> None:
    summary = ev.case([
        ev.received("c1", 0), ev.offered("c1", 1), ev.accepted("c1", 2),
        ev.sla("warning", "c1", 700, deadline=1000, clock="turnaround"),
        moved(710, to=800),
    ])
    assert summary.clocks["s1:turnaround"].deadline == ev.at(800)
    summary = ev.case([
        *[ev.received("c1", 0), ev.offered("c1", 1), ev.accepted("c1", 2)], moved(710, to=800),
        ev.sla("warning", "c1", 720, deadline=800, clock="turnaround", elapsed_fraction=0.9),
    ])
    clock = summary.clocks["s1:turnaround"]
    assert clock.deadline == ev.at(800) and clock.warned_fraction == 0.9


def test_a_change_read_after_a_later_ticks_warning_still_moves_the_deadline() -> None:
    """The warning is dated by notify's tick (720), later than routing's change (710), and
    still carries the old deadline: the change stands."""
    summary = ev.case([
        ev.received("c1", 0), ev.offered("c1", 1), ev.accepted("c1", 2),
        ev.sla("warning", "c1", 720, deadline=1000, clock="turnaround"),
        moved(710, to=800),
    ])
    assert summary.clocks["s1:turnaround"].deadline == ev.at(800)


def test_a_pause_dated_before_an_alarm_already_applied_still_pauses() -> None:
    """A pause is dated by its cause (intake's revision at 30), the warning by the tick (40)."""
    summary = ev.case([
        ev.received("c1", 0), ev.offered("c1", 1),
        ev.sla("warning", "c1", 40, deadline=100),
        ev.sla("paused", "c1", 30, deadline=100),
    ])
    clock = summary.clocks["s1:acceptance"]
    assert clock.paused and clock.warned_fraction == 0.75
    resumed = ev.case([
        ev.received("c1", 0), ev.offered("c1", 1), ev.sla("paused", "c1", 30, deadline=100),
        ev.sla("warning", "c1", 40, deadline=100), ev.sla("resumed", "c1", 35, deadline=105),
    ])
    assert not resumed.clocks["s1:acceptance"].paused
