"""Ranking among eligible specialists and the step-by-step relaxation of preferences."""

from __future__ import annotations

from datetime import timedelta

from services.routing.domain.load import LoadBook, LoadDelta, first_decision_time
from services.routing.domain.policy import RoutingPolicy
from services.routing.domain.ranking import decide
from tests.unit.routing.builders import NOW, Routing, context, specialist, triaged

POLICY = RoutingPolicy()


def assign(book: LoadBook, sid: str, case_id: str, at=NOW, team="spine_surgery",
           pseudonym: str | None = None) -> None:
    book.apply(LoadDelta(event_id=f"d-{sid}-{case_id}", specialist_id=sid, case_id=case_id,
                         step_id=team, team=team, change="assigned", occurred_at=at,
                         patient_pseudonym=pseudonym))


def first_offer(r: Routing, **kwargs) -> tuple[str | None, list[str]]:
    result = r.send(triaged(**kwargs))
    offer = next(e for e in result.events if type(e).__name__ == "AssignmentOffered")
    return offer.specialist_id, offer.relaxed  # type: ignore[attr-defined]


def test_fewest_open_cases_relative_to_capacity_wins() -> None:
    r = Routing(specialist("a"), specialist("b"))
    assign(r.loads, "a", "other-1")
    assert first_offer(r)[0] == "b"


def test_load_is_relative_to_capacity() -> None:
    from schemas.directory import Capacity

    big = specialist("a", capacity=Capacity(max_open_cases=20, max_new_per_day=10))
    small = specialist("b", capacity=Capacity(max_open_cases=2, max_new_per_day=10))
    r = Routing(big, small)
    assign(r.loads, "a", "o1", at=NOW - timedelta(days=3))
    assign(r.loads, "a", "o2", at=NOW - timedelta(days=3))
    assign(r.loads, "b", "o3", at=NOW - timedelta(days=3))
    assert first_offer(r)[0] == "a"  # 2/20 beats 1/2


def test_equal_load_goes_to_the_longest_idle() -> None:
    r = Routing(specialist("a"), specialist("b"))
    assign(r.loads, "a", "o1", at=NOW - timedelta(days=5))
    assign(r.loads, "b", "o2", at=NOW - timedelta(days=9))
    assert first_offer(r)[0] == "b"


def test_ties_break_on_specialist_id() -> None:
    r = Routing(specialist("zed"), specialist("amy"), specialist("max"))
    assert first_offer(r)[0] == "amy"


def test_skill_fit_is_preferred() -> None:
    r = Routing(specialist("a"), specialist("b", skills=["revision_surgery", "lumbar"]))
    sid, relaxed = first_offer(r, causes=[("recurrent_disc_herniation", 0.6)])
    assert (sid, relaxed) == ("b", [])


def test_unlikely_causes_do_not_shape_skills() -> None:
    r = Routing(specialist("a", skills=["lumbar"]), specialist("b", skills=["revision_surgery"]))
    assert first_offer(r, causes=[("recurrent_disc_herniation", 0.05)])[0] == "a"


def test_language_match_is_preferred() -> None:
    r = Routing(specialist("a"), specialist("b", languages=["en", "de"]))
    assert first_offer(r, ctx=context(preferred_language="de-AT"))[0] == "b"


def test_continuity_same_reviewer_for_the_same_patient() -> None:
    r = Routing(specialist("a"), specialist("b"))
    assign(r.loads, "b", "old-case", at=NOW - timedelta(days=30), pseudonym="p-77")
    assign(r.loads, "a", "x", at=NOW - timedelta(days=40))
    r.loads.apply(LoadDelta(event_id="c", specialist_id="b", case_id="old-case",
                            step_id="spine_surgery", team="spine_surgery", change="completed",
                            occurred_at=NOW - timedelta(days=20)))
    assert first_offer(r, ctx=context(patient_pseudonym="p-77"))[0] == "b"


def test_continuity_for_a_related_case() -> None:
    r = Routing(specialist("a"), specialist("b"))
    assign(r.loads, "b", "case-0", at=NOW - timedelta(days=3))
    assert first_offer(r, ctx=context(related_case_ids=["case-0"]))[0] == "b"


def test_who_cannot_finish_before_the_deadline_ranks_last() -> None:
    r = Routing(specialist("a"), specialist("b"))
    for i in range(9):  # 10 queued x 8 h > the 72 h urgent turnaround
        assign(r.loads, "a", f"q{i}", at=NOW - timedelta(days=3))
    for i in range(2):
        assign(r.loads, "b", f"r{i}", at=NOW - timedelta(days=3))
    assert first_offer(r, urgency="urgent")[0] == "b"


def test_preferences_are_relaxed_in_order_and_named_on_the_offer() -> None:
    # Nobody speaks German; only "b" has the skill: language is dropped first, skills kept.
    r = Routing(specialist("a"), specialist("b", skills=["revision_surgery", "lumbar"]))
    sid, relaxed = first_offer(r, ctx=context(preferred_language="de"),
                               causes=[("recurrent_disc_herniation", 0.5)])
    assert (sid, relaxed) == ("b", ["language"])


def test_language_is_relaxed_before_skills() -> None:
    r = Routing(specialist("a", languages=["de"]),
                specialist("b", skills=["revision_surgery", "lumbar"]))
    sid, relaxed = first_offer(r, ctx=context(preferred_language="de"),
                               causes=[("recurrent_disc_herniation", 0.5)])
    assert (sid, relaxed) == ("b", ["language"])


def test_when_everyone_misses_skills_both_preferences_are_listed() -> None:
    r = Routing(specialist("a"))
    sid, relaxed = first_offer(r, ctx=context(preferred_language="de"),
                               causes=[("recurrent_disc_herniation", 0.5)])
    assert (sid, relaxed) == ("a", ["language", "skills"])


def test_the_record_ranks_every_eligible_and_names_every_exclusion() -> None:
    r = Routing(specialist("a"), specialist("b"), specialist("c", active=False),
                specialist("d", licences=[]))
    r.send(triaged())
    entry = next(e for e in r.state().record if e.kind == "offered")
    by_id = {c.specialist_id: c for c in entry.candidates}
    assert (by_id["a"].rank, by_id["b"].rank) == (1, 2)
    assert by_id["c"].excluded == ["inactive"]
    assert entry.not_licensed_elsewhere == 1  # "d" is not in the GB-ENG bucket at all


def test_decide_reads_only_the_team_and_jurisdiction_bucket() -> None:
    r = Routing(specialist("a"), specialist("b", role="neuroradiologist"),
                specialist("c", licences=[]))
    r.send(triaged())
    from services.routing.domain.context import case_facts, step_facts

    state = r.state()
    step = state.steps["spine_surgery"]
    decision = decide(r.directory, r.loads, case_facts(state), step_facts(state, step, r.loads),
                      POLICY, NOW)
    assert [c.specialist_id for c in decision.candidates] == ["a"]


def test_the_book_knows_each_cases_slots_until_they_close() -> None:
    book = LoadBook()
    for sid, change in (("s1", "offered"), ("s2", "offered"), ("s1", "offer_closed")):
        book.apply(LoadDelta(event_id=f"{sid}-{change}", case_id="case-a", occurred_at=NOW,
                             specialist_id=sid, step_id="spine_surgery", team="spine_surgery",
                             change=change))
    assign(book, "s3", "case-b", at=NOW + timedelta(minutes=1))
    assert book.slots_of("case-a") == {("spine_surgery", "s2"): NOW}
    assert book.slots_of("case-b") == {("spine_surgery", "s3"): NOW + timedelta(minutes=1)}
    assert book.slots_of("case-c") == {}


def test_a_replay_takes_the_oldest_slot_its_case_never_asked_for_within_the_hold_limit() -> None:
    slots = {("spine_surgery", "s1"): NOW - timedelta(minutes=3),  # the case asked s1
             ("pain_medicine", "s2"): NOW - timedelta(minutes=2),  # lost with the row
             ("physio", "s3"): NOW - timedelta(minutes=1),  # lost with the row
             ("psychology", "s4"): NOW - timedelta(hours=30)}  # left to lapse
    hold = timedelta(hours=25)
    assert first_decision_time(["s1"], slots, NOW, hold) == NOW - timedelta(minutes=2)
    assert first_decision_time(["s1", "s2", "s3"], slots, NOW, hold) == NOW
    assert first_decision_time([], {}, NOW, hold) == NOW
