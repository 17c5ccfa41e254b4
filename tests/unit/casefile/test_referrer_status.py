"""The referrer's status per team: who accepted, when each report is due, and "assigned" only
once every planned team has accepted (it used to say so after the first of two)."""

from __future__ import annotations

from schemas.routing import PlanExtended
from services.notify.casefile import apply_event, referrer_status
from tests.unit.casefile import events as ev


def fold(*events):  # type: ignore[no-untyped-def]
    summary = None
    for event in events:
        summary = apply_event(summary, event)
    assert summary is not None
    return summary


def test_two_teams_one_accepted_is_not_assigned_and_each_team_is_listed() -> None:
    summary = fold(
        ev.received("c1", 0), ev.triaged("c1", 1, teams=("pain_medicine", "physio_rehab")),
        ev.offered("c1", 2, step="pain", team="pain_medicine", specialist="sp-p",
                   review_due=600),
        ev.offered("c1", 2, step="physio", team="physio_rehab", specialist="sp-f",
                   review_due=900),
        ev.accepted("c1", 3, step="pain", team="pain_medicine", specialist="sp-p"),
    )
    status = referrer_status(summary)
    assert not status.assigned
    assert status.status == "partially_accepted"  # never "accepted" while a team is not
    assert [(t.team, t.state, t.accepted_by, t.report_due) for t in status.team_states] == [
        ("pain_medicine", "accepted", "sp-p", ev.at(600)),
        ("physio_rehab", "offered", None, ev.at(900)),  # an offeree is never named
    ]
    assert status.expected_report_at == ev.at(900)
    both = apply_event(summary, ev.accepted("c1", 4, step="physio", team="physio_rehab",
                                            specialist="sp-f"))
    assert referrer_status(both).assigned
    assert referrer_status(both).status == "accepted"


def test_a_team_added_by_a_reviewer_appears_with_its_deadline() -> None:
    summary = fold(ev.received("c1", 0), ev.triaged("c1", 1, teams=("spine_surgery",)))
    extended = PlanExtended(event_id="ext-1", case_id="c1", occurred_at=ev.at(5),
                            step_id="spine_radiology", team="spine_radiology",
                            requested_by="sp-1", requested_from_step="spine_surgery",
                            reason="second read", deadline=ev.at(1440))
    status = referrer_status(apply_event(summary, extended))
    assert [(t.team, t.state, t.report_due) for t in status.team_states] == [
        ("spine_radiology", "pending", ev.at(1440))]
    assert "spine_radiology" in status.teams and not status.assigned
