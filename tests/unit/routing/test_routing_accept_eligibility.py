"""An accept re-checks the holder against the directory as it is now: offers stay open for up to
12 hours, and a specialist deactivated, removed, no longer licensed or newly conflicted in that
time must not take the case. The offer is withdrawn and the next candidate asked."""

from __future__ import annotations

from datetime import date, timedelta

from schemas.directory import Capacity, Licence
from schemas.routing import OfferExpired
from tests.unit.routing.builders import (
    NOW,
    Routing,
    accept,
    context,
    specialist,
    tick,
    triaged,
    types,
)

LATER = NOW + timedelta(hours=1)


def _offered(*others: str, excluded_institutions: tuple[str, ...] = ()) -> Routing:
    r = Routing(specialist("a"), *(specialist(sid) for sid in others))
    r.send(triaged(ctx=context(excluded_institution_ids=list(excluded_institutions))))
    assert r.offered_to() == "a"
    return r


def _refused_then_next(r: Routing, words: str) -> None:
    result = r.send(accept("case-1", "spine_surgery", "a", at=LATER))
    assert result.outcome is not None and result.outcome.status == "forbidden"
    assert result.outcome.detail == f"you can no longer take this case: {words}"
    assert types(result.events) == ["OfferExpired", "AssignmentOffered"]
    withdrawn = result.events[0]
    assert isinstance(withdrawn, OfferExpired)
    assert (withdrawn.specialist_id, withdrawn.reason) == ("a", "withdrawn")
    step = r.state().steps["spine_surgery"]
    assert (step.status, step.assignee, r.offered_to()) == ("offered", None, "b")
    assert r.loads.holding("a") == ([], [])  # the withdrawn offer's slot is free again
    assert r.loads.holding("b") == (["case-1/spine_surgery"], [])


def test_a_deactivated_holder_cannot_accept_and_the_next_candidate_is_asked() -> None:
    r = _offered("b")
    r.directory.put(specialist("a", active=False))
    _refused_then_next(r, "your directory entry is inactive")
    line = next(e for e in r.state().record if e.kind == "no_longer_eligible")
    assert (line.specialist_id, line.detail) == ("a", "inactive")


def test_a_holder_removed_from_the_directory_cannot_accept() -> None:
    r = _offered("b")
    r.directory.remove("a")
    _refused_then_next(r, "you are no longer listed in the specialist directory")


def test_a_holder_now_in_the_operating_surgeons_institution_cannot_accept() -> None:
    r = _offered("b", excluded_institutions=("inst-operating",))
    r.directory.put(specialist("a", institution_id="inst-operating"))
    _refused_then_next(r, "a conflict of interest with this case")  # not which institution
    line = next(e for e in r.state().record if e.kind == "no_longer_eligible")
    assert line.detail == "conflict_same_institution"  # the audit keeps the exact rule


def test_a_holder_whose_licence_lapsed_during_the_window_cannot_accept() -> None:
    r = _offered("b")
    lapsed = [Licence(jurisdiction="GB-ENG", expires_on=date(2026, 3, 1))]
    r.directory.put(specialist("a", licences=lapsed))
    _refused_then_next(r, "your licence does not cover this case")


def test_with_nobody_else_the_refused_step_escalates() -> None:
    r = _offered()
    r.directory.put(specialist("a", active=False))
    result = r.send(accept("case-1", "spine_surgery", "a", at=LATER))
    assert result.outcome is not None and result.outcome.status == "forbidden"
    assert types(result.events) == ["OfferExpired", "CaseEscalated"]
    assert r.state().steps["spine_surgery"].status == "escalated"


def test_the_same_refused_accept_sent_again_is_answered_alike_and_changes_nothing() -> None:
    r = _offered("b")
    r.directory.put(specialist("a", active=False))
    command = accept("case-1", "spine_surgery", "a", at=LATER)
    first = r.send(command)
    again = r.send(command)
    assert again.outcome == first.outcome and again.events == []
    assert r.offered_to() == "b"


def test_a_directory_change_that_leaves_the_holder_eligible_does_not_stop_the_accept() -> None:
    # Capacity is what the offer itself holds: a lower cap is no reason to take it away.
    r = _offered("b")
    r.directory.put(specialist("a", capacity=Capacity(max_open_cases=1, max_new_per_day=1),
                               skills=["endoscopic"], languages=["de"]))
    result = r.send(accept("case-1", "spine_surgery", "a", at=LATER))
    assert result.outcome is not None and result.outcome.status == "ok"
    assert types(result.events) == ["AssignmentAccepted"]


def test_a_tick_withdraws_offers_whose_holder_the_directory_now_rules_out() -> None:
    r = _offered("b")
    assert r.send(tick("case-1", LATER)).events == []  # still eligible: the offer stays
    r.directory.put(specialist("a", group_id="group-operating"))
    r.send(triaged(revision=2, ctx=context(excluded_group_ids=["group-operating"])))
    assert r.offered_to() == "b"  # (re-triage already withdrew it: the existing path)
    r.directory.put(specialist("b", active=False))
    result = r.send(tick("case-1", LATER + timedelta(minutes=1)))
    assert types(result.events) == ["OfferExpired", "CaseEscalated"]
    line = [e for e in r.state().record if e.kind == "no_longer_eligible"][-1]
    assert (line.specialist_id, line.detail) == ("b", "inactive")
