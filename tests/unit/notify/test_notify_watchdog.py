"""Stalled-case watchdog over hand-built histories: each silent stage, and the time it allows."""

from __future__ import annotations

from schemas.envelope import Event
from services.notify.casefile import CaseSummary, apply_event
from services.notify.domain.watchdog import WatchdogPolicy, find_stalls, stall_of
from tests.unit.casefile import events as ev

POLICY = WatchdogPolicy(triage_seconds=120, routing_seconds=120, emergency_seconds=15)


def fold(*events: Event) -> CaseSummary:
    return ev.case(events)


def test_a_referral_never_triaged_is_raised_after_the_bound() -> None:
    case = fold(ev.received("c1", 0))
    assert stall_of(case, now=ev.at(2), policy=POLICY) is None  # exactly 120 s: not yet
    stall = stall_of(case, now=ev.at(2.5), policy=POLICY)
    assert stall is not None and stall.stage == "triage" and stall.waiting_seconds == 150
    assert stall.source_topic == "referral.events.v1"


def test_an_emergency_without_a_page_is_raised_within_seconds() -> None:
    case = fold(ev.received("c1", 0), ev.triaged("c1", 1, urgency="emergency"))
    assert stall_of(case, now=ev.at(1.25), policy=POLICY) is None  # 15 s
    stall = stall_of(case, now=ev.at(1.5), policy=POLICY)
    assert stall is not None and stall.stage == "emergency_page"
    assert stall.source_topic == "case.triaged.v1"
    paged = apply_event(case, ev.emergency("c1", 1.6))
    assert stall_of(paged, now=ev.at(60), policy=POLICY) is None


def test_an_emergency_escalated_for_want_of_a_surgeon_is_not_stalled() -> None:
    case = fold(ev.received("c1", 0), ev.triaged("c1", 1, urgency="emergency"),
                ev.escalated("c1", 1.1))
    assert stall_of(case, now=ev.at(60), policy=POLICY) is None


def test_a_triaged_case_routing_never_answered() -> None:
    case = fold(ev.received("c1", 0), ev.triaged("c1", 1))
    assert stall_of(case, now=ev.at(3), policy=POLICY) is None  # 120 s: the bound itself
    stall = stall_of(case, now=ev.at(3.5), policy=POLICY)
    assert stall is not None and stall.stage == "routing"
    for answer in (ev.offered("c1", 2), ev.released("c1", 2), ev.escalated("c1", 2)):
        assert stall_of(apply_event(case, answer), now=ev.at(60), policy=POLICY) is None


def test_closed_and_erased_cases_are_never_stalled() -> None:
    assert stall_of(fold(ev.received("c1", 0), ev.cancelled("c1", 1)), now=ev.at(99),
                    policy=POLICY) is None
    assert stall_of(fold(ev.received("c1", 0), ev.erased("c1", 1)), now=ev.at(99),
                    policy=POLICY) is None


def test_emergencies_come_first_then_the_longest_waiting() -> None:
    cases = [fold(ev.received("slow", 0)),
             fold(ev.received("slower", 0), ev.triaged("slower", 0.5)),
             fold(ev.received("em", 8), ev.triaged("em", 9, urgency="emergency")),
             fold(ev.received("ok", 0), ev.triaged("ok", 1), ev.offered("ok", 2))]
    stalls = find_stalls(cases, now=ev.at(10), policy=POLICY)
    assert [(s.case_id, s.stage) for s in stalls] == [
        ("em", "emergency_page"), ("slow", "triage"), ("slower", "routing")]
    assert len(find_stalls(cases, now=ev.at(10), policy=POLICY, limit=1)) == 1
