"""A message an agent cannot process goes to the dead-letter topic with the reason, and the agent
goes on -- also when the message is near the topic's size limit (its dead letter used to be
~1.36 MB, refused by the producer, and the agent stopped with the message neither dead-lettered
nor acknowledged). From a topic that carries patient data the dead letter keeps the location
only: deadletter.v1 is kept for good and may be written after the case's erasure (review 3a,
S1). services/common/consume.py."""

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
from schemas.topics import (
    DEAD_LETTERS,
    ERASED_BY_TOMBSTONE,
    MAX_RECORD_BYTES,
    REFERRAL_EVENTS,
    SLA_EVENTS,
    SPECIALIST_DIRECTORY,
)
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
    def __init__(self, values: list[bytes], topic: str = SLA_EVENTS) -> None:
        self.values, self.topic = values, topic

    async def events(self) -> AsyncIterator[FakeEvent]:
        for offset, value in enumerate(self.values):
            yield FakeEvent(Msg(self.topic, 0, offset, b"case-1"), value)


def as_referral(topic: str, raw: bytes) -> Event:
    """Referral-sized records on a topic whose dead letters keep the original (SLA_EVENTS)."""
    return parse_event(REFERRAL_EVENTS, raw)


def test_the_dead_letter_of_a_message_at_the_topics_limit_fits_and_says_truncated() -> None:
    raw = big_received("case-1").to_bytes() + b" " * 28_000  # ~intake's limit, 1,047,548 bytes
    dead = dead_letter_for(service="notify", meta=EventMeta(SLA_EVENTS, 0, 5, b"case-1"),
                           raw=raw, exc=ValueError("x" * 10_000), case_id="case-1")
    assert fits_the_producer(b"case-1", dead.to_bytes())
    assert dead.original_truncated and dead.original_value_size == len(raw)
    assert raw.startswith(dead.original_value()) and len(dead.original_value()) >= 256 * 1024
    # An oversize key is cut too.
    dead = dead_letter_for(service="routing", meta=EventMeta(SPECIALIST_DIRECTORY, 0, 6,
                                                             b"k" * 10**6),
                           raw=b"{}", exc=ValueError(), case_id=None)
    assert fits_the_producer(b"unknown", dead.to_bytes()) and dead.original_truncated


def test_a_dead_letter_that_fits_keeps_the_original_whole_and_unmarked() -> None:
    # The previous release refuses unknown fields: the marks are written only when set.
    dead = dead_letter_for(service="notify", meta=EventMeta(SLA_EVENTS, 0, 5, b"case-1"),
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
    await process_events(Stream([big, small]), service="notify", source_topic=SLA_EVENTS,
                         handle=handle, dead_letters=topic, parse=as_referral)  # type: ignore[arg-type]
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
    await process_events(Stream(values), service="notify", source_topic=SLA_EVENTS,
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


NAME, NHS, QUESTION = "Quortleworth Abernathy", "9434765919", "Can she still ride to Wexcombe?"


def referral_with_patient_data(case_id: str) -> bytes:
    received = big_received(case_id, reports=1, clinical_question=QUESTION, patient={
        "name": NAME, "birth_date": "1961-02-03",
        "identifiers": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": NHS}]})
    return received.to_bytes()


async def test_a_dead_letter_from_a_patient_data_topic_holds_no_patient_text() -> None:
    # Triage failing on a referral after its case was erased: the dead letter is the case's
    # last record on deadletter.v1 for good, so it must name nobody.
    topic = DeadLetterTopic()

    async def handle(event: Event, meta: EventMeta) -> None:
        raise KeyError(NAME)

    raw = referral_with_patient_data("case-1")
    await process_events(Stream([raw], topic=REFERRAL_EVENTS), service="triage",
                         source_topic=REFERRAL_EVENTS, handle=handle,
                         dead_letters=topic)  # type: ignore[arg-type]
    [dead] = topic.sent
    written = dead.to_bytes()
    for text in (NAME, "Quortleworth", NHS, QUESTION, "1961-02-03", "IMPRESSION"):
        assert text.encode() not in written
    # what ops need to find the record and replay it from its source topic
    assert (dead.source_topic, dead.source_partition, dead.source_offset) == (REFERRAL_EVENTS, 0, 0)
    assert dead.case_id == "case-1" and dead.original_key_b64 == "Y2FzZS0x"  # b"case-1"
    assert dead.reason == "KeyError" and dead.service == "triage"
    assert json.loads(dead.original_value()) == {
        "withheld": True, "size": len(raw), "event_type": "ReferralReceived"}


CHANGELOG = "spine-routing-routing-content-changelog"  # a table's; not in topics.py


@pytest.mark.parametrize("source", [*ERASED_BY_TOMBSTONE, CHANGELOG])
def test_no_patient_data_topic_or_changelog_has_its_original_copied(source: str) -> None:
    raw = referral_with_patient_data("case-1")
    for value in (raw, raw[:-1], b'{"event_type": "' + NAME.encode() + b'"}', b"[" * 100_000):
        dead = dead_letter_for(service="routing", meta=EventMeta(source, 2, 9, b"case-1"),
                               raw=value, exc=ValueError(), case_id=None)
        assert NAME.encode() not in dead.to_bytes() and NHS.encode() not in dead.to_bytes()
        reference = json.loads(dead.original_value())
        assert reference["withheld"] is True and reference["size"] == len(value)
        assert not dead.original_truncated
        # an event type is named only when it is one the topic carries
        assert reference.get("event_type") == (
            "ReferralReceived" if source == REFERRAL_EVENTS and value is raw else None)
