"""The Task view is pure: events of one case in any order (and twice) give the same status; the
view is capped; an erased case is dropped with its referral and nothing read later (from the
other topics, in no order with CaseErased) brings its text back."""

from __future__ import annotations

from datetime import timedelta
from itertools import permutations

from schemas.cases import CaseContext, CaseErased, CaseTriaged, ReferralCancelled
from schemas.envelope import Event
from schemas.referral import Referral
from schemas.reports import ReviewReport
from schemas.routing import (
    AssignmentAccepted,
    AssignmentCompleted,
    AssignmentOffered,
    CaseCompleted,
)
from services.intake.fhir.taskview import TaskView, progress_of
from services.triage.engine import triage_referral
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


def test_completed_is_final_whatever_order_a_cancel_arrives_in() -> None:
    cancel = ReferralCancelled(event_id="x", case_id="c1", occurred_at=NOW, referrer_id="r")
    done = CaseCompleted(event_id="d", case_id="c1", occurred_at=NOW, report_refs=["r-1"])
    events: list[Event] = [accepted("c1", "spine_surgery"), completed("c1", "spine_surgery"),
                           done, cancel]
    for order in permutations(events):
        view = TaskView()
        for event in order:
            view.apply(event)
        assert progress_of(view.get("c1")).status == "completed"
        assert progress_of(view.get("c1"), cancelled=True).status == "completed"


def test_the_view_forgets_the_least_recently_updated_case_past_its_cap() -> None:
    view = TaskView(max_cases=2)
    for case_id in ("a", "b", "c"):
        view.apply(offered(case_id, "spine_surgery"))
    view.apply(accepted("b", "spine_surgery"))
    view.apply(offered("d", "spine_surgery"))
    assert list(view.cases) == ["b", "d"]


def erased(case_id: str) -> CaseErased:
    return CaseErased(event_id=f"e-{case_id}", case_id=case_id, occurred_at=NOW, referrer_id="r",
                      requested_by="ops-1")


def triaged(case_id: str) -> CaseTriaged:
    referral = Referral.model_validate({
        "referral_id": "r-1", "referral_type": "post_surgery", "region": "lumbar", "age": 50,
        "sex": "F", "surgeries": [{"procedure": "discectomy", "weeks_before_referral": 30}],
        "clinical_question": "Jane Doe: both legs numb and new difficulty starting to pee.",
    })
    return CaseTriaged(event_id=f"t-{case_id}", case_id=case_id, occurred_at=NOW, revision=1,
                       context=CaseContext(referrer_id="r", region="lumbar"),
                       triage=triage_referral(referral))


def test_events_read_after_the_erasure_do_not_bring_the_case_back() -> None:
    view = TaskView()
    view.apply(triaged("c1"))
    assert view.get("c1") is not None and view.get("c1").to_confirm  # type: ignore[union-attr]
    view.apply(erased("c1"))
    report = completed("c1", "spine_surgery")
    view.apply(triaged("c1"))  # the referrer's sentences, from case.triaged.v1
    view.apply(report.model_copy(update={"report": ReviewReport(
        conclusion="agrees", opinion="Recurrent disc; Jane Doe to be seen.")}))
    view.apply(offered("c1", "spine_surgery"))
    assert view.get("c1") is None and "c1" not in view.cases


def test_the_erased_set_is_bounded_and_forgets_the_oldest_first() -> None:
    view = TaskView(max_erased=2)
    for case_id in ("a", "b", "c"):
        view.apply(erased(case_id))
    assert list(view.erased) == ["b", "c"]
