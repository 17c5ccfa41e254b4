"""Faust wiring: thin agents over RoutingProcessor, a timer for expired offers, the HTTP API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import faust

from schemas.cases import CaseErased, ReferralCancelled, ReferralReceived
from schemas.directory import Specialist
from schemas.envelope import Event
from schemas.registry import parse_event
from schemas.routing import CapacityDecided
from schemas.topics import (
    CASE_PARTITIONS,
    CASE_TRIAGED,
    REFERRAL_EVENTS,
    ROUTING_COMMANDS,
    ROUTING_EVENTS,
    ROUTING_LOAD,
    SPECIALIST_DIRECTORY,
)
from services.common.consume import (
    EventMeta,
    Handler,
    Parser,
    dead_letter_for,
    dead_letter_topic,
    process_events,
    send_event,
)
from services.common.faust_app import bytes_topic, make_app
from services.common.follow import Record, TopicFollower
from services.common.kafka_wait import send_acknowledged
from services.common.logs import get_logger
from services.common.partitions import case_partition
from services.common.settings import advertised_url, kafka_bootstrap
from services.common.worker import liveness, readiness, watch_consumer_lag
from services.routing.domain.load import LoadDelta
from services.routing.domain.state import CommandOutcome
from services.routing.processor import RoutingProcessor
from services.routing.replies import ReplyBook
from services.routing.settings import load_settings

SERVICE = "routing"
log = get_logger(SERVICE)
settings = load_settings()
app = make_app(SERVICE, canonical_url=advertised_url(settings.port))
watch_consumer_lag(app, SERVICE)  # routing had no lag samples: nothing ever started the probe

dead_letters = dead_letter_topic(app)
triaged_topic = bytes_topic(app, CASE_TRIAGED)
referral_topic = bytes_topic(app, REFERRAL_EVENTS)
commands_topic = bytes_topic(app, ROUTING_COMMANDS)
events_topic = bytes_topic(app, ROUTING_EVENTS)
load_topic = bytes_topic(app, ROUTING_LOAD)
directory_topic = bytes_topic(app, SPECIALIST_DIRECTORY)

cases_table = app.Table("routing-cases", key_type=bytes, value_type=bytes)
loads_table = app.Table("routing-load", key_type=bytes, value_type=bytes)
# What reviewers read (referral + triage) and their reports: patient data, dropped on erasure.
content_table = app.Table("routing-content", key_type=bytes, value_type=bytes)
reports_table = app.Table("routing-reports", key_type=bytes, value_type=bytes)


class KafkaPublisher:
    """Routing events keyed by case id; load changes keyed by specialist id."""

    async def routing_event(self, event: Event) -> None:
        await send_event(events_topic, event)

    async def load_delta(self, delta: LoadDelta) -> None:
        await send_event(load_topic, delta, key=delta.specialist_id)

    async def capacity_decided(self, decided: CapacityDecided) -> None:
        await send_event(commands_topic, decided)


worker_ready = readiness(app)
worker_live = liveness(app)
replies = ReplyBook()
processor = RoutingProcessor(
    cases=cases_table, loads=loads_table,  # type: ignore[arg-type]
    publisher=KafkaPublisher(), policy=settings.policy, clock=lambda: datetime.now(UTC),
    replies=replies, content=content_table, reports=reports_table,  # type: ignore[arg-type]
)


class KafkaGateway:
    """The HTTP API's view of this worker: its tables for reads, Kafka for writes."""

    directory_wait_seconds = settings.directory_wait_seconds

    @property
    def directory(self) -> Any:
        return processor.directory

    @property
    def loads(self) -> Any:
        return processor.loads

    def ready(self) -> list[str]:
        views = [] if processor.synced else ["routing views: not built"]
        views += [f"{f.topic}: not read to its end" for f in (directory, load_view)
                  if not f.loaded]
        return worker_ready() + views

    def live(self) -> list[str]:
        return worker_live()

    def case_state(self, case_id: str) -> Any:
        return processor.case_state(case_id)

    @property
    def casedata(self) -> Any:
        return processor.casedata

    async def publish_specialist(self, specialist_id: str, spec: Specialist | None) -> None:
        value = spec.model_dump_json().encode() if spec is not None else None
        await send_acknowledged(directory_topic, key=specialist_id.encode(), value=value)

    async def submit(self, command: Event) -> CommandOutcome | None:
        waiter = replies.expect(command.event_id)
        try:
            await send_event(commands_topic, command, wait=True)
            return await asyncio.wait_for(waiter, settings.reply_timeout_seconds)
        except TimeoutError:
            return None
        finally:
            replies.forget(command.event_id)


async def _on_case_input(event: Event, meta: EventMeta) -> None:
    await _views_loaded()
    result = await processor.on_case_input(event)
    if result.events:
        log.info("routed", extra={"case_id": event.case_id, "input": type(event).__name__,
                                  "outputs": [type(e).__name__ for e in result.events]})


async def _on_referral_event(event: Event, meta: EventMeta) -> None:
    # Received: kept for the reviewers' case view; cancelled/erased: routing stops.
    if isinstance(event, ReferralReceived | ReferralCancelled | CaseErased):
        await _on_case_input(event, meta)


async def _on_load_delta(event: Event, meta: EventMeta) -> None:
    assert isinstance(event, LoadDelta)
    await _views_loaded()  # the capacity check needs the profile
    await processor.on_load_delta(event)


def _parse_load_delta(topic: str, raw: bytes) -> Event:
    return LoadDelta.from_bytes(raw)


def _event_agent(topic: faust.TopicT, handle: Handler, parse: Parser = parse_event) -> None:
    """One agent per input topic, all through the shared parse / handle / dead-letter loop."""
    source = topic.get_topic_name()

    async def agent(stream: faust.StreamT) -> None:
        await process_events(stream, service=SERVICE, source_topic=source, handle=handle,
                             dead_letters=dead_letters, parse=parse)

    app.agent(topic, name=f"routing.agent.{source}")(agent)


_event_agent(triaged_topic, _on_case_input)
_event_agent(referral_topic, _on_referral_event)
_event_agent(commands_topic, _on_case_input)
_event_agent(load_topic, _on_load_delta, parse=_parse_load_delta)


async def _on_directory_record(record: Record) -> None:
    """Apply one directory record (empty value = removal); a bad record is dead-lettered."""
    try:
        specialist_id = processor.on_directory_record(record.key, record.value)
        log.info("directory updated", extra={"specialist_id": specialist_id})
    except Exception as exc:  # one bad record must never stop the directory
        meta = EventMeta(topic=record.topic, partition=record.partition, offset=record.offset,
                         key=record.key)
        dead = dead_letter_for(service=SERVICE, meta=meta, raw=record.value or b"", exc=exc,
                               case_id=None)
        log.warning("dead-lettered directory record", extra={"reason": dead.reason})
        # Every worker reads the record; the derived id makes their dead letters one.
        await send_event(dead_letters, dead)


# Every worker reads the whole directory: a table would give it to one worker only.
directory = TopicFollower(bootstrap=kafka_bootstrap(), topics=[SPECIALIST_DIRECTORY],
                          on_record=_on_directory_record, client_id="spine-routing-directory")


@app.task
async def follow_directory() -> None:
    """Keep this worker's directory current for the life of the worker."""
    await directory.run()


# And the whole load view: the table's changelog, read by every worker (the owners write it).
load_view = TopicFollower(
    bootstrap=kafka_bootstrap(), topics=[loads_table.changelog_topic.get_topic_name()],
    on_record=lambda record: processor.on_load_snapshot(record.key, record.value),
    client_id="spine-routing-load-view")


@app.task
async def follow_load_view() -> None:
    """Keep this worker's view of every specialist's load current."""
    await load_view.run()


async def _views_loaded() -> None:
    """Decide nothing on half a directory or load view: wait (bounded, logged) for both."""
    for follower in (directory, load_view):
        while not await follower.wait_loaded(settings.directory_wait_seconds):
            log.warning("routing waits for a shared view to load",
                        extra={"topic": follower.topic})


def owns_case(case_id: str) -> bool:
    """True if this worker is the active owner of the case's partition."""
    partition = case_partition(case_id, CASE_PARTITIONS)
    return any(tp.partition == partition and tp.topic == CASE_TRIAGED
               for tp in app.assignor.assigned_actives())


@app.timer(interval=settings.expiry_scan_seconds)
async def expire_offers() -> None:
    """Turn due offer timeouts into ExpireOffers commands; the agent decides, idempotently."""
    if not processor.synced:
        return
    for tick in processor.due_ticks(datetime.now(UTC), owns_case):
        await send_event(commands_topic, tick)


@app.on_rebalance_complete.connect  # type: ignore[misc,arg-type]
async def _rebuild_views(sender: faust.App, **kwargs: object) -> None:
    processor.rebuild()
    log.info("routing views rebuilt", extra={"specialists": len(processor.directory)})
