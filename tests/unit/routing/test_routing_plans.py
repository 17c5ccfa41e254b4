"""Multidisciplinary plans, the emergency path, re-triage and cancellation."""

from __future__ import annotations

from datetime import timedelta

from schemas.cases import CaseErased
from schemas.routing import (
    AssignmentOffered,
    CaseCompleted,
    EmergencyAssigned,
    PlanStepReleased,
    RoutingStopped,
)
from tests.unit.routing.builders import (
    NOW,
    Routing,
    accept,
    cancelled,
    complete,
    context,
    decline,
    shift,
    specialist,
    tick,
    triaged,
    types,
)

TEAM = [specialist("surg"), specialist("rad", role="neuroradiologist"),
        specialist("pain", role="pain_medicine"), specialist("physio", role="physiotherapy")]


def released(events) -> list[str]:
    """Steps the events say are released: by a step's first offer, or by PlanStepReleased when
    nobody could be offered it."""
    return [e.step_id for e in events if isinstance(e, PlanStepReleased)
            or (isinstance(e, AssignmentOffered) and e.attempt == 1)]


def test_radiology_read_comes_before_surgery_and_is_attached() -> None:
    r = Routing(*TEAM)
    first = r.send(triaged(teams=["spine_radiology", "spine_surgery"]))
    assert released(first.events) == ["spine_radiology"]
    assert r.state().steps["spine_surgery"].status == "waiting"
    r.send(accept("case-1", "spine_radiology", "rad"))
    done = r.send(complete("case-1", "spine_radiology", "rad"))
    assert types(done.events) == ["AssignmentCompleted", "AssignmentOffered"]
    offer = done.events[1]
    assert isinstance(offer, AssignmentOffered) and released([offer]) == ["spine_surgery"]
    assert r.state().steps["spine_surgery"].depends_on == ["spine_radiology"]
    # The prior report's ref is served by routing (GET /cases/{case}/reports/{step}).
    read_ref = "/cases/case-1/reports/spine_radiology"
    assert offer.attachments == [read_ref]
    r.send(accept("case-1", "spine_surgery", "surg"))
    last = r.send(complete("case-1", "spine_surgery", "surg"))
    assert types(last.events) == ["AssignmentCompleted", "CaseCompleted"]
    completed = last.events[1]
    assert isinstance(completed, CaseCompleted)
    assert completed.report_refs == [read_ref, "/cases/case-1/reports/spine_surgery"]
    assert r.state().status == "completed"


def test_pain_and_physio_run_in_parallel() -> None:
    r = Routing(*TEAM)
    result = r.send(triaged(teams=["pain_medicine", "physio_rehab"]))
    assert released(result.events) == ["pain_medicine", "physio_rehab"]
    assert (r.offered_to(step_id="pain_medicine"), r.offered_to(step_id="physio_rehab")) == (
        "pain", "physio")


def test_a_second_read_recommendation_adds_a_radiology_step() -> None:
    r = Routing(*TEAM)
    r.send(triaged(teams=["spine_surgery"], second_read="priority_24h"))
    assert list(r.state().steps) == ["spine_radiology", "spine_surgery"]


def test_only_the_assignee_can_complete() -> None:
    r = Routing(*TEAM)
    r.send(triaged())
    r.send(accept("case-1", "spine_surgery", "surg"))
    outcome = r.send(complete("case-1", "spine_surgery", "rad")).outcome
    assert outcome and outcome.status == "not_found"  # rad holds nothing on this case
    outcome = r.send(complete("case-1", "spine_surgery", "surg2")).outcome
    assert outcome and outcome.status == "not_found"


def test_emergency_assigns_the_on_call_surgeon_at_once() -> None:
    r = Routing(specialist("day"), specialist("oncall", role="emergency_on_call"),
                specialist("shift", on_call=[shift(NOW - timedelta(hours=2), 12)]))
    result = r.send(triaged(urgency="emergency", teams=["emergency_department", "spine_surgery"],
                            emergency=True))
    assert types(result.events) == ["EmergencyAssigned"]
    event = result.events[0]
    assert isinstance(event, EmergencyAssigned)
    assert event.specialist_id == "shift"  # an explicit shift covering now comes first
    entry = next(e for e in r.state().record if e.kind == "emergency_assigned")
    assert {c.specialist_id: c.excluded for c in entry.candidates}["day"] == ["not_on_call_now"]


def test_emergency_never_assigns_the_operating_surgeon() -> None:
    r = Routing(specialist("oncall", role="emergency_on_call"))
    result = r.send(triaged(urgency="emergency", emergency=True,
                            ctx=context(excluded_practitioner_ids=["oncall"])))
    assert types(result.events) == ["CaseEscalated"]
    assert result.events[0].escalate_to == "ops"  # type: ignore[attr-defined]


def test_emergency_with_nobody_on_call_retries_on_the_next_tick() -> None:
    r = Routing()
    r.send(triaged(urgency="emergency", emergency=True))
    r.directory.put(specialist("oncall", role="emergency_on_call"))
    result = r.send(tick("case-1", NOW + timedelta(minutes=15)))
    assert types(result.events) == ["EmergencyAssigned"]


def test_retriage_raises_urgency_keeps_declines_and_adds_teams() -> None:
    r = Routing(*TEAM, specialist("surg2"))
    r.send(triaged(urgency="routine"))
    r.send(decline("case-1", "spine_surgery", "surg"))
    assert r.offered_to() == "surg2"
    result = r.send(triaged(urgency="urgent", teams=["spine_surgery", "pain_medicine"],
                            revision=2))
    state = r.state()
    assert state.urgency == "urgent"
    assert state.steps["spine_surgery"].offer.expires_at == NOW + timedelta(minutes=30)
    assert released(result.events) == ["pain_medicine"]
    r.send(decline("case-1", "spine_surgery", "surg2"))
    assert r.offered_to() is None  # "surg" declined before: never asked again


def test_retriage_never_lowers_urgency_and_stale_revisions_are_ignored() -> None:
    r = Routing(*TEAM)
    r.send(triaged(urgency="urgent"))
    r.send(triaged(urgency="routine", revision=2))
    assert r.state().urgency == "urgent"
    assert r.send(triaged(urgency="emergency", emergency=True, revision=1,
                          event_id="other")).events == []


def test_retriage_withdraws_an_offer_from_a_newly_conflicted_specialist() -> None:
    r = Routing(specialist("a"), specialist("b"))
    r.send(triaged())
    result = r.send(triaged(revision=2, ctx=context(excluded_practitioner_ids=["a"])))
    assert types(result.events) == ["OfferExpired", "AssignmentOffered"]
    assert result.events[0].reason == "withdrawn"  # type: ignore[attr-defined]
    assert r.offered_to() == "b"


def test_cancellation_stops_routing_and_names_the_holders() -> None:
    r = Routing(*TEAM)
    r.send(triaged(teams=["pain_medicine", "physio_rehab"]))
    r.send(accept("case-1", "pain_medicine", "pain"))
    result = r.send(cancelled("case-1"))
    assert types(result.events) == ["RoutingStopped"]
    stopped = result.events[0]
    assert isinstance(stopped, RoutingStopped) and stopped.specialist_ids == ["pain", "physio"]
    assert r.loads.holding("pain") == ([], []) and r.loads.holding("physio") == ([], [])
    outcome = r.send(accept("case-1", "physio_rehab", "physio")).outcome
    assert outcome and outcome.status == "conflict"
    assert r.send(triaged(revision=2)).events == []


def test_a_cancel_after_completion_changes_nothing() -> None:
    # The referrer may cancel after the last report: the second opinion is given and stands
    # (notify and intake keep the case completed too).
    r = Routing(*TEAM)
    r.send(triaged())
    r.send(accept("case-1", "spine_surgery", "surg"))
    r.send(complete("case-1", "spine_surgery", "surg"))
    before = r.state().model_copy(deep=True)
    assert before.status == "completed"
    late = r.send(cancelled("case-1"), now=NOW + timedelta(days=3))
    assert late.events == [] and late.load_deltas == []
    after = r.state()
    assert after.status == "completed"
    assert after.steps == before.steps and after.context == before.context


def test_erasure_stops_routing_and_forgets_the_pseudonym() -> None:
    r = Routing(*TEAM)
    r.send(triaged(ctx=context(patient_pseudonym="p-9")))
    r.send(accept("case-1", "spine_surgery", "surg"))
    assert r.loads.reviewers("spine_surgery", [], "p-9") == {"surg"}
    erased = CaseErased(event_id="erase-1", case_id="case-1", occurred_at=NOW,
                        referrer_id="ref-1", requested_by="ops-1")
    assert types(r.send(erased).events) == ["RoutingStopped"]
    assert r.state().context.patient_pseudonym is None
    assert r.loads.reviewers("spine_surgery", [], "p-9") == set()
