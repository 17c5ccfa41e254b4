"""Intake's idempotent producer, kept usable: rebuilt after a fatal error or when it is wedged.

aiokafka's idempotent producer retries retriable errors for ever, but some errors end it for
good: after a broker restart with writes in flight the broker can answer
OutOfOrderSequenceNumber (or UnknownProducerId, or fence the producer id), and from then on
every send of that producer fails. Any KafkaError that reaches us is therefore treated as
fatal for the producer that raised it (with idempotence on, a retriable one never does): the
next send uses a new producer with a new producer id (`enable_idempotence` and acks=all kept).
A producer whose sends time out while the broker answers metadata is wedged and is replaced too.
Timeouts alone (broker away) keep it: it delivers its queue once the broker is back.
Readiness follows the probes: two failed metadata requests in a row (one a second) mean
intake cannot take a write now, so it says so then, not only after the health window (a 3 s
broker outage used to leave /health/ready at 200 while posts answered 503). Two, not one: a
single slow answer on a loaded machine is not an outage.
A record Kafka refuses as too large is the caller's problem (RecordTooLarge), never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any, Protocol

from aiokafka.errors import KafkaError, MessageSizeTooLargeError, RecordTooLargeError

from services.common.logs import get_logger

log = get_logger("intake")
UNREACHABLE_AFTER_PROBES = 2  # failed metadata probes in a row before "not ready"
# Retries while the broker is away (producer rebuilds, topic set-up): doubling from 0.5 s, at
# most this far apart, since intake answers 503 until one succeeds (a 5 s cap could add 5 s to
# the 10 s bound after the broker's return).
MAX_BACKOFF_SECONDS = 2.0
RECORD_OVERHEAD_BYTES = 512  # batch and record headers, generously: a record near the limit fails


class BrokerUnavailable(Exception):
    """Kafka did not acknowledge a write in time (or intake is not connected yet)."""


class RecordTooLarge(Exception):
    """Kafka will not store a record this large; resending cannot help."""


class Producer(Protocol):
    client: Any  # has `fetch_all_metadata()`: the reachability probe

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send_and_wait(self, topic: str, value: bytes | None, key: bytes) -> Any: ...


ProducerFactory = Callable[[int], Producer]  # max record bytes -> a new, unstarted producer


class ProducerKeeper:
    """Owns the current producer; `run()` builds, probes and replaces it for the process's life."""

    def __init__(
        self, *, factory: ProducerFactory, send_timeout: float, max_record_bytes: int,
        probe_seconds: float = 1.0, health_window: float = 10.0, wedge_seconds: float = 3.0,
        max_backoff: float = MAX_BACKOFF_SECONDS, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._factory, self._timeout, self._clock = factory, send_timeout, clock
        self.max_record_bytes = max_record_bytes
        self._probe_seconds, self._window, self._wedge = probe_seconds, health_window, wedge_seconds
        self._max_backoff = max_backoff
        self._producer: Producer | None = None
        self._replace = asyncio.Event()
        self._ok_at: float | None = None  # last ack or successful metadata probe
        self._unacked_since: float | None = None  # first timeout since the last ack
        self._reachable_since: float | None = None  # first good probe since the last bad one
        self._failed_probes = 0  # in a row
        self.rebuilds = 0

    async def send(self, topic: str, key: str, value: bytes | None) -> None:
        """Write one record and wait for acks=all, bounded by the send timeout."""
        size = len(key.encode()) + len(value or b"") + RECORD_OVERHEAD_BYTES
        if size > self.max_record_bytes:
            raise RecordTooLarge(f"record of about {size} bytes exceeds Kafka's limit of "
                                 f"{self.max_record_bytes} bytes")
        producer = self._producer
        if producer is None:
            raise BrokerUnavailable("not connected to Kafka")
        try:
            await asyncio.wait_for(
                producer.send_and_wait(topic, value, key=key.encode()), self._timeout
            )
        except (MessageSizeTooLargeError, RecordTooLargeError) as exc:
            raise RecordTooLarge("Kafka refused the record as too large") from exc
        except TimeoutError as exc:
            if self._unacked_since is None:
                self._unacked_since = self._clock()
            raise BrokerUnavailable("no acknowledgement in time") from exc
        except KafkaError as exc:
            self._retire(producer, type(exc).__name__)
            raise BrokerUnavailable(type(exc).__name__) from exc
        self._ok_at, self._unacked_since, self._failed_probes = self._clock(), None, 0

    def reasons(self) -> list[str]:
        """Why the producer cannot take writes now ([] = it can)."""
        now = self._clock()
        if self._producer is None or self._ok_at is None:
            return ["kafka producer: not connected"]
        if self._failed_probes >= UNREACHABLE_AFTER_PROBES or now - self._ok_at > self._window:
            return ["kafka producer: broker not reachable"]
        if self._unacked_since is not None and now - self._unacked_since > self._window:
            return ["kafka producer: writes not acknowledged"]
        return []

    async def run(self) -> None:
        """Keep a started producer in place; replace it when retired or wedged."""
        delay = 0.5
        while True:
            try:
                await self._build()
                delay = 0.5
                while not self._replace.is_set():
                    await self._probe()
                    if self._wedged():
                        self._retire(self._producer, "wedged")
                        break
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._replace.wait(), self._probe_seconds)
            except (KafkaError, OSError, TimeoutError) as exc:
                log.warning("kafka producer unavailable, retrying",
                            extra={"error": type(exc).__name__})
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff)
            finally:
                await self._close_current()

    async def close(self) -> None:
        """Stop the current producer (bounded: a dead broker cannot hold shutdown)."""
        await self._close_current()

    async def _build(self) -> None:
        self._replace.clear()
        producer = self._factory(self.max_record_bytes)
        try:
            await asyncio.wait_for(producer.start(), self._timeout * 2)
        except BaseException:
            await self._stop(producer)
            raise
        self._producer = producer
        self._ok_at, self._unacked_since = self._clock(), None
        self._reachable_since, self._failed_probes = None, 0

    async def _probe(self) -> None:
        producer = self._producer
        if producer is None:
            return
        try:
            await asyncio.wait_for(producer.client.fetch_all_metadata(), self._probe_seconds * 2)
        except (KafkaError, OSError, TimeoutError):
            self._reachable_since = None
            self._failed_probes += 1
            return
        now = self._ok_at = self._clock()
        self._failed_probes = 0
        if self._reachable_since is None:
            self._reachable_since = now

    def _wedged(self) -> bool:
        """Sends time out although the broker has answered metadata for a while."""
        if self._unacked_since is None or self._reachable_since is None:
            return False
        return self._clock() - max(self._unacked_since, self._reachable_since) > self._wedge

    def _retire(self, producer: Producer | None, reason: str) -> None:
        if producer is not None and producer is self._producer and not self._replace.is_set():
            log.warning("kafka producer replaced", extra={"reason": reason})
            self.rebuilds += 1
            self._replace.set()

    async def _close_current(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await self._stop(producer)

    async def _stop(self, producer: Producer) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(producer.stop(), self._timeout)
