"""Follow whole topics to their end, then keep following: a view every worker reads in full.

No consumer group, so every worker of a service sees every partition, whatever partitions its
group gave it (a faust Table holds only the partitions a worker owns). Used for the specialist
directory and load view (routing, notify), intake's registry and intake's FHIR Task view.
`loaded` turns true once every partition was read up to the end offsets it had when reading
began; readiness waits for that, so nothing is decided on half a view, and for `alive` (the
follower still running), so a view that stopped changing is not served as current. A reconnect
re-reads from the beginning, so sinks must be idempotent (last record per key wins), and
`loaded` is false again until that re-read reaches the end: meanwhile the view holds older
states of keys (intake's registry took updates for cases it had cancelled). Every wait
on the broker is bounded; broker errors are retried with a capped back-off. A record its sink
cannot apply is passed over (logged, and dead-lettered through `on_error` where the owner gives
one): it ended the follower before, and in routing the faust app with it, so every worker
crash-looped on the same record read again at each start.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from schemas.topics import TopicSpec
from services.common.meta import EventMeta
from services.common.topics_admin import ensure_topics

if TYPE_CHECKING:
    import faust

log = logging.getLogger("spine.follow")


@dataclass(frozen=True)
class Record(EventMeta):
    """One record of a followed topic: where it came from, and its value (None or empty: a
    tombstone). Being an EventMeta, a bad record is dead-lettered like a consumed one."""

    value: bytes | None


RecordSink = Callable[[Record], Awaitable[None] | None]
# Told of a record the sink raised on, after the follower logged it; what it raises ends the
# pass (a broker error reconnects and reads the record again, anything else stops the follower).
RecordFailed = Callable[[Record, Exception], Awaitable[None] | None]
# How long the broker may hold a fetch to gather records (see _batching): a view may trail a
# write by up to this much more while traffic is light; readiness and reconnects are unaffected.
# Views of rarely written topics that a request may need at once (the specialist directory)
# pass batch_ms=0: batching buys nothing there.
BATCH_MS = 100


class TopicFollower:
    """Reads `topics` from the beginning into `on_record`, then follows them until cancelled."""

    def __init__(
        self, *, bootstrap: str, topics: Sequence[str], on_record: RecordSink, client_id: str,
        ensure: Sequence[TopicSpec] = (), timeout_seconds: float = 10.0,
        metadata_timeout_seconds: float = 30.0, batch_ms: int = BATCH_MS,
        on_error: RecordFailed | None = None,
    ) -> None:
        self.bootstrap, self.topics, self.on_record = bootstrap, tuple(topics), on_record
        self.on_error = on_error
        self.client_id, self.ensure, self.batch_ms = client_id, tuple(ensure), batch_ms
        self.timeout_seconds = timeout_seconds
        self.metadata_timeout_seconds = metadata_timeout_seconds
        self._loaded = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._running = False

    @property
    def topic(self) -> str:
        """The (first) followed topic, for log lines."""
        return self.topics[0]

    @property
    def loaded(self) -> bool:
        """True once every topic was read to the end it had when this worker started reading
        (again, after a reconnect)."""
        return self._loaded.is_set()

    @property
    def alive(self) -> bool:
        """True while `run` goes on: started, and neither cancelled nor ended by an error."""
        return self._running

    @property
    def stopped(self) -> bool:
        """Started by `start` and ended: it never follows again in this process, so the process
        wants a restart (liveness), not only to be taken out of rotation (readiness)."""
        return self._task is not None and self._task.done()

    @property
    def healthy(self) -> bool:
        """Read to its end and still following: what readiness asks of a view."""
        return self.alive and self.loaded

    @property
    def problem(self) -> str | None:
        """Why the view cannot be trusted now, for readiness reasons (None: healthy)."""
        if not self.alive:
            return "follower not running"
        return None if self.loaded else "not read to its end"

    async def wait_loaded(self, timeout: float) -> bool:
        """Wait (bounded) until loaded; False on timeout."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._loaded.wait(), timeout)
        return self.loaded

    async def start(self) -> None:
        """Begin following in a background task (for apps without a faust task to run it)."""
        self._task = asyncio.create_task(self.run(), name=f"{self.client_id}-follow")
        self._task.add_done_callback(_retrieve)

    async def stop(self) -> None:
        """Stop the background task started by `start` (one that stopped on its own was
        logged by `run`: its error is not raised again here)."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def run(self) -> None:
        """Follow the topics for the life of the worker, reconnecting after broker errors.
        Anything else ends it, logged, with `alive` false from then on (readiness says so)."""
        self._running = True
        try:
            await self._reconnecting()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            log.error("topic follower stopped: its view no longer changes",
                      extra={"topic": self.topic, "error": type(exc).__name__})
            raise
        finally:
            self._running = False

    async def _reconnecting(self) -> None:
        delay = 0.5
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except (KafkaError, OSError, TimeoutError) as exc:
                log.warning("topic follower lost the broker, retrying",
                            extra={"topic": self.topic, "error": type(exc).__name__})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def consumer_settings(self) -> dict[str, Any]:
        """The follower's aiokafka consumer: no group, from the beginning, batched fetches."""
        return {
            "bootstrap_servers": self.bootstrap, "group_id": None, "enable_auto_commit": False,
            "auto_offset_reset": "earliest", "client_id": self.client_id,
            "request_timeout_ms": int(self.timeout_seconds * 1000), **_batching(self.batch_ms),
        }

    async def _follow(self) -> None:
        if self.ensure:
            await asyncio.wait_for(ensure_topics(self.bootstrap, self.ensure),
                                   self.timeout_seconds)
        consumer = AIOKafkaConsumer(**self.consumer_settings())
        try:
            await asyncio.wait_for(consumer.start(), self.timeout_seconds)
            partitions = await self._partitions(consumer)
            consumer.assign(partitions)
            self._loaded.clear()  # read again from the start: older states until the end
            await consumer.seek_to_beginning(*partitions)
            ends = await asyncio.wait_for(consumer.end_offsets(partitions), self.timeout_seconds)
            while True:
                if not self._loaded.is_set() and await _at_end(consumer, ends):
                    self._loaded.set()
                    log.info("followed topics read to their end", extra={"topic": self.topic})
                batch = await consumer.getmany(timeout_ms=500, max_records=1000)
                for tp, records in batch.items():
                    for r in records:
                        await self._apply(Record(tp.topic, tp.partition, r.offset, r.key, r.value))
        finally:
            await consumer.stop()

    async def _apply(self, record: Record) -> None:
        """One record into the sink; one it cannot apply is passed over, never the end."""
        try:
            done = self.on_record(record)
            if inspect.isawaitable(done):
                await done
        except Exception as exc:
            # Coordinates and the error's type only: keys may be case ids, messages may quote
            # the record (services/common/errors.py).
            log.warning("topic follower passed over a record it could not apply",
                        extra={"topic": record.topic, "partition": record.partition,
                               "offset": record.offset, "error": type(exc).__name__})
            if self.on_error is not None:
                failed = self.on_error(record, exc)
                if inspect.isawaitable(failed):
                    await failed

    async def _partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.metadata_timeout_seconds
        while True:  # a topic may be created by another process just now
            found = {t: consumer.partitions_for_topic(t) for t in self.topics}
            if all(found.values()):
                return [TopicPartition(t, p) for t in self.topics for p in sorted(found[t] or ())]
            if loop.time() >= deadline:
                missing = sorted(t for t, parts in found.items() if not parts)
                raise TimeoutError(f"topics not found: {missing}")
            await consumer._client.force_metadata_update()
            await asyncio.sleep(0.5)


def dead_lettering(service: str, dead_letters: faust.TopicT) -> RecordFailed:
    """A faust service's `on_error`: the record to the dead-letter topic with the reason.

    Every worker of the service reads the record, and reads it again after each reconnect and
    restart: the dead letter's id is derived from service, topic, partition and offset
    (`dead_letter_for`), so all of them are one dead letter to its readers. A dead letter that
    cannot be sent crashes the app (`send_dead_letter`): the record is read again on restart.
    """
    # Imported here: consume.py imports faust, and intake's followers run without a faust app.
    from services.common.consume import dead_letter_for, send_dead_letter
    from services.common.metrics import DEAD_LETTERS, EVENTS_FAILED

    async def send(record: Record, exc: Exception) -> None:
        dead = dead_letter_for(service=service, meta=record, raw=record.value or b"", exc=exc,
                               case_id=None)
        EVENTS_FAILED.labels(service=service, topic=record.topic).inc()
        DEAD_LETTERS.labels(service=service, topic=record.topic).inc()
        await send_dead_letter(dead_letters, dead)

    return send


def _retrieve(task: asyncio.Task[None]) -> None:
    """Take a stopped task's exception: `run` logged its type; asyncio would log its message,
    which may quote a record, as "never retrieved"."""
    if not task.cancelled():
        task.exception()


def _batching(batch_ms: int) -> dict[str, int]:
    """Fetch settings that let the broker gather up to `batch_ms` of records per response.

    With aiokafka's defaults (answer as soon as one byte is there) a follower sends a fetch
    request, and the broker answers one, for nearly every record written: in intake, which
    follows the registry it writes itself, that was ~20 % of its CPU (issue 13). Waiting for
    a batch caps a follower at 1000 / batch_ms fetch rounds a second per broker; a busy topic
    fills `fetch_min_bytes` sooner and is answered at once. 0 keeps aiokafka's defaults.
    """
    if batch_ms <= 0:
        return {}
    return {"fetch_min_bytes": 256 * 1024, "fetch_max_wait_ms": batch_ms}


async def _at_end(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True
