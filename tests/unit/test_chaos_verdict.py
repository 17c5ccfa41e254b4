"""The chaos verdict can fail: each invariant is violated on purpose with hand-made evidence."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from schemas.routing import AssignmentOffered
from schemas.topics import CASE_TRIAGED, DEAD_LETTERS, ROUTING_EVENTS
from scripts.chaos.checks import judge
from scripts.chaos.client import Posted
from scripts.chaos.evidence import Record, stage_stall
from scripts.webhook_inbox import ReceivedCall
from services.common.consume import EventMeta, dead_letter_for

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _offer(case: str, specialist: str, event_id: str, minute: int = 0) -> AssignmentOffered:
    return AssignmentOffered(
        event_id=event_id, case_id=case, occurred_at=T0 + timedelta(minutes=minute),
        step_id="s1", team="pain_medicine", specialist_id=specialist, urgency="routine",
        offer_expires_at=T0 + timedelta(hours=12), attempt=1,
    )


def _record(topic: str, event: AssignmentOffered, offset: int) -> Record:
    return Record(topic, 0, offset, 0.0, event.case_id.encode(), event.to_bytes())


def _call(specialist: str, case: str, key: str) -> ReceivedCall:
    body = {"case_id": case, "kind": "assignment_offered", "data": {"step_id": "s1",
                                                                   "attempt": 1}}
    return ReceivedCall(f"/hooks/{specialist}", {"idempotency-key": key},
                        json.dumps(body).encode())


def test_every_violation_is_found_and_named() -> None:
    posted = [Posted("R1", False, "k1", case_id="case-1"), Posted("R2", True, "k2",
                                                                  case_id="case-2")]
    offers = [_offer("case-1", "pain-1", "e1"), _offer("case-1", "pain-1", "e2", minute=1),
              _offer("case-2", "pain-1", "e3", minute=2)]
    topics = {CASE_TRIAGED: [], DEAD_LETTERS: [Record(DEAD_LETTERS, 0, 0, 0.0, None, b"x")],
              ROUTING_EVENTS: [_record(ROUTING_EVENTS, e, i) for i, e in enumerate(offers)]}
    calls = [_call("pain-1", "case-1", "n1"), _call("pain-1", "case-1", "n2")]
    verdict = judge(posted=posted, topics=topics, calls=calls, capacities={"pain-1": 1},
                    lag={"spine-routing": 3})
    found = {v.split(":")[0] for v in verdict.violations}
    assert found == {
        "lost before triage", "emergencies not paged", "offers without a delivered webhook",
        "duplicates under a different key", "duplicate assignments",
        "specialists over capacity", "dead letters", "groups with lag left",
    }
    assert verdict.figures["acknowledged"] == 2 and verdict.figures["lost before triage"] == 2


def test_a_redelivered_webhook_with_the_same_key_is_counted_but_allowed() -> None:
    posted = [Posted("R1", False, "k1", case_id="case-1")]
    offer = _offer("case-1", "pain-1", "e1")
    twice = [_record(ROUTING_EVENTS, offer, 0), _record(ROUTING_EVENTS, offer, 1)]
    topics = {CASE_TRIAGED: [], DEAD_LETTERS: [], ROUTING_EVENTS: twice}
    calls = [_call("pain-1", "case-1", "n1"), _call("pain-1", "case-1", "n1")]
    verdict = judge(posted=posted, topics=topics, calls=calls, capacities={"pain-1": 1}, lag={})
    assert verdict.figures["duplicate deliveries (same key)"] == 1
    assert verdict.figures["duplicates under a different key"] == 0
    assert verdict.figures["duplicate assignments"] == 0  # same event id: a redelivery
    assert verdict.figures["specialists over capacity"] == 0


def test_a_dead_letter_is_explained_without_its_content() -> None:
    original = {"event_type": "CaseTriaged", "case_id": "case-1", "summary": "Jane Roe, L5"}
    dead = dead_letter_for(service="routing", meta=EventMeta(CASE_TRIAGED, 3, 41, b"case-1"),
                           raw=json.dumps(original).encode(), exc=KeyError("Jane Roe"),
                           case_id="case-1")
    topics = {CASE_TRIAGED: [], ROUTING_EVENTS: [],
              DEAD_LETTERS: [Record(DEAD_LETTERS, 0, 7, 0.0, b"case-1", dead.to_bytes())]}
    verdict = judge(posted=[], topics=topics, calls=[], capacities={}, lag={})
    assert verdict.violations == [
        "dead letters: 1 (e.g. 0:7 routing <- case.triaged.v1 CaseTriaged: KeyError)"]
    assert "Jane" not in verdict.violations[0]


def _at(partition: int, when: float) -> Record:
    return Record("t", partition, 0, when, None, b"")


def test_stage_stall_is_the_worst_partition_and_ignores_idle_ones() -> None:
    inputs = [_at(0, 99.0), _at(1, 104.0), _at(2, 50.0)]
    outputs = [_at(0, 98.0), _at(0, 112.0), _at(1, 104.5), _at(2, 51.0)]
    # partition 0 had input waiting at the fault (100) until 112; 1 got input at 104, served
    # at 104.5; 2 was idle (its last input was answered before the fault).
    assert stage_stall(outputs, inputs, 100.0, partitions=3) == 12.0
    assert stage_stall(outputs[:1] + outputs[2:], inputs, 100.0, partitions=3) is None
