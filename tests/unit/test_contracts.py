"""The wire contracts: exported schemas are current, topics are routed, events round-trip."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from schemas import topics
from schemas.envelope import derive_id
from schemas.export import stale_files
from schemas.registry import TOPIC_EVENTS, parse_event
from schemas.routing import AcceptOffer, AssignmentOffered

NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)


def test_exported_json_schemas_match_the_models() -> None:
    assert stale_files() == [], "run: python -m schemas.export"


def test_every_topic_with_events_is_a_declared_topic() -> None:
    declared = {spec.name for spec in topics.ALL_TOPICS}
    assert set(TOPIC_EVENTS) <= declared


def test_case_topics_are_co_partitioned() -> None:
    case_topics = [
        s for s in topics.ALL_TOPICS if s.name in TOPIC_EVENTS and s.name != topics.DEAD_LETTERS
    ]
    assert {s.partitions for s in case_topics} == {topics.CASE_PARTITIONS}


def test_event_round_trips_through_its_topic_parser() -> None:
    offered = AssignmentOffered(
        event_id="e-1", case_id="c-1", occurred_at=NOW, step_id="s-1", team="spine_surgery",
        specialist_id="sp-1", urgency="urgent", offer_expires_at=NOW, attempt=1,
    )
    assert parse_event(topics.ROUTING_EVENTS, offered.to_bytes()) == offered


def test_parser_rejects_an_event_on_the_wrong_topic() -> None:
    accept = AcceptOffer(event_id="e", case_id="c", occurred_at=NOW, step_id="s", specialist_id="x")
    with pytest.raises(ValidationError):
        parse_event(topics.ROUTING_EVENTS, accept.to_bytes())


def test_naive_timestamps_are_rejected_naming_the_field() -> None:
    raw = b'{"event_type":"AcceptOffer","event_id":"e","case_id":"c",' \
          b'"occurred_at":"2026-11-21T09:30:00","step_id":"s","specialist_id":"x"}'
    with pytest.raises(ValidationError) as info:
        parse_event(topics.ROUTING_COMMANDS, raw)
    assert info.value.errors()[0]["loc"][-1] == "occurred_at"


def test_derived_ids_are_stable_and_distinct() -> None:
    assert derive_id("a", 1) == derive_id("a", 1)
    assert derive_id("a", 1) != derive_id("a", 2)
    assert derive_id("a", "b") != derive_id("ab")
