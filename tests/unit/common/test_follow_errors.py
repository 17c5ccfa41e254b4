"""A record its sink cannot apply does not end a topic follower: it is logged (coordinates and
the error's type, never the record), handed to the owner's `on_error` (a faust service's
dead-letter topic) and the follower goes on with the next record. A follower that did stop is
not `alive`, so readiness can say so (services/common/follow.py)."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError
from pydantic import BaseModel, ConfigDict

from schemas.envelope import derive_id
from services.common.follow import Record, TopicFollower, dead_lettering
from tests.unit.common.follower_fakes import FakeTopics, install, until
from tests.unit.common.test_dead_letters import DeadLetterTopic

TOPIC = "view.v1"
SECRET = "Jane Doe, NHS 943 476 5919"


class Row(BaseModel):
    """A view row as this release reads it: unknown fields refused (like SpecialistLoad)."""

    model_config = ConfigDict(extra="forbid")
    row_id: str


@dataclass
class View:
    """A sink: rows by key; a row it cannot parse raises, as routing's load view does."""

    rows: dict[str, Row] = field(default_factory=dict)

    def apply(self, record: Record) -> None:
        assert record.key is not None and record.value is not None
        if record.value == b"boom":
            raise ValueError(SECRET)  # a message that quotes the record
        self.rows[record.key.decode()] = Row.model_validate_json(record.value)


def row(row_id: str) -> bytes:
    return Row(row_id=row_id).model_dump_json().encode()


def follower(view: View, **kwargs: Any) -> TopicFollower:
    return TopicFollower(bootstrap="fake:9092", topics=[TOPIC], on_record=view.apply,
                         client_id="test-follow", **kwargs)


@pytest.fixture
def topics(monkeypatch: pytest.MonkeyPatch) -> FakeTopics:
    fake = FakeTopics()
    install(monkeypatch, fake)
    return fake


async def test_a_record_the_sink_cannot_apply_is_reported_and_the_next_ones_applied(
    topics: FakeTopics,
) -> None:
    topics.add(TOPIC, b"a", row("a"))
    topics.add(TOPIC, b"b", b'{"row_id": "b", "added_by_a_later_release": 1}')
    topics.add(TOPIC, b"c", b"boom")
    topics.add(TOPIC, b"d", row("d"))
    view, failed = View(), []
    f = follower(view, on_error=lambda record, exc: failed.append(
        (record.offset, record.key, type(exc).__name__)))
    await f.start()
    try:
        await until(lambda: f.loaded)
        assert sorted(view.rows) == ["a", "d"]
        assert failed == [(1, b"b", "ValidationError"), (2, b"c", "ValueError")]
        topics.add(TOPIC, b"e", row("e"))  # and it keeps following
        await until(lambda: "e" in view.rows)
        assert f.alive and f.healthy and f.problem is None
    finally:
        await f.stop()


async def test_without_a_hook_it_logs_where_the_record_is_and_the_error_type_only(
    topics: FakeTopics, caplog: pytest.LogCaptureFixture,
) -> None:
    topics.add(TOPIC, SECRET.encode(), b"boom")
    topics.add(TOPIC, b"a", row("a"))
    view = View()
    f = follower(view)
    caplog.set_level(logging.INFO, logger="spine.follow")
    await f.start()
    try:
        await until(lambda: "a" in view.rows)
    finally:
        await f.stop()
    [passed] = [r for r in caplog.records if "passed over" in r.getMessage()]
    where = {k: getattr(passed, k) for k in ("topic", "partition", "offset", "error")}
    assert where == {"topic": TOPIC, "partition": 0, "offset": 0, "error": "ValueError"}
    assert not any("Jane" in str(r.__dict__) for r in caplog.records)


async def test_two_workers_dead_letter_a_bad_record_as_one_and_go_on(topics: FakeTopics) -> None:
    bad = b'{"row_id": "b", "added_by_a_later_release": 1}'
    topics.add(TOPIC, b"a", row("a"))
    topics.add(TOPIC, b"b", bad)
    topics.add(TOPIC, b"c", row("c"))
    dead_letters = DeadLetterTopic()
    views = [View(), View()]
    send = dead_lettering("routing", dead_letters)  # type: ignore[arg-type]
    workers = [follower(v, on_error=send) for v in views]
    for w in workers:
        await w.start()
    try:
        await until(lambda: all(sorted(v.rows) == ["a", "c"] for v in views))
    finally:
        for w in workers:
            await w.stop()
    assert len(dead_letters.sent) == 2
    # One dead letter to its readers: the id is derived from where the record is, not who read.
    assert {d.event_id for d in dead_letters.sent} == {
        derive_id("dead-letter", "routing", TOPIC, 0, 1)}
    first = dead_letters.sent[0]
    assert (first.service, first.source_topic, first.source_offset) == ("routing", TOPIC, 1)
    assert first.reason.startswith("ValidationError") and "added_by_a_later_release" in first.reason
    # A view's topic is not one of the topics without patient data: the location only.
    assert json.loads(first.original_value()) == {"withheld": True, "size": len(bad)}
    assert first.case_id == "unknown"
    assert dead_letters.app.crashed_by is None


async def test_a_dead_letter_not_sent_for_a_broker_error_is_sent_when_read_again(
    topics: FakeTopics,
) -> None:
    # A broker error from the hook reconnects the follower, which reads the record again: a
    # dead letter is never lost to a broker blip.
    topics.add(TOPIC, b"c", b"boom")
    topics.add(TOPIC, b"a", row("a"))
    calls: list[int] = []

    def hook(record: Record, exc: Exception) -> None:
        calls.append(record.offset)
        if len(calls) == 1:
            raise KafkaConnectionError("broker away")

    view = View()
    f = follower(view, on_error=hook)
    await f.start()
    try:
        await until(lambda: "a" in view.rows)
        assert calls == [0, 0] and topics.consumers == 2 and f.alive
    finally:
        await f.stop()


async def test_a_follower_that_stopped_is_not_alive_nor_healthy(
    topics: FakeTopics, caplog: pytest.LogCaptureFixture,
) -> None:
    topics.add(TOPIC, b"a", row("a"))
    view = View()
    f = follower(view)
    assert not f.alive and f.problem == "follower not running"  # not started yet
    await f.start()
    await until(lambda: f.healthy)
    topics.fail_with = RuntimeError(SECRET)  # an error it does not retry
    await until(lambda: not f.alive)
    assert f.loaded and not f.healthy and f.problem == "follower not running"
    [stopped] = [r for r in caplog.records if "follower stopped" in r.getMessage()]
    assert getattr(stopped, "error", None) == "RuntimeError"
    assert SECRET not in caplog.text
    await f.stop()  # its error was logged, not raised again


async def test_a_cancelled_follower_is_not_alive(topics: FakeTopics) -> None:
    topics.add(TOPIC, b"a", row("a"))
    f = follower(View())
    task = asyncio.create_task(f.run())  # as a faust task runs it
    await until(lambda: f.healthy)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not f.alive and not f.healthy
