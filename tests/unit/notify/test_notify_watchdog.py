"""Stalled-case watchdog over hand-built histories: each silent stage, and the time it allows."""

from __future__ import annotations

from datetime import timedelta

from schemas.envelope import Event
from services.notify.casefile import CaseSummary, apply_event
from services.notify.dashboard.ops_watch import OpsWatch, stall_command
from services.notify.domain.commands import parse_command
from services.notify.domain.watchdog import (
    Stall,
    WatchdogPolicy,
    find_stalls,
    may_stall,
    stall_of,
)
from tests.unit.casefile import events as ev
from tests.unit.notify.notify_builders import T0, CaseFlow, FakeContacts, Harness

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


def test_a_stall_report_tells_every_ops_subscriber_once() -> None:

    flow = CaseFlow("c1")
    runner = Harness(contacts=FakeContacts(ops=["ops-1", "ops-2"]))
    runner.apply(flow.received(T0))
    stall = Stall("c1", "triage", None, T0, 150.0, "referral.events.v1")
    report = stall_command(stall, T0 + timedelta(minutes=3))
    assert report == stall_command(stall, T0 + timedelta(minutes=3))  # derived, stable id
    runner.apply(report)
    runner.apply(report)  # the timer may raise it again after a restart
    again = stall_command(stall, T0 + timedelta(minutes=9))  # same id, later
    runner.apply(again)
    assert [n for n in runner.notifications if n[0] == "ops"] == [
        ("ops", "ops-1", "case_stalled"), ("ops", "ops-2", "case_stalled")]
    note = runner.outcomes[1].notifications[0]
    assert note.data == {"stage": "triage", "waiting_seconds": 150,
                         "source_topic": "referral.events.v1", "urgency": None}


def test_a_stall_report_for_a_closed_case_or_without_ops_queues_nothing() -> None:

    flow = CaseFlow("c1")
    closed = Harness()
    closed.apply(flow.received(T0))
    closed.apply(flow.cancelled(T0))
    closed.apply(stall_command(Stall("c1", "triage", None, T0, 150.0, "t"), T0))
    assert ("ops", "ops-1", "case_stalled") not in closed.notifications
    nobody = Harness(contacts=FakeContacts(ops=[]))
    nobody.apply(flow.received(T0))
    out = nobody.apply(stall_command(Stall("c1", "triage", None, T0, 150.0, "t"), T0))
    assert out.notifications == [] and out.skipped == ["case_stalled: no ops to notify"]


def test_the_watch_reports_each_stall_once_and_again_only_after_it_cleared() -> None:

    watch = OpsWatch(policy=POLICY)
    stuck = [fold(ev.received("c1", 0))]
    assert watch.assess(stuck, None, ev.at(1), report=True).new_stalls == []
    first = watch.assess(stuck, None, ev.at(3), report=True)
    assert [(s.case_id, s.stage) for s in first.new_stalls] == [("c1", "triage")]
    assert watch.assess(stuck, None, ev.at(4), report=True).new_stalls == []
    assert watch.assess(stuck, None, ev.at(5)).stalls and \
        watch.assess(stuck, None, ev.at(5), report=True).new_stalls == []  # the page: no report
    triaged = [fold(ev.received("c1", 0), ev.triaged("c1", 5))]
    routing = watch.assess(triaged, None, ev.at(8), report=True).new_stalls
    assert [(s.case_id, s.stage) for s in routing] == [("c1", "routing")]


def test_a_stall_report_travels_on_the_command_topic() -> None:
    report = stall_command(Stall("c1", "emergency_page", "emergency", T0, 20.0,
                                 "case.triaged.v1"), T0)
    assert parse_command("notify.commands.v1", report.model_dump_json().encode()) == report


HISTORIES = {
    "received": [ev.received("c", 0)],
    "triaged, no answer": [ev.received("c", 0), ev.triaged("c", 1)],
    "emergency, no page": [ev.received("c", 0), ev.triaged("c", 1, urgency="emergency")],
    "triaged only (received on another topic)": [ev.triaged("c", 1)],
    "offered": [ev.received("c", 0), ev.triaged("c", 1), ev.offered("c", 2)],
    "released": [ev.received("c", 0), ev.triaged("c", 1), ev.released("c", 2)],
    "escalated": [ev.received("c", 0), ev.triaged("c", 1), ev.escalated("c", 2)],
    "emergency, paged": [ev.received("c", 0), ev.triaged("c", 1, urgency="emergency"),
                         ev.emergency("c", 1.1)],
    "emergency, escalated": [ev.received("c", 0), ev.triaged("c", 1, urgency="emergency"),
                             ev.escalated("c", 1.1)],
    "cancelled": [ev.received("c", 0), ev.cancelled("c", 1)],
    "erased": [ev.received("c", 0), ev.erased("c", 1)],
    "stopped": [ev.received("c", 0), ev.triaged("c", 1), ev.stopped("c", 2)],
}


def test_may_stall_holds_for_exactly_the_cases_a_later_look_finds_stalled() -> None:
    """The timer looks only at these between forecasts: a case left out could stall unseen."""
    waiting = set()
    for name, events in HISTORIES.items():
        case = fold(*events)
        later = [stall_of(case, now=ev.at(minutes), policy=POLICY) for minutes in (5, 60, 6000)]
        assert may_stall(case) == any(later), name
        if may_stall(case):
            waiting.add(name)
    assert waiting == {"received", "triaged, no answer", "emergency, no page",
                       "triaged only (received on another topic)"}
