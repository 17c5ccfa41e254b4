"""A faust app configured the same way for every service: plain bytes on the wire, acks=all."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import faust
from faust.transport.drivers.aiokafka import Producer as AIOKafkaProducer

from schemas.topics import ALL_TOPICS, CASE_PARTITIONS, MAX_RECORD_BYTES, PATIENT_DATA, TopicSpec
from services.common.memory_store import Store as MemoryStore
from services.common.memory_store import use_memory_store
from services.common.safe_offsets import use_safe_offsets
from services.common.settings import data_dir, env_float, env_int, env_str, kafka_bootstrap

_PARTITIONS = {spec.name: spec.partitions for spec in ALL_TOPICS}
log = logging.getLogger("spine.producer")
# Set while a caller sends a record whose acknowledgement it awaits itself (kafka_wait.py).
_CALLER_AWAITS: ContextVar[bool] = ContextVar("spine_caller_awaits", default=False)


class SendNotLanded(Exception):
    """A send that nobody awaited failed: no input offset may be committed past it."""


@contextmanager
def caller_awaits() -> Iterator[None]:
    """Sends made inside are the caller's to check (an HTTP 503, a dead letter sent again):
    their failure does not stop the worker's commits."""
    token = _CALLER_AWAITS.set(True)
    try:
        yield
    finally:
        _CALLER_AWAITS.reset(token)


class LandedProducer(AIOKafkaProducer):
    """faust's producer, whose flush fails when a send it flushed failed.

    faust commits input offsets only after `producer.flush()` (faust/transport/consumer.py,
    `_commit_offsets`), but aiokafka's flush waits for the batches without looking at how they
    ended (`MessageAccumulator.flush`: `asyncio.wait`), and faust only logs a failed send
    (`Topic._on_published`). A broker away for longer than `producer_request_timeout` thus made
    an agent's output fail while its input was committed: a referral read, never triaged.
    Here every send that its caller does not await (agents' outputs, table changelogs, ticks)
    must have landed when a flush returns; one that failed crashes the app instead (the liveness
    probe fails and the worker is restarted) and the commit is not made, so the input is read
    again from the last commit. No send waits for its ack: the cost is paid at commit time only.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        # Sends not yet known to have landed: pending, or failed (kept: every later flush fails).
        self._unconfirmed: set[asyncio.Future[Any]] = set()

    async def send(self, *args: Any, **kwargs: Any) -> Any:
        ack = await super().send(*args, **kwargs)
        if not _CALLER_AWAITS.get() and isinstance(ack, asyncio.Future):
            self._unconfirmed.add(ack)
            ack.add_done_callback(self._landed)
        return ack

    def _landed(self, ack: asyncio.Future[Any]) -> None:
        if not ack.cancelled() and ack.exception() is None:
            self._unconfirmed.discard(ack)

    async def flush(self) -> None:
        await super().flush()
        pending = set(self._unconfirmed)
        if pending:  # their batches are done; their futures settle within a turn or two
            await asyncio.wait(pending)
        failed = [ack for ack in pending if ack in self._unconfirmed
                  and (ack.cancelled() or ack.exception() is not None)]
        if not failed:
            return
        first = failed[0]
        reason = "cancelled" if first.cancelled() else type(first.exception()).__name__
        exc = SendNotLanded(f"{len(failed)} send(s) failed ({reason})")
        log.critical("a send failed: the worker stops so its inputs are read again",
                     extra={"failed": len(failed), "error": reason})
        await self.app.crash(exc)
        raise exc


def make_app(service: str, **overrides: Any) -> faust.App:
    """The service's faust app; tables are in memory and restored from their changelogs."""
    settings: dict[str, Any] = {
        "broker": "kafka://" + kafka_bootstrap().replace(",", ";kafka://"),
        "store": env_str("FAUST_STORE", "memory://"),
        "datadir": str(data_dir(service)),
        "topic_partitions": CASE_PARTITIONS,
        "topic_replication_factor": 1,
        "topic_allow_declare": True,  # faust declares its own changelog topics
        "topic_disable_leader": True,
        "web_enabled": False,  # each service serves FastAPI instead (services.common.http)
        "consumer_auto_offset_reset": "earliest",
        "producer_acks": -1,
        # faust's own default, stated: the caps on rows and dead letters are derived from it.
        "producer_max_request_size": MAX_RECORD_BYTES,
        # Send at once (measured 2026-11-27 on a quiet machine, docs/benchmarks.md: 0 ms gave
        # more referrals/s, less CPU and a lower p50 than 1 ms; 5 ms only added latency).
        # Batches still form while a request is in flight.
        "producer_linger_ms": env_int("KAFKA_LINGER_MS", 0),
        # How long a send may wait for the broker before it fails (faust's default: 1200 s).
        # Tests shorten it to reach a failed send in seconds; see LandedProducer.
        "producer_request_timeout": env_float("FAUST_PRODUCER_REQUEST_TIMEOUT", 1200.0),
        "broker_commit_every": env_int("FAUST_COMMIT_EVERY", 100),
        "broker_commit_interval": env_float("FAUST_COMMIT_INTERVAL", 1.0),
        "stream_wait_empty": False,
        "table_cleanup_interval": 30.0,
        # aiokafka asks again about a topic it found unknown only at this age (default 5 min);
        # until then the group leader's assignor leaves it out. A fresh snapshot that shows it
        # triggers a rebalance that assigns it (defence in depth to topics_admin.wait_visible).
        "consumer_metadata_max_age_ms": env_int("FAUST_METADATA_MAX_AGE_MS", 30_000),
        "key_serializer": "raw",
        "value_serializer": "raw",
    }
    settings.update(failover_settings())
    use_memory_store()  # memory:// drops a lost partition's rows, its own writes too
    settings.update(overrides)
    # The prefix lets test runs and demos share a broker without sharing consumer groups.
    app = faust.App(env_str("FAUST_APP_PREFIX", "") + f"spine-{service}", **settings)
    app.transport.Producer = LandedProducer  # type: ignore[misc]  # no commit past a lost send
    return use_safe_offsets(app)  # no commit past an unhandled message (safe_offsets.py)


def failover_settings() -> dict[str, Any]:
    """Group-membership timing: how soon a dead or restarted worker's partitions move on.

    faust's defaults (60 s session) kept a killed worker's partitions idle for 90-100 s. The
    broker notices a dead member after `broker_session_timeout` without heartbeats; a member
    that restarts with the same FAUST_GROUP_INSTANCE_ID (static membership, KIP-345; aiokafka
    and faust pass `group.instance.id`) takes its old place at once. Standby replicas keep a
    warm copy of each table on another worker. Figures: docs/reliability.md.
    """
    session = env_float("FAUST_SESSION_TIMEOUT", 8.0)  # the broker's minimum is 6 s
    settings: dict[str, Any] = {
        "broker_session_timeout": session,
        "broker_heartbeat_interval": env_float("FAUST_HEARTBEAT_INTERVAL", min(2.0, session / 3)),
        "broker_rebalance_timeout": env_float("FAUST_REBALANCE_TIMEOUT", 10.0),
        "table_standby_replicas": env_int("FAUST_STANDBY_REPLICAS", 1),
    }
    instance = env_str("FAUST_GROUP_INSTANCE_ID", "")
    if instance:  # must be unique per live worker: a duplicate fences the other one
        settings["consumer_group_instance_id"] = instance
    return settings


def changelog_specs(app: faust.App) -> tuple[TopicSpec, ...]:
    """Every table's changelog topic: compacted like the patient-data topics, same partitions.

    Created before the worker starts: a changelog faust creates itself can be missing from the
    consumer's first metadata snapshot, and then every table write of the process fails with
    PartitionsMismatch ("changelog has 0 partitions").
    """
    return tuple(
        TopicSpec(
            table.changelog_topic.get_topic_name(),
            partitions=table.partitions or app.conf.topic_partitions,
            # Tables hold patient data (routing's referral copy and reports): compacted with the
            # same bound as the patient-data topics, so an erased row's tombstone wins in time.
            config=dict(PATIENT_DATA),
        )
        for table in app.tables.values()
    )


def table_writer(table: faust.types.TableT) -> Callable[[Any, bytes, int | None], None]:
    """Write a row as a table assignment does, but to the changelog partition given: faust takes
    that from the event being handled, which is wrong for a flush outside events (notify's rows
    written behind) or a row keyed otherwise than the input (routing's load, by specialist)."""

    def write(key: Any, value: bytes, partition: int | None) -> None:
        table.send_changelog(partition, key, value)
        store = table.data
        if isinstance(store, MemoryStore):  # remembers the partition, to drop the row with it
            store.put(key, value, partition)
        else:
            store[key] = value

    return write


def bytes_topic(app: faust.App, name: str) -> faust.TopicT:
    """A topic carrying raw bytes; contracts are parsed with pydantic at the edge."""
    return app.topic(
        name,
        key_type=bytes,
        value_type=bytes,
        partitions=_PARTITIONS.get(name, CASE_PARTITIONS),
        internal=False,
    )
