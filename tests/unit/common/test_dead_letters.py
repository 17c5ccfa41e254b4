"""A message an agent cannot process goes to the dead-letter topic with the reason, and the agent
goes on -- also when the message is near the topic's size limit (its dead letter used to be
~1.36 MB, refused by the producer, and the agent stopped with the message neither dead-lettered
nor acknowledged). services/common/consume.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from faust.exceptions import ProducerSendError

from schemas.dead_letter import DeadLettered
from schemas.envelope import Event
from schemas.registry import parse_event
from schemas.topics import DEAD_LETTERS, MAX_RECORD_BYTES, REFERRAL_EVENTS
from services.common.consume import (
    DeadLetterNotSent,
    EventMeta,
    dead_letter_for,
    process_events,
)
from services.common.faust_app import make_app
from tests.support.big_referral import big_received


def fits_the_producer(key: bytes, value: bytes) -> bool:
    """faust's producer check: aiokafka's estimate of the record against max_request_size."""
    limit = make_app("unit-dead-letters").conf.producer_max_request_size
    return DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, []) <= limit


@dataclass
class FakeApp:
    crashed_by: BaseException | None = None
    conf: Any = field(default_factory=lambda: type("Conf", (), {"id": "unit"})())

    async def crash(self, reason: BaseException) -> None:
        self.crashed_by = reason


@dataclass
class DeadLetterTopic:
    """Takes what the producer would take (`refuse` makes it refuse records over that size)."""

    refuse_over: int = MAX_RECORD_BYTES
    sent: list[DeadLettered] = field(default_factory=list)
    app: FakeApp = field(default_factory=FakeApp)

    def get_topic_name(self) -> str:
        return DEAD_LETTERS

    async def send(self, *, key: bytes, value: bytes) -> asyncio.Future[None]:
        if not fits_the_producer(key, value) or len(value) > self.refuse_over:
            raise ProducerSendError("MessageSizeTooLargeError")
        self.sent.append(DeadLettered.from_bytes(value))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


@dataclass
class Msg:
    topic: str
    partition: int
    offset: int
    key: bytes


@dataclass
class FakeEvent:
    message: Msg
    value: bytes


class Stream:
    def __init__(self, values: list[bytes]) -> None:
        self.values = values

    async def events(self) -> AsyncIterator[FakeEvent]:
        for offset, value in enumerate(self.values):
            yield FakeEvent(Msg(REFERRAL_EVENTS, 0, offset, b"case-1"), value)


def test_the_dead_letter_of_a_message_at_the_topics_limit_fits_and_says_truncated() -> None:
    raw = big_received("case-1").to_bytes() + b" " * 28_000  # ~intake's limit, 1,047,548 bytes
    dead = dead_letter_for(service="triage", meta=EventMeta(REFERRAL_EVENTS, 0, 5, b"case-1"),
                           raw=raw, exc=ValueError("x" * 10_000), case_id="case-1")
    assert fits_the_producer(b"case-1", dead.to_bytes())
    assert dead.original_truncated and dead.original_value_size == len(raw)
    assert raw.startswith(dead.original_value()) and len(dead.original_value()) >= 256 * 1024
    # An oversize key is cut too.
    dead = dead_letter_for(service="routing", meta=EventMeta(REFERRAL_EVENTS, 0, 6, b"k" * 10**6),
                           raw=b"{}", exc=ValueError(), case_id=None)
    assert fits_the_producer(b"unknown", dead.to_bytes()) and dead.original_truncated


def test_a_dead_letter_that_fits_keeps_the_original_whole_and_unmarked() -> None:
    # The previous release refuses unknown fields: the marks are written only when set.
    dead = dead_letter_for(service="triage", meta=EventMeta(REFERRAL_EVENTS, 0, 5, b"case-1"),
                           raw=b'{"garbage"', exc=ValueError(), case_id="case-1")
    body = json.loads(dead.to_bytes())
    assert "original_truncated" not in body and "original_value_size" not in body
    assert dead.original_value() == b'{"garbage"'


async def test_the_agent_dead_letters_an_oversize_message_and_goes_on() -> None:
    big, small = big_received("case-1").to_bytes(), big_received("case-2", reports=1).to_bytes()
    handled: list[str] = []

    async def handle(event: Event, meta: EventMeta) -> None:
        if meta.offset == 0:
            raise ProducerSendError("what routing met writing the content row")
        handled.append(event.case_id)

    topic = DeadLetterTopic()
    await process_events(Stream([big, small]), service="routing", source_topic=REFERRAL_EVENTS,
                         handle=handle, dead_letters=topic, parse=parse_event)  # type: ignore[arg-type]
    assert handled == ["case-2"]
    assert [(d.source_offset, d.original_truncated, d.original_value_size) for d in topic.sent] == [
        (0, True, len(big))]
    assert topic.app.crashed_by is None


async def test_a_refused_dead_letter_goes_again_without_the_original() -> None:
    # A broker whose topic takes less than the producer: the record is refused after the send.
    topic = DeadLetterTopic(refuse_over=10_000)

    async def handle(event: Event, meta: EventMeta) -> None:
        raise ValueError("bad")

    values = [big_received("case-1", reports=1).to_bytes(), b"not json"]
    await process_events(Stream(values), service="routing", source_topic=REFERRAL_EVENTS,
                         handle=handle, dead_letters=topic)  # type: ignore[arg-type]
    assert [(d.source_offset, d.original_truncated) for d in topic.sent] == [(0, True), (1, False)]
    assert topic.sent[0].original_value() == b""
    assert topic.sent[0].original_value_size == len(values[0])


async def test_a_dead_letter_that_cannot_be_sent_at_all_crashes_the_worker_loudly() -> None:
    # Never passed over in silence: the app is crashed (liveness restarts the worker) and the
    # message is read again from the last commit.
    topic = DeadLetterTopic(refuse_over=0)

    async def handle(event: Event, meta: EventMeta) -> None:
        raise ValueError("bad")

    with pytest.raises(DeadLetterNotSent):
        await process_events(Stream([b"not json", b"{}"]), service="routing",
                             source_topic=REFERRAL_EVENTS, handle=handle,
                             dead_letters=topic)  # type: ignore[arg-type]
    assert isinstance(topic.app.crashed_by, ProducerSendError) and topic.sent == []
