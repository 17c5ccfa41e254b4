"""SummaryParser: stored JSON is parsed once per change, and removed cases are forgotten."""

from __future__ import annotations

from services.notify.casefile import SummaryParser, apply_event
from tests.unit.casefile import events as ev


def test_unchanged_json_returns_the_same_object_and_changed_json_is_reparsed() -> None:
    parser = SummaryParser()
    first = apply_event(None, ev.received("c1", 0))
    raw = first.model_dump_json()
    parsed = parser.parse("c1", raw)
    assert parsed == first
    assert parser.parse("c1", raw) is parsed
    second = apply_event(first, ev.triaged("c1", 5))
    assert parser.parse("c1", second.model_dump_json()).urgency == "urgent"


def test_summaries_follow_the_table_contents() -> None:
    parser = SummaryParser()
    table = {c: apply_event(None, ev.received(c, 0)).model_dump_json().encode() for c in "ab"}
    old_a, _ = parser.summaries(table.items())
    assert parser.parse("a", table["a"]) is old_a
    raw_a = table.pop("a")
    assert [s.case_id for s in parser.summaries(table.items())] == ["b"]
    assert parser.parse("a", raw_a) is not old_a  # forgotten, so parsed afresh
