"""Notify's faust worker: thin agents over the case topics, the clock timers, delivery lanes.

Tables (changelog-backed, so they survive restarts and rebalances):
  notify_cases    case id -> CaseState JSON: clocks, chains, outbox of pending deliveries
  case_summaries  case id -> CaseSummary JSON: the read-model behind the dashboard
Rows are written behind and flushed before each offset commit (services.common.write_behind).
`create_app` assembles one worker and its HTTP API when called, never at import.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterator
from datetime import UTC, datetime

import faust
from fastapi import APIRouter

from schemas import topics
from schemas.dead_letter import DeadLettered
from schemas.envelope import Event
from schemas.notifications import NotificationDelivered, NotificationFailed
from schemas.registry import parse_event
from services.common.consume import Parser, dead_letter_topic, process_events, send_event
from services.common.docs import service_api
from services.common.faust_app import bytes_topic, make_app, table_writer
from services.common.follow import TopicFollower
from services.common.forwarding import RELAY_MARGIN_SECONDS, install_forwarding, table_owner
from services.common.guard import install_guard
from services.common.http import health_router
from services.common.kafka_wait import http_kafka_timeout
from services.common.logs import get_logger
from services.common.problems import install_problem_handlers
from services.common.settings import advertised_url, kafka_bootstrap
from services.common.worker import FaustService, liveness, readiness, watch_consumer_lag
from services.common.write_behind import write_rows_behind
from services.notify.casefile import CaseSummary
from services.notify.config import NotifySettings, load_settings
from services.notify.dashboard.live import LiveFeed
from services.notify.dashboard.ops_watch import OpsWatch, clock_deadlines, stall_command
from services.notify.dashboard.peers import PeerSummaries
from services.notify.dashboard.session import COOKIE as SESSION_COOKIE
from services.notify.dashboard.stream_slots import StreamSlots
from services.notify.dashboard.views import build_router
from services.notify.delivery.dispatcher import Dispatcher
from services.notify.delivery.webhook import WebhookPoster
from services.notify.directory import DirectoryCache, DirectoryWait
from services.notify.domain.commands import CheckClocks, parse_command
from services.notify.http_api import build_escalation_router
from services.notify.processor import NotifyProcessor
from services.notify.publishing import Publisher
from services.notify.subscribers import Recipients, load_subscribers

SERVICE = "notify"
log = get_logger(SERVICE)
# Per-case routes (SLA view, escalation ack, referrer status, ops timeline): owner answers.
CASE_PATHS = (
    r"/sla/(?P<case_id>[^/]+)",
    r"/escalations/(?P<case_id>[^/]+)/ack",
    r"/api/referrals/(?P<case_id>[^/]+)/status",
    r"/api/ops/cases/(?P<case_id>[^/]+)/timeline",
)


def utc_now() -> datetime:
    """The wall clock, the one place notify reads it."""
    return datetime.now(UTC)


def create_app(settings: NotifySettings | None = None) -> FaustService:
    """One notify worker with its HTTP API (escalation acks, referrer status, dashboard)."""
    worker = NotifyWorker(settings or load_settings())
    app, processor = worker.app, worker.processor

    async def send_command(command: Event) -> None:
        """HTTP acks go through the command topic so the agent applies them in case order."""
        await send_event(worker.commands, command, wait=True)

    worker_ready = readiness(app)
    directory = worker.directory
    api = service_api(title="spine-router notify")
    install_problem_handlers(api)
    # Per-case reads and acks are answered by the worker owning the case (any worker relays);
    # the relay outlasts the owner's worst case, an ack's wait for Kafka, so an ack the owner
    # took is never answered "retry".
    install_forwarding(api, paths=CASE_PATHS, owner_of=table_owner(app, worker.cases),
                       me=lambda: str(app.conf.canonical_url),
                       peer_secret=worker.settings.peer_secret,
                       timeout_seconds=http_kafka_timeout() + RELAY_MARGIN_SECONDS)
    install_guard(api, service=SERVICE, session_cookie=SESSION_COOKIE)  # the ops page's session
    api.include_router(health_router(
        SERVICE, lambda: worker_ready() + ([] if directory.loaded else ["directory: not loaded"]),
        is_live=liveness(app)))
    api.include_router(build_escalation_router(state_of=processor.state_of,
                                               send_command=send_command, clock=utc_now))
    api.include_router(worker.dashboard_router())
    return FaustService(app=app, api=api, port=worker.settings.port)


class NotifyWorker:
    """The faust side of one notify worker: topics, tables, delivery, agents and timers."""

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings
        app = self.app = make_app(SERVICE, canonical_url=advertised_url(settings.port))
        self.dead_letters = dead_letter_topic(app)
        sla_topic = bytes_topic(app, topics.SLA_EVENTS)
        notification_topic = bytes_topic(app, topics.NOTIFICATION_EVENTS)
        # Internal and case-keyed like the inputs, so ticks and acks land on the partition
        # owning the row.
        self.commands = app.topic(topics.NOTIFY_COMMANDS, key_type=bytes, value_type=bytes,
                                  partitions=topics.CASE_PARTITIONS, internal=True)
        self.cases = app.Table("notify_cases", default=None, key_type=str, value_type=bytes,
                               partitions=topics.CASE_PARTITIONS)
        summaries = app.Table("case_summaries", default=None, key_type=str, value_type=bytes,
                              partitions=topics.CASE_PARTITIONS)
        self.directory = DirectoryCache()
        recipients = Recipients(load_subscribers(settings.subscribers_file), self.directory,
                                master_secret=settings.master_secret,
                                directory_ready=lambda: self.directory.loaded)
        self.live = LiveFeed()
        self.poster = WebhookPoster(timeout_seconds=settings.retry.timeout_seconds)

        def topic_for(event: Event) -> faust.TopicT:
            """Where a produced event goes: outcomes, dead letters, or the SLA topic."""
            if isinstance(event, (NotificationDelivered, NotificationFailed)):
                return notification_topic
            if isinstance(event, DeadLettered):
                return self.dead_letters
            return sla_topic

        publisher = Publisher(topic_for)

        async def publish_outcome(event: Event) -> None:
            """A delivery outcome: applied here directly and published for others (notify does
            not consume its own outcomes back: a third of the events it read, issue 13)."""
            if isinstance(event, (NotificationDelivered, NotificationFailed)):
                await self.processor.apply_own(event, self.is_owned)
            await publisher.in_flow(event)

        self.dispatcher = Dispatcher(
            post=self.poster, resolver=recipients, retry=settings.retry,
            publish=publish_outcome, clock=utc_now,
            # Before each attempt: still this worker's case, and still queued (not erased,
            # displaced or superseded meanwhile).
            owns=lambda n: self.is_owned(n.partition) and self.processor.queued(n),
            concurrency=settings.delivery_concurrency,
        )
        self.processor = NotifyProcessor(
            cases=self.cases, summaries=summaries, policy=settings.policy, contacts=recipients,
            clock=utc_now, publish=publisher.acknowledged, submit=self.dispatcher.submit,
            live=self.live.publish, drop_deliveries=self.dispatcher.forget_case,
            write_cases=table_writer(self.cases),
            write_summaries=table_writer(summaries),
            # A tick read again after a restart, or an escalation to a lead routing did not
            # name, waits for the directory as the timer does (send_due_ticks).
            wait_for_directory=DirectoryWait(
                lambda: self.directory.loaded,
                timeout_seconds=settings.directory_wait_seconds).until_loaded,
        )
        self.recovered = False
        # Every worker's cases on this worker's board (dashboard/peers.py).
        self.peers = PeerSummaries(max_cases=settings.board_max_cases)
        self.board_view = TopicFollower(
            bootstrap=kafka_bootstrap(), topics=[summaries.changelog_topic.get_topic_name()],
            on_record=self.peers.on_record, client_id="spine-notify-board")
        self.ops_watch = OpsWatch(specialists=self.directory.values)
        self.deadlines = clock_deadlines(self.processor.state_of, utc_now)
        consumed: tuple[tuple[str, faust.TopicT], ...] = (
            *((name, bytes_topic(app, name)) for name in (
                topics.REFERRAL_EVENTS, topics.CASE_TRIAGED, topics.ROUTING_EVENTS,
                topics.SLA_EVENTS)),
            (topics.NOTIFY_COMMANDS, self.commands),
        )
        self.consumed_topics = frozenset(name for name, _ in consumed)
        for name, channel in consumed:
            self._agent(name, channel,
                        parse_command if name == topics.NOTIFY_COMMANDS else parse_event)
        def forget_revoked(partitions: Collection[int]) -> int:
            self.dispatcher.forget_settled(partitions)  # their rows may come back unsettled
            return self.processor.forget(partitions)

        write_rows_behind(app, flush=self.processor.flush, forget=forget_revoked,
                          input_topics={name for name, _ in consumed})
        watch_consumer_lag(app, SERVICE)
        self._timers()
        self._lifecycle()

    def owned_partitions(self) -> set[int]:
        """Case partitions this worker is the active owner of."""
        return {tp.partition for tp in self.app.assignor.assigned_actives()
                if tp.topic == topics.ROUTING_EVENTS}

    def is_owned(self, partition: int | None) -> bool:
        """True if this worker owns rows of that case partition (None: not known yet: assume
        so)."""
        return partition is None or partition in self.owned_partitions()

    def ownership(self) -> Callable[[int | None], bool]:
        """is_owned over one read of the assignment, for a pass over many cases: per case,
        faust's assignment set was rebuilt for every open case on every tick."""
        owned = self.owned_partitions()
        return lambda partition: partition is None or partition in owned

    def board_summaries(self) -> Iterator[CaseSummary]:
        """The ops board's cases: this worker's own rows, then every other worker's. Lazily:
        the board reads it in turns (views.read_in_turns), and a list made here first held the
        loop for the whole parse (200-560 ms at 2,000 cases); the pass is over a snapshot of
        the table (ParsedRows.items), so agents writing between turns do not disturb it."""
        local: set[str] = set()
        for summary in self.processor.summary_views():
            local.add(summary.case_id)
            yield summary
        yield from self.peers.summaries(local)

    def board_summary(self, case_id: str) -> CaseSummary | None:
        """One case as board_summaries() has it, by id: this worker's own row, else a peer's.
        Each is parsed at most once per change; the pass over every row it replaces cost 417 ms
        with 4,000 cases, for each referrer status poll."""
        own = self.processor.summary_of(case_id)
        return own if own is not None else self.peers.summary(case_id)

    def dashboard_router(self) -> APIRouter:
        """The ops board and the referrer status routes over this worker's cases and its
        peers'; a route about one case looks it up by id (board_summary), never by a pass."""
        # A limit below 1 raises here: a bad setting stops start-up instead of refusing every page.
        slots = StreamSlots(per_principal=self.settings.dashboard_streams_per_principal,
                            total=self.settings.dashboard_streams_total)
        return build_router(self.board_summaries, self.live, utc_now,
                            get_summary=self.board_summary, deadlines=self.deadlines,
                            watch=self.ops_watch, stream_slots=slots)

    def _agent(self, topic_name: str, channel: faust.TopicT, parse: Parser) -> None:
        async def consume(stream: object) -> None:
            await process_events(stream,  # type: ignore[arg-type]
                                 service=SERVICE, source_topic=topic_name,
                                 handle=self.processor.handle, dead_letters=self.dead_letters,
                                 parse=parse)

        self.app.agent(channel, name=f"notify-{topic_name}")(consume)

    def _timers(self) -> None:
        app, processor, settings = self.app, self.processor, self.settings

        @app.timer(interval=settings.tick_seconds)
        async def check_due_clocks() -> None:
            """Send a tick for every case whose warning, breach or escalation step is due."""
            await self.send_due_ticks()

        @app.timer(interval=settings.scan_seconds)
        async def rescan_cases() -> None:
            """Periodic safety net: rebuild the due index, resubmit the outbox, refresh gauges."""
            if self.recovered:
                await processor.rescan(self.ownership())

        @app.timer(interval=settings.tick_seconds)
        async def watch_cases() -> None:
            """Stalled-case watchdog (every tick: emergencies must surface in seconds) and the
            breach forecast's gauges (less often)."""
            if not self.recovered:
                return
            now = utc_now()
            forecast = self.ops_watch.forecast_due(now)  # every case; stalls need only a few
            look = self.ops_watch.look(now, with_forecast=forecast)
            await processor.watch(look.add, every_row=forecast, owned=self.ownership())
            found = look.finish(report=True)
            for stall in found.new_stalls:  # ops hear of it through the case's command lane
                state = processor.state_of(stall.case_id)
                if self.is_owned(state.partition if state else None):
                    await send_event(self.commands, stall_command(stall, now))

    async def send_due_ticks(self) -> int:
        """A tick for every owned case with something due; returns how many were sent. Not
        before the tables are recovered, nor before the directory is read: a chain's lead step
        names the assignee's lead from it, and at start-up went to the file's lead or nobody
        (the chain then moved past that step for good)."""
        if not self.recovered or not self.directory.loaded:
            return 0
        now, sent = utc_now(), 0
        for case_id in self.processor.due_cases(self.ownership(), now):
            tick = CheckClocks(event_id=str(uuid.uuid4()), case_id=case_id, occurred_at=now)
            await send_event(self.commands, tick)
            sent += 1
        return sent

    def _lifecycle(self) -> None:
        app, processor = self.app, self.processor

        @self.cases.on_recover
        async def _after_recovery() -> None:
            pending = await processor.rescan(self.ownership())
            processor.closed.clear()  # rows were replaced: read every one again
            # Which cases may stall, from every row (clocks are not needed for that).
            await processor.watch(lambda case, running: None, every_row=True, clocks=False)
            self.recovered = True
            log.info("notify tables recovered", extra={"cases": len(processor.index),
                                                       "pending_notifications": pending})

        @app.task
        async def follow_directory() -> None:
            """Keep the in-memory specialist directory current for the life of the worker."""
            await self.directory.follow(kafka_bootstrap())

        @app.task
        async def follow_board() -> None:
            """Keep the other workers' case rows current for this worker's board."""
            await self.board_view.run()

        @app.on_before_shutdown.connect  # type: ignore[misc,arg-type]
        async def _stop_delivery(app: faust.App, **kwargs: object) -> None:
            processor.flush()  # faust flushes the producer right after this signal
            await self.dispatcher.close()
            await self.poster.close()
