"""Bounded waits on Kafka inside HTTP requests: 503 with Retry-After, never a hang.

An HTTP handler that must not answer before Kafka stored its write awaits the broker's
acknowledgement through `acknowledged` (or `send_acknowledged`). Enqueueing and the ack share
one deadline; when it passes, the request ends with `KafkaUnavailable`, a problem+json 503
that `install_problem_handlers` renders with a `Retry-After` header.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import faust
from aiokafka.errors import KafkaError

from services.common.faust_app import caller_awaits
from services.common.problems import ProblemError
from services.common.settings import env_float, env_int

T = TypeVar("T")


def http_kafka_timeout() -> float:
    """Seconds an HTTP request may wait on Kafka (KAFKA_HTTP_WAIT_SECONDS, default 5)."""
    return env_float("KAFKA_HTTP_WAIT_SECONDS", 5.0)


def retry_after_seconds() -> int:
    """What a 503 tells clients to wait before retrying (KAFKA_RETRY_AFTER_SECONDS, default 5)."""
    return env_int("KAFKA_RETRY_AFTER_SECONDS", 5)


class KafkaUnavailable(ProblemError):
    """Kafka did not acknowledge in time: the change was not confirmed, the client retries."""

    def __init__(self, reason: str, *, retry_after: int | None = None) -> None:
        seconds = retry_after if retry_after is not None else retry_after_seconds()
        super().__init__(
            503, "Service unavailable",
            f"Kafka did not confirm the change ({reason}); retry later",
            kind="broker-unavailable", headers={"Retry-After": str(seconds)},
        )
        self.reason = reason


class KafkaAckTimeout(KafkaUnavailable):
    """The deadline passed before the broker's ack: the record may still be in the producer's
    buffer and be written after this answer. Repeating a request that is not repeatable
    (a POST without an Idempotency-Key) could then apply it twice (see forwarding.py)."""


async def acknowledged(step: Awaitable[T], *, timeout: float | None = None) -> T:
    """Await `step` (a send and its ack) for at most `timeout` s; KafkaUnavailable otherwise."""
    seconds = timeout if timeout is not None else http_kafka_timeout()
    try:
        return await asyncio.wait_for(step, seconds)
    except TimeoutError as exc:
        raise KafkaAckTimeout("timed out") from exc
    except KafkaError as exc:
        raise KafkaUnavailable(type(exc).__name__) from exc


async def send_acknowledged(
    topic: faust.TopicT, *, key: bytes, value: bytes | None, timeout: float | None = None
) -> Any:
    """Send one record through faust and wait for the broker's ack, bounded (see module doc)."""

    async def send_and_ack() -> Any:
        with caller_awaits():  # its failure is this caller's answer, not the worker's crash
            fut = await topic.send(key=key, value=value)
        return await fut

    return await acknowledged(send_and_ack(), timeout=timeout)
