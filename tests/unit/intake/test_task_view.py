"""The Task view is pure: events of one case in any order (and twice) give the same status; the
view is capped; an erased case is dropped with its referral."""

from __future__ import annotations

from datetime import timedelta
from itertools import permutations

from schemas.cases import CaseErased, ReferralCancelled
from schemas.envelope import Event
from schemas.routing import AssignmentAccepted, AssignmentCompleted, AssignmentOffered
from services.intake.fhir.taskview import TaskView, progress_of
from tests.intake.intake_fakes import NOW

TWO_TEAMS = ("spine_radiology", "spine_surgery")


def offered(case_id: str, team: str) -> AssignmentOffered:
    return AssignmentOffered(
        event_id=f"o-{team}", case_id=case_id, occurred_at=NOW, step_id=team, team=team,
        specialist_id=f"{team}-1", urgency="urgent", offer_expires_at=NOW + timedelta(hours=2),
        attempt=1, deadline=NOW + timedelta(days=1 + TWO_TEAMS.index(team)))


def accepted(case_id: str, team: str) -> AssignmentAccepted:
    return AssignmentAccepted(event_id=f"a-{team}", case_id=case_id, step_id=team, team=team,
                              occurred_at=NOW + timedelta(hours=1), specialist_id=f"{team}-1",
                              urgency="urgent")


def completed(case_id: str, team: str) -> AssignmentCompleted:
    return AssignmentCompleted(event_id=f"c-{team}", case_id=case_id, step_id=team, team=team,
                               occurred_at=NOW + timedelta(hours=5), specialist_id=f"{team}-1")


def status_after(events: list[Event]) -> tuple[str, str]:
    view = TaskView()
    for event in events:
        view.apply(event)
    state = progress_of(view.get("c1"))
    return state.status, state.business_text


def test_any_order_and_redelivery_give_the_same_status() -> None:
    events: list[Event] = [offered("c1", "spine_radiology"), accepted("c1", "spine_radiology"),
                           completed("c1", "spine_radiology"), offered("c1", "spine_surgery")]
    outcomes = {status_after([*order, *order]) for order in permutations(events)}
    assert outcomes == {("in-progress", "1 of 2 team(s) reported; the rest are in review")}


def test_one_of_two_teams_accepted_says_so_and_the_deadline_is_the_latest_step() -> None:
    view = TaskView()
    for event in (offered("c1", "spine_radiology"), offered("c1", "spine_surgery"),
                  accepted("c1", "spine_surgery")):
        view.apply(event)
    state = progress_of(view.get("c1"))
    assert (state.status, state.business_text) == ("accepted", "1 of 2 team(s) accepted")
    assert view.cases["c1"].deadline == NOW + timedelta(days=2)


def test_cancelled_wins_over_progress_and_erasure_forgets_the_case() -> None:
    view = TaskView()
    view.apply(accepted("c1", "spine_surgery"))
    view.apply(ReferralCancelled(event_id="x", case_id="c1", occurred_at=NOW, referrer_id="r"))
    assert progress_of(view.get("c1")).status == "cancelled"
    view.apply(CaseErased(event_id="y", case_id="c1", occurred_at=NOW, referrer_id="r",
                          requested_by="ops-1"))
    assert view.get("c1") is None


def test_the_view_forgets_the_least_recently_updated_case_past_its_cap() -> None:
    view = TaskView(max_cases=2)
    for case_id in ("a", "b", "c"):
        view.apply(offered(case_id, "spine_surgery"))
    view.apply(accepted("b", "spine_surgery"))
    view.apply(offered("d", "spine_surgery"))
    assert list(view.cases) == ["b", "d"]
