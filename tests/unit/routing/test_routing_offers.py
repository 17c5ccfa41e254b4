"""Offers as reservations: accept, decline, timeout, re-offer, escalation, one winner."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.directory import Capacity
from schemas.routing import AssignmentOffered, CaseEscalated, PlanStepReleased
from tests.unit.routing.builders import (
    NOW,
    Routing,
    accept,
    context,
    decline,
    specialist,
    tick,
    triaged,
    types,
)

SOON_TIMEOUT = timedelta(hours=4)


def test_triage_releases_the_step_and_offers_it() -> None:
    r = Routing(specialist("a"))
    result = r.send(triaged())
    assert types(result.events) == ["AssignmentOffered"]  # the first offer says it is released
    offer = result.events[0]
    assert isinstance(offer, AssignmentOffered)
    assert (offer.specialist_id, offer.team, offer.step_id, offer.urgency, offer.attempt) == (
        "a", "spine_surgery", "spine_surgery", "soon", 1)
    assert offer.offer_expires_at == NOW + SOON_TIMEOUT


def test_accepting_assigns_the_step() -> None:
    r = Routing(specialist("a"))
    r.send(triaged())
    result = r.send(accept("case-1", "spine_surgery", "a"))
    assert result.outcome and result.outcome.status == "ok"
    assert types(result.events) == ["AssignmentAccepted"]
    step = r.state().steps["spine_surgery"]
    assert (step.status, step.assignee, step.offer) == ("assigned", "a", None)
    assert r.loads.holding("a") == ([], ["case-1/spine_surgery"])


def test_decline_offers_the_next_candidate_and_never_the_decliner_again() -> None:
    r = Routing(specialist("a"), specialist("b"))
    r.send(triaged())
    result = r.send(decline("case-1", "spine_surgery", "a"))
    assert types(result.events) == ["AssignmentDeclined", "AssignmentOffered"]
    assert r.offered_to() == "b"
    result = r.send(decline("case-1", "spine_surgery", "b"))
    assert types(result.events) == ["AssignmentDeclined", "CaseEscalated"]


def test_timeout_reoffers_then_escalates_to_team_lead_then_ops() -> None:
    r = Routing(specialist("a"), specialist("b"))
    r.send(triaged())
    assert r.send(tick("case-1", NOW + SOON_TIMEOUT - timedelta(seconds=1))).events == []
    result = r.send(tick("case-1", NOW + SOON_TIMEOUT))
    assert types(result.events) == ["OfferExpired", "AssignmentOffered"]
    assert r.offered_to() == "b"
    result = r.send(tick("case-1", NOW + 2 * SOON_TIMEOUT))
    assert types(result.events) == ["OfferExpired", "CaseEscalated"]
    first = result.events[1]
    assert isinstance(first, CaseEscalated)
    assert (first.escalate_to, first.team_lead_id, first.attempts) == ("team_lead", "lead-1", 2)
    assert "already_offered_this_case" in first.reason
    result = r.send(tick("case-1", NOW + 3 * SOON_TIMEOUT))
    assert [(type(e).__name__, getattr(e, "escalate_to", None)) for e in result.events] == [
        ("CaseEscalated", "ops")]
    assert r.send(tick("case-1", NOW + 4 * SOON_TIMEOUT)).events == []  # ops already knows


def test_escalated_step_is_offered_when_someone_joins_the_directory() -> None:
    r = Routing(specialist("a", licences=[]))
    r.send(triaged())
    assert r.state().steps["spine_surgery"].status == "escalated"
    r.directory.put(specialist("new"))
    result = r.send(tick("case-1", NOW + SOON_TIMEOUT))
    assert types(result.events) == ["AssignmentOffered"] and r.offered_to() == "new"


def test_without_a_team_lead_escalation_goes_to_ops() -> None:
    r = Routing(specialist("a", team_lead_id=None, licences=[]))
    result = r.send(triaged())
    escalated = result.events[-1]
    assert isinstance(escalated, CaseEscalated) and escalated.escalate_to == "ops"
    assert "not licensed" in escalated.reason


def test_two_accepts_at_once_exactly_one_wins() -> None:
    # a's offer times out and b is offered; both then press accept at the same moment.
    for order in (("a", "b"), ("b", "a")):
        r = Routing(specialist("a"), specialist("b"))
        r.send(triaged())
        r.send(tick("case-1", NOW + SOON_TIMEOUT))
        at = NOW + SOON_TIMEOUT + timedelta(minutes=1)
        outcomes = {sid: r.send(accept("case-1", "spine_surgery", sid, at)).outcome
                    for sid in order}
        assert outcomes["b"] and outcomes["b"].status == "ok"
        assert outcomes["a"] and outcomes["a"].status == "conflict"
        assert r.state().steps["spine_surgery"].assignee == "b"


def test_a_non_holder_cannot_take_an_assigned_step() -> None:
    r = Routing(specialist("a"), specialist("b"))
    r.send(triaged())
    r.send(accept("case-1", "spine_surgery", "a"))
    before = r.state()
    outcome = r.send(accept("case-1", "spine_surgery", "b")).outcome
    # b never held anything here: the same answer as for a case that does not exist (F2),
    # and nothing recorded (F1).
    assert outcome and (outcome.status, outcome.detail) == (
        "not_found", "no offer or assignment of yours here")
    assert r.state() == before


def test_a_late_accept_expires_the_offer_and_is_refused() -> None:
    r = Routing(specialist("a"), specialist("b"))
    r.send(triaged())
    result = r.send(accept("case-1", "spine_surgery", "a", NOW + SOON_TIMEOUT))
    assert result.outcome and result.outcome.status == "conflict"
    assert types(result.events) == ["OfferExpired", "AssignmentOffered"]


def test_an_answer_after_expiry_is_refused_naming_it_whether_or_not_the_tick_ran() -> None:
    r = Routing(specialist("a"))
    r.send(triaged("case-1"))
    r.send(triaged("case-2"))
    late = NOW + SOON_TIMEOUT  # the offers' expiry itself: no longer open
    r.send(tick("case-2", late))
    answers = [r.send(accept("case-1", "spine_surgery", "a", late)).outcome,
               r.send(accept("case-2", "spine_surgery", "a", late)).outcome,
               r.send(decline("case-1", "spine_surgery", "a", late)).outcome]
    assert {(o.status, o.reason, o.detail) for o in answers if o} == {
        ("conflict", "offer_expired", "your offer expired before this answer")}


def test_redelivery_changes_nothing() -> None:
    r = Routing(specialist("a"), specialist("b"))
    r.send(triaged())
    before = r.state()
    assert r.send(triaged()).events == [] and r.state() == before
    cmd = accept("case-1", "spine_surgery", "a")
    first = r.send(cmd)
    again = r.send(cmd)
    assert again.events == [] and again.outcome == first.outcome


def test_capacity_counts_offers_held_on_other_cases() -> None:
    one_at_a_time = Capacity(max_open_cases=1, max_new_per_day=5)
    r = Routing(specialist("a", capacity=one_at_a_time), specialist("b", capacity=one_at_a_time))
    r.send(triaged("case-1"))
    r.send(triaged("case-2"))
    assert {r.offered_to("case-1"), r.offered_to("case-2")} == {"a", "b"}


def test_daily_capacity_counts_todays_assignments() -> None:
    r = Routing(specialist("a", capacity=Capacity(max_open_cases=10, max_new_per_day=1)),
                specialist("b"))
    r.send(triaged("case-1"))
    r.send(accept("case-1", "spine_surgery", "a"))
    r.send(triaged("case-2"))
    assert r.offered_to("case-2") == "b"


conflict_pool = st.sampled_from(["i1", "i2", "i3"])


@settings(max_examples=60, deadline=None)
@given(
    people=st.lists(st.tuples(conflict_pool, st.sampled_from(["g1", "g2", "g3"])),
                    min_size=1, max_size=8),
    surgeon=st.integers(0, 7), institution=conflict_pool, group=st.sampled_from(["g1", "g2"]),
)
def test_original_surgeon_institution_and_group_are_never_offered(
    people: list[tuple[str, str]], surgeon: int, institution: str, group: str
) -> None:
    specs = [specialist(f"s{i}", institution_id=inst, group_id=grp)
             for i, (inst, grp) in enumerate(people)]
    r = Routing(*specs)
    ctx = context(excluded_practitioner_ids=[f"s{surgeon}"],
                  excluded_institution_ids=[institution], excluded_group_ids=[group])
    r.send(triaged(ctx=ctx))
    for _ in range(len(specs) + 1):  # decline until the list runs out
        holder = r.offered_to()
        if holder is None:
            break
        r.send(decline("case-1", "spine_surgery", holder))
    offered = {e.specialist_id for e in r.sent if isinstance(e, AssignmentOffered)}
    by_id = {s.specialist_id: s for s in specs}
    for sid in offered:
        assert sid != f"s{surgeon}"
        assert by_id[sid].institution_id != institution and by_id[sid].group_id != group
    allowed = {s.specialist_id for s in specs if s.specialist_id != f"s{surgeon}"
               and s.institution_id != institution and s.group_id != group}
    assert offered == allowed  # everyone else was tried before escalating
    assert r.state().steps["spine_surgery"].status == "escalated"


def test_a_released_step_nobody_can_take_is_announced_before_its_escalation() -> None:
    r = Routing(specialist("a", role="pain_medicine"))  # nobody serves spine surgery
    result = r.send(triaged())
    assert types(result.events) == ["PlanStepReleased", "CaseEscalated"]
    released = result.events[0]
    assert isinstance(released, PlanStepReleased) and released.step_id == "spine_surgery"
    r.directory.put(specialist("b"))
    retry = r.send(tick("case-1", NOW + SOON_TIMEOUT))
    assert types(retry.events) == ["AssignmentOffered"]  # released once, not again
