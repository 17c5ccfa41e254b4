"""Breach forecast over hand-built histories: queue, capacity, working hours and observed pace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.directory import Specialist
from services.notify.casefile import CaseSummary, apply_event
from services.notify.domain.forecast import forecast
from services.notify.domain.pace import next_working, observe_pace
from tests.unit.casefile import events as ev


def fold(*events: object) -> dict[str, CaseSummary]:
    cases: dict[str, CaseSummary] = {}
    for event in events:
        cases[event.case_id] = apply_event(cases.get(event.case_id), event)  # type: ignore[attr-defined]
    return cases


def surgeon(specialist_id: str, capacity: int = 1, **extra: object) -> Specialist:
    return Specialist.model_validate({"specialist_id": specialist_id, "name": "Dr X",
                                      "role": "neurosurgeon",
                                      "capacity": {"max_open_cases": capacity}, **extra})


# A finished case teaches the team's pace: 20 minutes to accept, 60 minutes to report.
HISTORY = (ev.received("old", 0), ev.triaged("old", 1), ev.offered("old", 10),
           ev.accepted("old", 30), ev.step_completed("old", 90))
NOW = ev.at(200)  # Monday 12:20 UTC, inside default working hours


def declined_case(case_id: str, minutes: float) -> tuple[object, ...]:
    return (ev.received(case_id, minutes), ev.triaged(case_id, minutes + 1),
            ev.offered(case_id, minutes + 2, specialist="sp-9"),
            ev.declined(case_id, minutes + 3, specialist="sp-9"))


def test_pace_is_observed_per_team_from_finished_steps() -> None:
    pace = observe_pace(fold(*HISTORY).values())["spine_surgery"]
    assert pace.median_to_accept() == 20 * 60
    assert pace.median_turnaround() == 60 * 60


def test_a_case_behind_a_full_team_is_at_risk_long_before_any_warning() -> None:
    cases = fold(*HISTORY, *declined_case("c1", 190),
                 ev.received("busy", 140), ev.offered("busy", 150, specialist="sp-1"),
                 ev.accepted("busy", 170, specialist="sp-1"))
    deadline = ev.at(190 + 75)  # 10 % of a 12.5 h budget gone would warn nobody
    risks = forecast(cases.values(), deadlines={"c1": {"s1:acceptance": deadline}},
                     specialists=[surgeon("sp-1")], now=NOW)
    risk = risks["c1"]
    assert risk.at_risk and risk.reason == "no_capacity"
    assert risk.predicted_at == NOW + timedelta(minutes=60 + 20)  # a place frees, then accepts
    assert risk.margin_seconds == -15 * 60
    assert "0 free places among 1 specialists" in (risk.detail or "")


def test_the_same_case_is_on_course_when_a_place_is_free() -> None:
    cases = fold(*HISTORY, *declined_case("c1", 190))
    risks = forecast(cases.values(), deadlines={"c1": {"s1:acceptance": ev.at(265)}},
                     specialists=[surgeon("sp-1", capacity=2)], now=NOW)
    assert not risks["c1"].at_risk and risks["c1"].reason is None
    assert risks["c1"].predicted_at == NOW + timedelta(minutes=20)


def test_the_queue_ahead_counts_only_earlier_waiting_steps() -> None:
    cases = fold(*HISTORY, *declined_case("first", 150), *declined_case("second", 160))
    deadlines = {"first": {"s1:acceptance": ev.at(240)}, "second": {"s1:acceptance": ev.at(240)}}
    risks = forecast(cases.values(), deadlines=deadlines, specialists=[surgeon("sp-1")], now=NOW)
    assert not risks["first"].at_risk  # takes the one free place
    assert risks["second"].at_risk and risks["second"].reason == "no_capacity"
    assert (risks["second"].detail or "").startswith("1 ahead")


def test_nobody_working_until_tomorrow_is_a_risk_with_that_reason() -> None:
    evening = datetime(2025, 3, 3, 19, 0, tzinfo=UTC)  # after 18:00, Monday
    cases = fold(*HISTORY, ev.received("late", 1000), ev.triaged("late", 1001),
                 ev.offered("late", 1002, specialist="sp-9"),
                 ev.declined("late", 1003, specialist="sp-9"))
    deadline = evening + timedelta(hours=4)
    risks = forecast(cases.values(), deadlines={"late": {"s1:acceptance": deadline}},
                     specialists=[surgeon("sp-1", capacity=3)], now=evening)
    assert risks["late"].at_risk and risks["late"].reason == "outside_hours"
    assert risks["late"].predicted_at == datetime(2025, 3, 4, 8, 20, tzinfo=UTC)


def test_no_eligible_specialist_at_all() -> None:
    cases = fold(*declined_case("c1", 190))
    risks = forecast(cases.values(), deadlines={"c1": {"s1:acceptance": ev.at(400)}},
                     specialists=[], now=NOW)
    assert risks["c1"].reason == "no_specialist" and risks["c1"].predicted_at is None


def test_an_accepted_step_is_at_risk_when_the_team_reports_slower_than_its_deadline() -> None:
    cases = fold(*HISTORY, ev.received("c1", 150), ev.offered("c1", 160),
                 ev.accepted("c1", 170))
    slow = forecast(cases.values(), deadlines={"c1": {"s1:turnaround": ev.at(210)}},
                    specialists=[], now=NOW)
    assert slow["c1"].at_risk and slow["c1"].reason == "slow_turnaround"
    fine = forecast(cases.values(), deadlines={"c1": {"s1:turnaround": ev.at(240)}},
                    specialists=[], now=NOW)
    assert not fine["c1"].at_risk


def test_breached_emergency_and_closed_cases_are_not_forecast() -> None:
    cases = fold(*HISTORY, *declined_case("late", 100),
                 ev.received("em", 190), ev.triaged("em", 191, urgency="emergency"),
                 ev.emergency("em", 192))
    deadlines = {"late": {"s1:acceptance": ev.at(150)}, "em": {"s1:acceptance": ev.at(300)},
                 "old": {"s1:turnaround": ev.at(300)}}
    assert forecast(cases.values(), deadlines=deadlines, specialists=[], now=NOW) == {}


def test_working_hours_respect_time_zone_and_absence() -> None:
    spec = surgeon("sp-1", time_zone="America/New_York", absences=[
        {"starts_at": "2025-03-03T13:00:00Z", "ends_at": "2025-03-04T20:00:00Z"}])
    # Monday 12:20 UTC is 07:20 in New York: starts at 08:00 local = 13:00 UTC, but is away
    # from then until Tuesday 20:00 UTC (15:00 local), so works from then on.
    assert next_working(spec, NOW) == datetime(2025, 3, 4, 20, 0, tzinfo=UTC)


def test_the_timers_look_keeps_no_case_and_forecasts_as_over_the_whole_list() -> None:
    """The timer feeds its look one row at a time (in table order) and drops each: the look
    keeps what the forecast needs (steps, queues, pace), never a case, and comes out as the
    forecast over the whole list does."""
    import gc

    from services.notify.casefile.models import CaseOutline
    from services.notify.dashboard.ops_watch import OpsWatch

    def history() -> dict[str, CaseSummary]:
        return fold(*HISTORY, *declined_case("first", 150), *declined_case("second", 160),
                    ev.received("busy", 140), ev.offered("busy", 150, specialist="sp-1"))

    deadlines = {"first": {"s1:acceptance": ev.at(240)}, "second": {"s1:acceptance": ev.at(240)},
                 "busy": {"s1:acceptance": ev.at(400)}}
    whole = forecast(history().values(), deadlines=deadlines, specialists=[surgeon("sp-1")],
                     now=NOW)
    look = OpsWatch(specialists=lambda: [surgeon("sp-1")]).look(NOW, with_forecast=True)
    for case_id in ("second", "busy", "old", "first"):  # any order
        look.add(history()[case_id], deadlines.get(case_id, {}))
    gc.collect()
    assert not [o for o in gc.get_objects() if isinstance(o, CaseOutline)
                and o.case_id in ("first", "second", "busy", "old")]
    risks = look.finish(report=False).risks
    assert risks == whole and risks["second"].reason == "no_capacity"
