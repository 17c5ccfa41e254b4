"""aggregate: state columns, team load, breaches, attainment and percentiles at a fixed clock."""

from __future__ import annotations

import pytest

from services.notify.casefile import CaseSummary, aggregate
from services.notify.casefile.aggregate import percentile
from tests.unit.casefile import events as ev
from tests.unit.casefile.events import case

NOW = ev.at(200)


def board() -> list[CaseSummary]:
    """One case per column, plus one completed and one cancelled."""
    return [
        case([ev.received("on-track", 0), ev.triaged("on-track", 5), ev.offered("on-track", 150)]),
        case([ev.received("warning", 0), ev.triaged("warning", 5, urgency="soon"),
              ev.offered("warning", 10, specialist="sp-2", urgency="soon"),
              ev.sla("warning", "warning", 190, deadline=250, urgency="soon")]),
        case([ev.received("late", 0), ev.triaged("late", 5), ev.offered("late", 10),
              ev.accepted("late", 20),
              ev.sla("breached", "late", 181, deadline=180, clock="turnaround")]),
        case([ev.received("paused", 0, missing=("mri",))]),
        case([ev.received("done", 0), ev.triaged("done", 10), ev.offered("done", 20),
              ev.accepted("done", 50), ev.step_completed("done", 110),
              ev.case_completed("done", 120)]),
        case([ev.received("gone", 0), ev.cancelled("gone", 3)]),
    ]


def test_percentile_interpolates_between_ranks() -> None:
    values = [float(v) for v in range(10, 0, -1)]
    assert percentile(values, 50) == 5.5
    assert percentile(values, 90) == pytest.approx(9.1)
    assert percentile([7.0], 90) == 7.0
    assert percentile([], 50) is None


def test_open_cases_fall_into_their_sla_column_and_closed_ones_are_totals() -> None:
    snap = aggregate(board(), NOW)
    assert {state: [c.case_id for c in cards] for state, cards in snap.columns.items()} == {
        "on_track": ["on-track"], "warning": ["warning"], "breached": ["late"],
        "paused": ["paused"],
    }
    assert snap.column_counts == {"on_track": 1, "warning": 1, "breached": 1, "paused": 1}
    assert snap.totals == {"open": 4, "completed": 1, "cancelled": 1}


def test_cards_show_assignee_offeree_and_time_to_deadline() -> None:
    snap = aggregate(board(), NOW)
    late = snap.columns["breached"][0]
    assert late.assignees == ["sp-1"] and late.seconds_to_deadline == -20 * 60
    warning = snap.columns["warning"][0]
    assert warning.offered_to == ["sp-2"] and warning.seconds_to_deadline == 50 * 60
    assert warning.urgency == "soon" and warning.teams == ["spine_surgery"]
    assert snap.columns["paused"][0].waiting_for_records
    assert snap.columns["on_track"][0].deadline is None


def test_cards_are_ordered_most_urgent_deadline_first_and_capped() -> None:
    cases = [
        case([ev.offered(f"c{i}", 0), ev.sla("breached", f"c{i}", 100, deadline=deadline)])
        for i, deadline in enumerate([90, 30, 60])
    ]
    snap = aggregate(cases, NOW, max_cards=2)
    assert [c.case_id for c in snap.columns["breached"]] == ["c1", "c2"]
    assert snap.column_counts["breached"] == 3


def test_team_load_counts_waiting_and_in_progress_with_the_oldest_wait() -> None:
    snap = aggregate(board(), NOW)
    assert [load.team for load in snap.team_load] == ["spine_surgery"]
    load = snap.team_load[0]
    assert (load.open_cases, load.waiting, load.in_progress) == (3, 2, 1)
    assert load.oldest_waiting_since == ev.at(10)
    assert load.oldest_waiting_seconds == 190 * 60


def test_a_triaged_team_without_an_offer_waits_since_triage() -> None:
    snap = aggregate([case([ev.triaged("c1", 40, teams=("psychology",))])], NOW)
    assert snap.team_load[0].team == "psychology"
    assert snap.team_load[0].oldest_waiting_seconds == 160 * 60


def test_recent_breaches_are_newest_first_and_open_ones_keep_counting() -> None:
    cases = [
        case([ev.offered("a", 0), ev.sla("breached", "a", 61, deadline=60)]),
        case([ev.offered("b", 0), ev.sla("breached", "b", 91, deadline=90),
              ev.accepted("b", 100)]),
    ]
    snap = aggregate(cases, NOW, max_breaches=5)
    assert [(b.case_id, b.still_open) for b in snap.recent_breaches] == [("b", False),
                                                                         ("a", True)]
    assert snap.recent_breaches[0].late_by_seconds == 60.0
    assert snap.recent_breaches[1].late_by_seconds == 140 * 60
    assert snap.recent_breaches[1].team == "spine_surgery"
    assert len(aggregate(cases, NOW, max_breaches=1).recent_breaches) == 1


def test_attainment_is_met_over_decided_clocks_per_urgency_team_and_clock() -> None:
    cases = [
        case([ev.offered(f"m{i}", 0, urgency="routine"), ev.accepted(f"m{i}", 10,
                                                                      urgency="routine")])
        for i in range(3)
    ] + [case([ev.offered("x", 0, urgency="routine", team="pain_medicine"),
               ev.sla("breached", "x", 100, deadline=90, urgency="routine")])]
    snap = aggregate(cases, NOW)
    assert snap.attainment_by_urgency == {"routine": 75.0}
    assert snap.attainment_by_team == {"pain_medicine": 0.0, "spine_surgery": 100.0}
    assert snap.attainment_by_clock == {"acceptance": 75.0}


def test_stage_and_acceptance_percentiles_over_cases() -> None:
    cases = [
        case([ev.received(f"c{i}", 0), ev.triaged(f"c{i}", minutes), ev.offered(f"c{i}", 20),
              ev.accepted(f"c{i}", 20 + minutes)])
        for i, minutes in enumerate([1, 2, 3, 4, 10])
    ]
    snap = aggregate(cases, NOW)
    triage = snap.stage_durations["triage"]
    assert (triage.count, triage.p50_seconds) == (5, 180.0)
    assert triage.p90_seconds == pytest.approx(456.0)
    assert snap.acceptance_times.p50_seconds == 180.0
    assert snap.stage_durations["report"].count == 0
    assert snap.stage_durations["report"].p50_seconds is None


def test_offer_outcomes_add_up_with_an_acceptance_rate() -> None:
    cases = [
        case([ev.offered("a", 0), ev.declined("a", 5), ev.offered("a", 6, specialist="sp-2",
                                                                  attempt=2),
              ev.accepted("a", 9, specialist="sp-2")]),
        case([ev.offered("b", 0), ev.expired("b", 60)]),
    ]
    offers = aggregate(cases, NOW).offer_outcomes
    assert (offers.offered, offers.accepted, offers.declined, offers.expired) == (3, 1, 1, 1)
    assert offers.acceptance_rate_percent == pytest.approx(33.3)


def test_same_input_same_snapshot_and_the_clock_must_be_aware() -> None:
    assert aggregate(board(), NOW) == aggregate(board(), NOW)
    assert aggregate([], NOW).acceptance_times.count == 0
    with pytest.raises(ValueError):
        aggregate(board(), NOW.replace(tzinfo=None))
