"""Intake's Kafka edge: an idempotent producer that waits for acks, and the registry reader.

`IntakeLog` is the protocol the HTTP layer depends on; `KafkaIntakeLog` is the real one and the
tests use a hand-written fake. Writes are acknowledged by every in-sync replica (acks=all) before
intake answers; a write that is not acknowledged within the send timeout raises BrokerUnavailable,
one Kafka cannot store because of its size RecordTooLarge. The producer is kept usable by
`ProducerKeeper` (services/intake/producer.py); the registry reader reconnects on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from schemas.topics import ALL_TOPICS, ERASED_BY_TOMBSTONE, INTAKE_REGISTRY, REFERRAL_EVENTS
from services.common.follow import Record, TopicFollower
from services.common.logs import get_logger
from services.common.topics_admin import ensure_topics, max_message_bytes
from services.intake.producer import (
    MAX_BACKOFF_SECONDS,
    BrokerUnavailable,
    Producer,
    ProducerFactory,
    ProducerKeeper,
    RecordTooLarge,
)

log = get_logger("intake")
RecordSink = Callable[[str, bytes | None], None]  # (registry key, value or None for a tombstone)
# Erasure writes tombstones to every case topic that holds patient data: make sure they exist.
INTAKE_TOPICS = tuple(s for s in ALL_TOPICS if s.name in {REFERRAL_EVENTS, INTAKE_REGISTRY}
                      or s.name in ERASED_BY_TOMBSTONE)


@dataclass(frozen=True)
class OutRecord:
    topic: str
    key: str
    value: bytes | None  # None = tombstone (registry records, and erasure on case topics)


class IntakeLog(Protocol):
    async def start(self, on_registry_record: RecordSink) -> None:
        """Begin connecting in the background; replay the registry into `on_registry_record`."""

    async def stop(self) -> None:
        """Close the producer and the registry reader."""

    def is_ready(self) -> bool:
        """True once the producer is connected and the registry has been read to its end."""

    def not_ready_reasons(self) -> list[str]:
        """What keeps it from taking writes now ([] = ready)."""

    def wedged_reasons(self) -> list[str]:
        """What keeps it from ever working again in this process ([] = none): restart it."""

    async def write(self, records: Sequence[OutRecord]) -> None:
        """Write records in order, each acknowledged before the next; raises BrokerUnavailable
        or RecordTooLarge."""


DEFAULT_MAX_RECORD_BYTES = 1024 * 1024  # Kafka's own default until the topics are described
__all__ = ["BrokerUnavailable", "IntakeLog", "KafkaIntakeLog", "OutRecord", "RecordTooLarge"]


def aiokafka_factory(*, bootstrap: str, client_id: str, timeout: float) -> ProducerFactory:
    """Idempotent acks=all producers, each allowed records up to the given size."""

    def build(max_record_bytes: int) -> Producer:
        return AIOKafkaProducer(  # type: ignore[return-value]
            bootstrap_servers=bootstrap, client_id=client_id, acks="all",
            enable_idempotence=True, request_timeout_ms=int(timeout * 1000),
            max_request_size=max_record_bytes,
        )

    return build


class KafkaIntakeLog:
    """The real IntakeLog over aiokafka."""

    def __init__(
        self, *, bootstrap: str, send_timeout: float, client_id: str = "intake",
        producer_factory: ProducerFactory | None = None,
    ) -> None:
        self._bootstrap, self._timeout, self._client_id = bootstrap, send_timeout, client_id
        self.producer = ProducerKeeper(
            factory=producer_factory or aiokafka_factory(
                bootstrap=bootstrap, client_id=client_id, timeout=send_timeout),
            send_timeout=send_timeout, max_record_bytes=DEFAULT_MAX_RECORD_BYTES,
        )
        self._registry: TopicFollower | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, on_registry_record: RecordSink) -> None:
        self._tasks = [asyncio.create_task(self._run_producer(), name="intake-producer")]
        # Started by the follower itself, so readiness sees it stop (`healthy`): as a bare task
        # it ended in silence while `loaded` stayed true, and intake went on deciding on a
        # registry frozen at that record.
        await self._registry_follower(on_registry_record).start()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._registry:
            await self._registry.stop()
        await self.producer.close()

    def is_ready(self) -> bool:
        return not self.not_ready_reasons()

    def wedged_reasons(self) -> list[str]:
        return ["registry: follower stopped"] if self._registry and self._registry.stopped else []

    def not_ready_reasons(self) -> list[str]:
        problem = self._registry.problem if self._registry else "not read to its end"
        return self.producer.reasons() + ([f"registry: {problem}"] if problem else [])

    async def write(self, records: Sequence[OutRecord]) -> None:
        for record in records:
            await self.producer.send(record.topic, record.key, record.value)

    async def _run_producer(self) -> None:
        """Create the topics and learn their record limit, then keep a producer for good."""
        await self._retrying(self._prepare_topics)
        await self.producer.run()

    async def _prepare_topics(self) -> None:
        await asyncio.wait_for(ensure_topics(self._bootstrap, INTAKE_TOPICS), self._timeout * 2)
        limit = await asyncio.wait_for(
            max_message_bytes(self._bootstrap, [s.name for s in INTAKE_TOPICS]), self._timeout * 2
        )
        if limit:
            self.producer.max_record_bytes = limit

    async def _retrying(self, step: Callable[[], Awaitable[None]]) -> None:
        """Run `step` until it returns, retrying Kafka failures with a capped back-off."""
        delay = 0.5
        while True:
            try:
                await step()
                return
            except (KafkaError, OSError, TimeoutError) as exc:
                log.warning("kafka unavailable, retrying", extra={"error": type(exc).__name__})
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)

    def _registry_follower(self, on_record: RecordSink) -> TopicFollower:
        """The registry read from the beginning (ready at its end), then followed for good."""

        def apply(record: Record) -> None:
            # Registry keys are ASCII (`case/<id>`, ...): one that does not decode is no
            # registry key, and what it raises the follower logs and passes over. Decoded with
            # replacement it would be applied under a key nobody wrote.
            if record.key is not None:
                on_record(record.key.decode(), record.value)

        self._registry = TopicFollower(
            bootstrap=self._bootstrap, topics=[INTAKE_REGISTRY], on_record=apply,
            ensure=[s for s in INTAKE_TOPICS if s.name == INTAKE_REGISTRY],
            client_id=f"{self._client_id}-registry", timeout_seconds=self._timeout * 2,
        )
        return self._registry
