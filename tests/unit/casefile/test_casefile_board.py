"""Deadlines from notify's clocks, filters, emergencies and trends, over hand-built cases."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.notify.casefile import CaseSummary, aggregate, apply_event
from services.notify.casefile.filters import CaseFilter, facets
from services.notify.casefile.trends import ALL, trends
from services.notify.domain.forecast import Risk
from tests.unit.casefile import events as ev
from tests.unit.casefile.events import case


def offered_case() -> CaseSummary:
    return case([ev.received("c1", 0, referrer="ref-9"), ev.triaged("c1", 1),
                 ev.offered("c1", 2)])


def test_a_card_takes_its_deadline_from_notifys_clock_before_any_sla_event() -> None:
    deadlines = {"c1": {"s1:acceptance": ev.at(62)}}
    snapshot = aggregate([offered_case()], ev.at(32), deadlines=lambda cid: deadlines.get(cid, {}))
    card = snapshot.columns["on_track"][0]
    assert card.deadline == ev.at(62) and card.deadline_clock == "acceptance"
    assert card.seconds_to_deadline == 30 * 60
    late = aggregate([offered_case()], ev.at(70), deadlines=lambda cid: deadlines.get(cid, {}))
    assert late.columns["on_track"][0].seconds_to_deadline == -8 * 60  # negative once past
    unknown = aggregate([offered_case()], ev.at(32))  # no clock source: nothing invented
    assert unknown.columns["on_track"][0].deadline is None


def test_the_earliest_running_clock_wins() -> None:
    deadlines = {"c1": {"s1:turnaround": ev.at(500), "s2:acceptance": ev.at(90)}}
    card = aggregate([offered_case()], ev.at(32), deadlines=lambda cid: deadlines[cid]) \
        .columns["on_track"][0]
    assert (card.deadline, card.deadline_clock) == (ev.at(90), "acceptance")


def test_risk_marks_the_card_with_its_reason_and_is_counted() -> None:
    risk = Risk("c1", "s1", "spine_surgery", "acceptance", ev.at(62), ev.at(80), True,
                "no_capacity", "2 ahead")
    snapshot = aggregate([offered_case()], ev.at(32), risks={"c1": risk})
    card = snapshot.columns["on_track"][0]
    assert (card.at_risk, card.risk_reason, card.risk_detail) == (True, "no_capacity", "2 ahead")
    assert snapshot.at_risk_count == 1


def test_emergencies_are_paged_rows_not_waiting_team_load() -> None:
    emergency = case([ev.received("em", 0), ev.triaged(
        "em", 1, urgency="emergency", teams=("emergency_department", "spine_surgery"))])
    snapshot = aggregate([emergency], ev.at(2))
    assert snapshot.team_load == []  # nobody queues for a page
    assert [(r.state, r.seconds_since_triage) for r in snapshot.emergencies] == [("paging", 60)]
    paged = apply_event(emergency, ev.emergency("em", 1.5))
    row = aggregate([paged], ev.at(2)).emergencies[0]
    assert (row.state, row.paged_to, row.paged_at) == ("paged", ["oncall-1"], ev.at(1.5))
    acked = apply_event(paged, ev.sla("met", "em", 3, deadline=16, urgency="emergency"))
    row = aggregate([acked], ev.at(4)).emergencies[0]
    assert (row.state, row.acknowledged_at) == ("acknowledged", ev.at(3))
    assert aggregate([acked], ev.at(4)).team_load == []


def test_the_emergency_department_never_waits_in_team_load() -> None:
    urgent = case([ev.received("u", 0), ev.triaged(
        "u", 1, teams=("emergency_department", "pain_medicine"))])
    assert [t.team for t in aggregate([urgent], ev.at(5)).team_load] == ["pain_medicine"]


def test_filters_match_every_given_field() -> None:
    c1 = offered_case()
    assert CaseFilter(team="spine_surgery", urgency="urgent", status="offered",
                      sla="on_track", referrer="ref-9", q="C1").matches(c1)
    for miss in (CaseFilter(team="oncology"), CaseFilter(urgency="routine"),
                 CaseFilter(status="accepted"), CaseFilter(sla="breached"),
                 CaseFilter(referrer="ref-1"), CaseFilter(q="c2"), CaseFilter(sla="at_risk")):
        assert not miss.matches(c1), miss
    assert CaseFilter(sla="at_risk").matches(c1, at_risk=True)
    assert CaseFilter(team="x", q="1").active() == {"team": "x", "q": "1"}


def test_filters_are_bounded_and_name_the_bad_field() -> None:
    with pytest.raises(ValidationError, match="q"):
        CaseFilter(q="x" * 65)
    with pytest.raises(ValidationError, match="sla"):
        CaseFilter(sla="late")  # type: ignore[arg-type]


def test_facets_list_what_the_cases_hold() -> None:
    found = facets([offered_case(), case([ev.received("c2", 0, referrer="ref-1")])])
    assert (found.teams, found.urgencies, found.referrers) == (
        ["spine_surgery"], ["urgent"], ["ref-1", "ref-9"])


def test_trends_attainment_per_day_and_team() -> None:
    met = case([ev.received("a", 0), ev.offered("a", 10), ev.accepted("a", 20),
                ev.sla("met", "a", 20, deadline=60)])
    late = case([ev.received("b", 0), ev.offered("b", 10, team="pain_medicine"),
                 ev.sla("breached", "b", 70, deadline=60)])
    result = trends([met, late], ev.at(24 * 60 + 5), days=3)
    assert [str(d) for d in result.attainment.days] == ["2025-03-02", "2025-03-03", "2025-03-04"]
    assert result.attainment.percent[ALL] == [None, 50.0, None]
    assert result.attainment.percent["spine_surgery"] == [None, 100.0, None]
    assert result.attainment.percent["pain_medicine"] == [None, 0.0, None]
    assert result.attainment.decided[ALL] == [0, 2, 0]


def test_trends_queue_length_and_oldest_wait_over_time() -> None:
    waited = case([ev.received("a", 0), ev.offered("a", 60), ev.accepted("a", 180)])
    still = case([ev.received("b", 0), ev.offered("b", 120)])
    emergency = case([ev.received("e", 0), ev.triaged("e", 1, urgency="emergency"),
                      ev.emergency("e", 2)])
    result = trends([waited, still, emergency], ev.at(240), hours=4, points=5)
    assert result.queues.at == [ev.at(0), ev.at(60), ev.at(120), ev.at(180), ev.at(240)]
    assert result.queues.length == {"spine_surgery": [0, 1, 2, 1, 1]}
    assert result.queues.oldest_seconds["spine_surgery"] == [None, 0, 3600, 3600, 7200]


def test_trends_acceptance_rate_and_time_to_accept_per_team() -> None:
    cases = [
        case([ev.received("a", 0), ev.offered("a", 10), ev.accepted("a", 20)]),
        case([ev.received("b", 0), ev.offered("b", 10), ev.declined("b", 12),
              ev.offered("b", 15, specialist="sp-2", attempt=2),
              ev.accepted("b", 45, specialist="sp-2")]),
        case([ev.received("c", 0), ev.offered("c", 10, team="pain_medicine"),
              ev.expired("c", 70, team="pain_medicine"),
              ev.offered("c", 71, team="pain_medicine", attempt=2),
              ev.expired("c", 72, team="pain_medicine", reason="withdrawn")]),
    ]
    rows = {r.team: r for r in trends(cases, ev.at(100)).acceptance}
    surgery = rows["spine_surgery"]
    assert (surgery.offers, surgery.accepted, surgery.declined) == (3, 2, 1)
    assert surgery.acceptance_rate_percent == 66.7
    assert (surgery.p50_seconds, surgery.p90_seconds) == (20 * 60, 28 * 60)
    pain = rows["pain_medicine"]
    assert (pain.offers, pain.expired, pain.acceptance_rate_percent) == (2, 1, 0.0)
