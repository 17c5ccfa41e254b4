"""The per-event loop every agent uses: parse at the edge, handle, dead-letter failures, go on."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import AsyncIterable, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import faust

from schemas.dead_letter import ORIGINAL_KEPT_FROM, DeadLettered
from schemas.envelope import Event, derive_id
from schemas.registry import TOPIC_EVENTS, parse_event
from schemas.topics import DEAD_LETTERS
from services.common.errors import describe_exception
from services.common.kafka_wait import send_acknowledged
from services.common.meta import EventMeta
from services.common.metrics import (
    DEAD_LETTERS as DEAD_LETTER_COUNT,
)
from services.common.metrics import (
    EVENTS_FAILED,
    EVENTS_PROCESSED,
    EVENTS_SENT,
    HANDLE_SECONDS,
)

log = logging.getLogger("spine.consume")
# How much of the original a dead letter copies: the first 256 KiB of the value (a referral near
# the topic's limit would otherwise make a dead letter of ~1.36 MB, past MAX_RECORD_BYTES, that
# the producer refuses) and of the key (case or specialist ids; 1 KiB is ample). In base64 with
# the reason (<= 4,000 characters) a dead letter stays under 400 KB whatever failed.
MAX_ORIGINAL_VALUE_BYTES = 256 * 1024
MAX_ORIGINAL_KEY_BYTES = 1024


Handler = Callable[[Event, EventMeta], Awaitable[None]]
Parser = Callable[[str, bytes], Event]


class DeadLetterNotSent(Exception):
    """Not even a dead letter without the original could be sent: the producer cannot send."""


async def send_event(
    topic: faust.TopicT, event: Event, key: str | None = None, *, wait: bool = False,
    timeout: float | None = None,
) -> Any:
    """Send an event keyed by its case id (or `key`).

    Inside an agent nothing waits for the ack: faust flushes the producer before committing
    the input offset, and a send that failed makes that flush crash the worker instead, so the
    input is read again (LandedProducer, faust_app.py). At-least-once without a wait per event.
    `wait=True` awaits the broker's acknowledgement (for HTTP handlers that must not answer early),
    bounded (`timeout`, default KAFKA_HTTP_WAIT_SECONDS): past the deadline it raises
    KafkaUnavailable, a 503 with Retry-After. Otherwise the acknowledgement is returned for
    callers that gather several before waiting.
    """
    encoded_key = (key or event.case_id).encode()
    if wait:
        ack = await send_acknowledged(topic, key=encoded_key, value=event.to_bytes(),
                                      timeout=timeout)
    else:
        ack = await topic.send(key=encoded_key, value=event.to_bytes())
    EVENTS_SENT.labels(service=topic.app.conf.id, topic=topic.get_topic_name()).inc()
    return ack


def dead_letter_for(
    *, service: str, meta: EventMeta, raw: bytes, exc: BaseException, case_id: str | None
) -> DeadLettered:
    """The dead-letter record for one failed message; its id is stable across redeliveries.
    The original is copied only from topics without patient data (ORIGINAL_KEPT_FROM); an
    original larger than the caps above is kept as its first bytes, marked truncated."""
    key = meta.key[:MAX_ORIGINAL_KEY_BYTES] if meta.key is not None else None
    cut = key is not None and len(key) < len(meta.key or b"")
    if meta.topic in ORIGINAL_KEPT_FROM:
        value = raw[:MAX_ORIGINAL_VALUE_BYTES]
        cut = cut or len(value) < len(raw)
    else:  # written after the case's erasure, a copy would outlive it on deadletter.v1
        value = _withheld(meta.topic, raw)
    return DeadLettered(
        event_id=derive_id("dead-letter", service, meta.topic, meta.partition, meta.offset),
        case_id=case_id or "unknown",
        occurred_at=datetime.now(UTC),
        service=service,
        source_topic=meta.topic,
        source_partition=meta.partition,
        source_offset=meta.offset,
        reason=describe_exception(exc)[:4000],
        original_key_b64=base64.b64encode(key).decode() if key is not None else None,
        original_value_b64=base64.b64encode(value).decode(),
        original_truncated=cut,
        original_value_size=len(raw) if cut else None,
    )


def _withheld(topic: str, raw: bytes) -> bytes:
    """What a dead letter from a patient-data topic says of the original: its size and event
    type (only a type the topic carries: any other string could be the patient's text)."""
    reference: dict[str, object] = {"withheld": True, "size": len(raw)}
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON (the reason says so), or nested too deep
        doc = None
    kind = doc.get("event_type") if isinstance(doc, dict) else None
    if kind in {m.model_fields["event_type"].default for m in TOPIC_EVENTS.get(topic, ())}:
        reference["event_type"] = kind
    return json.dumps(reference, sort_keys=True, separators=(",", ":")).encode()


async def send_dead_letter(dead_letters: faust.TopicT, record: DeadLettered) -> None:
    """Send a dead letter and wait for the broker to take it: it is the only trace of a message
    the caller is about to pass over, so a send that fails must not be ignored.

    A refusal of this record is met by sending it again without the original bytes (the reason
    and the source coordinates still say what failed and where it is). If that fails too, the
    producer cannot send at all: the faust app is crashed (`/health/live` fails and the worker
    is restarted) and DeadLetterNotSent raised, so the message is read again from the last
    commit and dead-lettered then, never passed over in silence. A broker away for longer than
    the two waits thus restarts workers that meet a bad message, and only those.
    """
    try:
        await send_event(dead_letters, record, wait=True)
        return
    except Exception as exc:
        log.error("dead letter not sent; sending it without the original",
                  extra={"case_id": record.case_id, "topic": record.source_topic,
                         "offset": record.source_offset, "error": type(exc).__name__})
    size = record.original_value_size
    bare = record.model_copy(update={
        "original_value_b64": "", "original_truncated": True,
        "original_value_size": size if size is not None else len(record.original_value())})
    try:
        await send_event(dead_letters, bare, wait=True)
    except Exception as exc:
        log.critical("dead letter not sent: the worker stops so the message is read again",
                     extra={"case_id": record.case_id, "topic": record.source_topic,
                            "offset": record.source_offset, "error": type(exc).__name__})
        await dead_letters.app.crash(exc)
        raise DeadLetterNotSent(type(exc).__name__) from exc


async def process_events(
    stream: AsyncIterable[Any],
    *,
    service: str,
    source_topic: str,
    handle: Handler,
    dead_letters: faust.TopicT,
    parse: Parser = parse_event,
) -> None:
    """Handle each event; a failure dead-letters that one message and the loop goes on."""
    async for fevent in stream.events():  # type: ignore[attr-defined]
        msg = fevent.message
        if not fevent.value:  # a tombstone: erasure's marker for compaction, nothing to do
            continue
        raw = fevent.value if isinstance(fevent.value, bytes) else bytes(fevent.value or b"")
        meta = EventMeta(topic=msg.topic, partition=msg.partition, offset=msg.offset, key=msg.key)
        started = time.perf_counter()
        event: Event | None = None
        try:
            event = parse(meta.topic, raw)
            await handle(event, meta)
        except Exception as exc:  # one bad event must never stop the agent
            case_id = event.case_id if event is not None else _key_text(meta.key)
            record = dead_letter_for(
                service=service, meta=meta, raw=raw, exc=exc, case_id=case_id
            )
            log.warning(
                "dead-lettered message",
                extra={"case_id": record.case_id, "topic": meta.topic,
                       "offset": meta.offset, "reason": record.reason},
            )
            EVENTS_FAILED.labels(service=service, topic=meta.topic).inc()
            DEAD_LETTER_COUNT.labels(service=service, topic=meta.topic).inc()
            await send_dead_letter(dead_letters, record)
            continue
        EVENTS_PROCESSED.labels(
            service=service, topic=meta.topic, event_type=type(event).__name__
        ).inc()
        HANDLE_SECONDS.labels(service=service, topic=meta.topic).observe(
            time.perf_counter() - started
        )


def _key_text(key: bytes | None) -> str | None:
    """The message key as a case id, if it looks like one (keys are case ids by contract)."""
    if not key:
        return None
    try:
        text = key.decode()
    except UnicodeDecodeError:
        return None
    return text if 0 < len(text) <= 64 and text.isprintable() else None


def dead_letter_topic(app: faust.App) -> faust.TopicT:
    """The shared dead-letter topic."""
    from services.common.faust_app import bytes_topic

    return bytes_topic(app, DEAD_LETTERS)
