"""Faust wiring: thin agents over RoutingProcessor, a timer for expired offers, the HTTP API.

`create_app` assembles one worker when called (never at import): its topics and tables, the
processor, the two views every worker reads whole (directory, load), the agents and timers,
and the HTTP API bound to a Kafka gateway that relays per-case requests to the case's owner.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import faust

from schemas.cases import CaseErased, ReferralCancelled, ReferralReceived
from schemas.envelope import Event
from schemas.registry import parse_event
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
    dead_letter_topic,
    process_events,
    send_event,
)
from services.common.faust_app import bytes_topic, make_app, table_writer
from services.common.follow import Record, TopicFollower, dead_lettering
from services.common.forwarding import table_owner, table_peers
from services.common.logs import get_logger
from services.common.partitions import case_partition
from services.common.settings import advertised_url, kafka_bootstrap
from services.common.worker import FaustService, liveness, readiness, watch_consumer_lag
from services.common.write_behind import write_rows_behind
from services.routing.api import create_api
from services.routing.domain.load import LoadDelta
from services.routing.kafka_gateway import KafkaGateway, KafkaPublisher
from services.routing.processor import RoutingProcessor
from services.routing.replies import ReplyBook
from services.routing.settings import RoutingSettings, load_settings
from services.routing.ticks import SentTicks, send_due_ticks

SERVICE = "routing"
log = get_logger(SERVICE)
# routing.load.v1 and the load table's changelog: one partition count, one partitioner.
LOAD_PARTITIONS = CASE_PARTITIONS
# Offers lapse hours after their window (RoutingPolicy.offer_hold_limit): a look a minute is ample.
LAPSE_SCAN_SECONDS = 60.0


def create_app(settings: RoutingSettings | None = None) -> FaustService:
    """One routing worker with its HTTP API."""
    worker = RoutingWorker(settings or load_settings())
    gateway = KafkaGateway(
        processor=worker.processor, replies=worker.replies,
        views=[worker.directory, worker.load_view], directory_topic=worker.directory_topic,
        commands_topic=worker.commands_topic, worker_ready=readiness(worker.app),
        worker_live=liveness(worker.app),
        directory_wait_seconds=worker.settings.directory_wait_seconds,
        reply_timeout_seconds=worker.settings.reply_timeout_seconds,
        kafka_wait_seconds=worker.settings.kafka_wait_seconds, answers_for=worker.answers_for)
    app = worker.app
    api = create_api(gateway, owner_of=table_owner(app, worker.cases_table),
                     me=lambda: str(app.conf.canonical_url),
                     peers=table_peers(app, worker.cases_table),
                     relay_timeout_seconds=worker.settings.relay_timeout_seconds,
                     peer_secret=worker.settings.peer_secret)
    return FaustService(app=app, api=api, port=worker.settings.port)


class RoutingWorker:
    """The faust side of one routing worker: topics, tables, processor, views, agents, timers."""

    def __init__(self, settings: RoutingSettings) -> None:
        self.settings = settings
        app = self.app = make_app(SERVICE, canonical_url=advertised_url(settings.port))
        watch_consumer_lag(app, SERVICE)
        self.dead_letters = dead_letter_topic(app)
        self.commands_topic = bytes_topic(app, ROUTING_COMMANDS)
        self.directory_topic = bytes_topic(app, SPECIALIST_DIRECTORY)
        self.cases_table = app.Table("routing-cases", key_type=bytes, value_type=bytes)
        loads_table = app.Table("routing-load", key_type=bytes, value_type=bytes)
        # What reviewers read (referral + triage) and their reports: patient data, dropped on
        # erasure.
        content_table = app.Table("routing-content", key_type=bytes, value_type=bytes)
        reports_table = app.Table("routing-reports", key_type=bytes, value_type=bytes)
        self.replies = ReplyBook()
        publisher = KafkaPublisher(events=bytes_topic(app, ROUTING_EVENTS),
                                   load=bytes_topic(app, ROUTING_LOAD),
                                   commands=self.commands_topic)
        self.processor = RoutingProcessor(
            cases=self.cases_table, loads=loads_table,  # type: ignore[arg-type]
            publisher=publisher, policy=settings.policy, clock=lambda: datetime.now(UTC),
            replies=self.replies, content=content_table,  # type: ignore[arg-type]
            reports=reports_table,  # type: ignore[arg-type]
            reserve_here=self.reserves_here, write_load=load_writer(loads_table),
            write_content=table_writer(content_table),
        )
        # Every worker reads the whole directory: a table would give it to one worker only.
        # Unbatched (batch_ms=0): it changes rarely, and a case right after an edit should see it.
        # A record a view cannot apply is dead-lettered and passed over (services/common/follow).
        failed = dead_lettering(SERVICE, self.dead_letters)
        self.directory = TopicFollower(
            bootstrap=kafka_bootstrap(), topics=[SPECIALIST_DIRECTORY],
            on_record=self._on_directory_record, client_id="spine-routing-directory",
            batch_ms=0, on_error=failed)
        # And the whole load view: the table's changelog, read by every worker (owners write).
        self.load_view = TopicFollower(
            bootstrap=kafka_bootstrap(), topics=[loads_table.changelog_topic.get_topic_name()],
            on_record=lambda r: self.processor.on_load_snapshot(r.key, r.value),
            client_id="spine-routing-load-view", on_error=failed)
        self._agent(bytes_topic(app, CASE_TRIAGED), self._on_case_input)
        self._agent(bytes_topic(app, REFERRAL_EVENTS), self._on_referral_event)
        self._agent(self.commands_topic, self._on_case_input)
        # Content rows (by case) are written behind; inputs keyed by case are these three.
        write_rows_behind(app, flush=self.processor.casedata.flush,
                          forget=self.processor.casedata.forget,
                          input_topics={CASE_TRIAGED, REFERRAL_EVENTS, ROUTING_COMMANDS})
        self._agent(bytes_topic(app, ROUTING_LOAD), self._on_load_delta,
                    parse=_parse_load_delta)
        self._tasks_and_timers()

    def _agent(self, topic: faust.TopicT, handle: Handler, parse: Parser = parse_event) -> None:
        """One agent per input topic, all through the shared parse / handle / dead-letter loop."""
        source = topic.get_topic_name()

        async def agent(stream: faust.StreamT) -> None:
            await process_events(stream, service=SERVICE, source_topic=source, handle=handle,
                                 dead_letters=self.dead_letters, parse=parse)

        self.app.agent(topic, name=f"routing.agent.{source}")(agent)

    def _tasks_and_timers(self) -> None:
        app, processor = self.app, self.processor

        @app.on_before_shutdown.connect  # type: ignore[misc,arg-type]
        async def _write_pending_content(app: faust.App, **kwargs: object) -> None:
            processor.casedata.flush()  # faust flushes the producer right after this signal

        @app.task
        async def follow_directory() -> None:
            """Keep this worker's directory current for the life of the worker."""
            await self.directory.run()

        @app.task
        async def follow_load_view() -> None:
            """Keep this worker's view of every specialist's load current."""
            await self.load_view.run()

        sent = SentTicks()  # a tick goes out once while it waits (ticks.py), not every look

        @app.timer(interval=self.settings.expiry_scan_seconds)
        async def expire_offers() -> None:
            """Turn due offer timeouts into ExpireOffers commands; the agent decides,
            idempotently."""
            if not processor.synced:
                return
            owned = self.owned_case_partitions()  # once per tick, not once per open case
            now = datetime.now(UTC)
            await send_due_ticks(processor.due_ticks(now, owned.__contains__), now, sent,
                                 lambda tick: send_event(self.commands_topic, tick))

        @app.timer(interval=LAPSE_SCAN_SECONDS)
        async def lapse_offers() -> None:
            """Free capacity held by offers no case will close; the load agent applies each."""
            if not processor.synced:
                return
            for delta in processor.offers_to_lapse(datetime.now(UTC), self.owns_load):
                await processor.publisher.load_delta(delta)

        @app.on_rebalance_complete.connect  # type: ignore[misc,arg-type]
        async def _rebuild_views(sender: faust.App, **kwargs: object) -> None:
            processor.rebuild()
            log.info("routing views rebuilt", extra={"specialists": len(processor.directory)})

    async def _on_case_input(self, event: Event, meta: EventMeta) -> None:
        await self._views_loaded()
        result = await self.processor.on_case_input(event)
        if result.events:
            log.info("routed", extra={"case_id": event.case_id, "input": type(event).__name__,
                                      "outputs": [type(e).__name__ for e in result.events]})

    async def _on_referral_event(self, event: Event, meta: EventMeta) -> None:
        # Received: kept for the reviewers' case view; cancelled/erased: routing stops.
        if isinstance(event, ReferralReceived | ReferralCancelled | CaseErased):
            await self._on_case_input(event, meta)

    async def _on_load_delta(self, event: Event, meta: EventMeta) -> None:
        assert isinstance(event, LoadDelta)
        await self._views_loaded()  # the capacity check needs the profile
        await self.processor.on_load_delta(event)

    def _on_directory_record(self, record: Record) -> None:
        """Apply one directory record (empty value = removal); what it raises on a bad record,
        the follower dead-letters (`on_error`)."""
        specialist_id = self.processor.on_directory_record(record.key, record.value)
        log.info("directory updated", extra={"specialist_id": specialist_id})

    async def _views_loaded(self) -> None:
        """Decide nothing on half a directory or load view: wait (bounded, logged) for both."""
        for follower in (self.directory, self.load_view):
            while not await follower.wait_loaded(self.settings.directory_wait_seconds):
                log.warning("routing waits for a shared view to load",
                            extra={"topic": follower.topic})

    def owns_load(self, specialist_id: str) -> bool:
        """True if this worker is the active owner of the specialist's load partition."""
        partition = case_partition(specialist_id, LOAD_PARTITIONS)
        return any(tp.partition == partition and tp.topic == ROUTING_LOAD
                   for tp in self.app.assignor.assigned_actives())

    def reserves_here(self, specialist_id: str) -> bool:
        """Whether a case handler may decide this specialist's reservation itself (issue 13).

        Not while a rebalance runs: the assignment it reads is the one being revoked, and a
        handler that was waiting (for its case's lock, for the views) when the revocation
        flushed the producer would write the load row to a partition another worker may
        already have recovered, which never sees it: the offer goes out uncounted there. Over
        Kafka the reservation reaches whoever owns the partition once the rebalance is over.
        """
        return not self.app.rebalancing and self.owns_load(specialist_id)

    def answers_for(self, case_id: str) -> bool:
        """Whether this worker's case table speaks for the case now (api/gateway.py): the active
        owner of its partition, outside a rebalance. faust's `rebalancing` lasts from the
        revocation to the end of table recovery, the window in which a new owner serves HTTP
        from a table still being restored."""
        return not self.app.rebalancing and (
            case_partition(case_id, CASE_PARTITIONS) in self.owned_case_partitions())

    def owned_case_partitions(self) -> set[int]:
        """The case partitions this worker is the active owner of."""
        return {tp.partition for tp in self.app.assignor.assigned_actives()
                if tp.topic == CASE_TRIAGED}


def load_writer(table: faust.types.TableT) -> Callable[[bytes, bytes], None]:
    """Write a load row to its specialist's changelog partition from any agent (a plain table
    assignment would use the partition of the event being handled: the case's)."""
    write = table_writer(table)
    return lambda key, value: write(key, value, case_partition(key.decode(), LOAD_PARTITIONS))


def _parse_load_delta(topic: str, raw: bytes) -> Event:
    return LoadDelta.from_bytes(raw)
