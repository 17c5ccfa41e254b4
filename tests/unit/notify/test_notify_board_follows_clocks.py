"""The board's SLA state follows notify's clocks while the referrer owes records.

Owed records pause only the clocks notify pauses: not the emergency pathway's, not a turnaround
running to routing's deadline. The board showed every case waiting for records as "paused", so
a paged emergency whose 15-minute acknowledgement clock was running sat in the paused column.
"""

from __future__ import annotations

from services.notify.casefile import aggregate
from tests.unit.casefile import events as ev
from tests.unit.casefile.events import case

NOW = ev.at(10)


def _column(summary) -> str:
    snap = aggregate([summary], NOW)
    [state] = [state for state, cards in snap.columns.items() if cards]
    return state


def test_a_paged_emergency_waiting_for_records_is_running_not_paused() -> None:
    emergency = case([ev.received("e", 0, missing=("mri_report",)),
                      ev.triaged("e", 1, urgency="emergency"), ev.emergency("e", 2)])
    assert emergency.waiting_for_records
    assert emergency.sla_state == "on_track"
    assert _column(emergency) == "on_track"


def test_an_emergency_clock_at_risk_shows_its_warning_while_records_are_owed() -> None:
    emergency = case([ev.received("e", 0, missing=("mri_report",)),
                      ev.triaged("e", 1, urgency="emergency"), ev.emergency("e", 2),
                      ev.sla("warning", "e", 8, deadline=17, urgency="emergency")])
    assert emergency.sla_state == "warning"


def test_records_listed_missing_after_a_page_leave_it_running() -> None:
    emergency = case([ev.received("e", 0), ev.triaged("e", 1, urgency="emergency"),
                      ev.emergency("e", 2),
                      ev.received("e", 3, revision=2, missing=("mri_report",))])
    assert emergency.sla_state == "on_track"


def test_a_turnaround_running_to_routings_deadline_is_not_shown_paused() -> None:
    accepted = case([ev.received("t", 0), ev.triaged("t", 1),
                     ev.offered("t", 2, review_due=600), ev.accepted("t", 3),
                     ev.received("t", 4, revision=2, missing=("mri_report",))])
    assert accepted.sla_state == "on_track"


def test_an_acceptance_clock_waiting_for_records_is_still_paused() -> None:
    offered = case([ev.received("o", 0, missing=("mri_report",)), ev.triaged("o", 1),
                    ev.offered("o", 2)])
    assert offered.sla_state == "paused"
    assert _column(offered) == "paused"
    nothing_yet = case([ev.received("n", 0, missing=("mri_report",))])
    assert nothing_yet.sla_state == "paused"
