"""The read model remembers applied events beyond its 400-line timeline.

Redelivery was caught by looking for the event's line in the timeline alone, which keeps the
newest-dated 400 lines: an event dated before those was dropped from it at once and applied
again on every redelivery (one more escalation, decline or dead letter counted each time).
"""

from __future__ import annotations

import json

from schemas.envelope import Event
from services.notify.casefile import CaseSummary, apply_event
from services.notify.casefile import apply as casefile_apply
from services.notify.casefile.apply import MAX_TIMELINE
from tests.unit.casefile import events as ev
from tests.unit.casefile.events import case


def busy_case() -> CaseSummary:
    """A case with more lines than the timeline keeps: deliveries from minute 100 on."""
    events: list[Event] = [ev.received("c1", 0), ev.triaged("c1", 1), ev.offered("c1", 2)]
    events += [ev.delivered("c1", 100 + i, notification=f"n{i}") for i in range(MAX_TIMELINE + 20)]
    summary = case(events)
    assert len(summary.timeline) == MAX_TIMELINE
    return summary


def test_a_redelivered_event_older_than_the_timeline_changes_nothing() -> None:
    old_dated = [ev.escalated("c1", 3), ev.declined("c1", 4), ev.dead_lettered("c1", 5)]
    once = busy_case()
    for event in old_dated:
        once = apply_event(once, event)
        assert all(line.event_id != event.event_id for line in once.timeline)  # trimmed at once
    assert (len(once.escalations), once.offers.declined, once.dead_letters) == (1, 1, 1)
    again = once
    for event in old_dated:
        again = apply_event(again, event)
    assert again.model_dump() == once.model_dump()


def test_the_memory_of_trimmed_lines_is_bounded() -> None:
    summary, memory = busy_case(), casefile_apply.TRIMMED_MEMORY
    for i in range(memory + 50):
        summary = apply_event(summary, ev.delivered("c1", 1000 + i, notification=f"m{i}"))
    assert len(summary.trimmed_ids) == memory
    assert len(summary.timeline) == MAX_TIMELINE


def test_a_row_written_before_the_memory_existed_still_parses() -> None:
    stored = json.loads(busy_case().model_dump_json())
    del stored["trimmed_ids"]
    old_row = CaseSummary.model_validate_json(json.dumps(stored))
    assert old_row.trimmed_ids == []
    assert apply_event(old_row, ev.escalated("c1", 3)).escalations
