"""Notify's faust worker: thin agents over the case topics, the clock timers, delivery lanes.

Tables (changelog-backed, so they survive restarts and rebalances):
  notify_cases    case id -> CaseState JSON: clocks, chains, outbox of pending deliveries
  case_summaries  case id -> CaseSummary JSON: the read-model behind the dashboard
Rows are written behind and flushed before each offset commit (services.notify.persistence).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import faust

from schemas import topics
from schemas.dead_letter import DeadLettered
from schemas.envelope import Event
from schemas.notifications import NotificationDelivered, NotificationFailed
from schemas.registry import parse_event
from services.common.consume import Parser, dead_letter_topic, process_events, send_event
from services.common.docs import service_api
from services.common.faust_app import bytes_topic, make_app
from services.common.forwarding import install_forwarding, table_owner
from services.common.guard import install_guard
from services.common.http import health_router, serve_api_in_worker
from services.common.logs import get_logger
from services.common.problems import install_problem_handlers
from services.common.settings import advertised_url, kafka_bootstrap
from services.common.worker import liveness, readiness, watch_consumer_lag
from services.notify.config import load_settings
from services.notify.dashboard.live import LiveFeed
from services.notify.dashboard.ops_watch import OpsWatch, clock_deadlines, stall_command
from services.notify.dashboard.session import COOKIE as SESSION_COOKIE
from services.notify.dashboard.views import build_router
from services.notify.delivery.dispatcher import Dispatcher
from services.notify.delivery.webhook import WebhookPoster
from services.notify.directory import DirectoryCache
from services.notify.domain.commands import CheckClocks, parse_command
from services.notify.http_api import build_escalation_router
from services.notify.persistence import table_writer, write_rows_behind
from services.notify.processor import NotifyProcessor
from services.notify.publishing import Publisher
from services.notify.subscribers import Recipients, load_subscribers

SERVICE = "notify"
log = get_logger(SERVICE)
settings = load_settings()
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


app = make_app(SERVICE, canonical_url=advertised_url(settings.port))
dead_letters = dead_letter_topic(app)
sla_topic = bytes_topic(app, topics.SLA_EVENTS)
notification_topic = bytes_topic(app, topics.NOTIFICATION_EVENTS)
# Internal and case-keyed like the inputs, so ticks and acks land on the partition owning the row.
commands = app.topic(topics.NOTIFY_COMMANDS, key_type=bytes, value_type=bytes,
                     partitions=topics.CASE_PARTITIONS, internal=True)
cases = app.Table("notify_cases", default=None, key_type=str, value_type=bytes,
                  partitions=topics.CASE_PARTITIONS)
summaries = app.Table("case_summaries", default=None, key_type=str, value_type=bytes,
                      partitions=topics.CASE_PARTITIONS)

directory = DirectoryCache()
recipients = Recipients(load_subscribers(settings.subscribers_file), directory,
                        master_secret=settings.master_secret,
                        directory_ready=lambda: directory.loaded)
live = LiveFeed()
poster = WebhookPoster(timeout_seconds=settings.retry.timeout_seconds)


def owned_partitions() -> set[int]:
    """Case partitions this worker is the active owner of."""
    return {tp.partition for tp in app.assignor.assigned_actives()
            if tp.topic == topics.ROUTING_EVENTS}


def is_owned(partition: int | None) -> bool:
    """True if this worker owns rows of that case partition (None: not known yet, assume so)."""
    return partition is None or partition in owned_partitions()


def topic_for(event: Event) -> faust.TopicT:
    """Where a produced event goes: outcomes, dead letters, or the SLA topic."""
    if isinstance(event, (NotificationDelivered, NotificationFailed)):
        return notification_topic
    if isinstance(event, DeadLettered):
        return dead_letters
    return sla_topic


publisher = Publisher(topic_for)
dispatcher = Dispatcher(
    post=poster, resolver=recipients, retry=settings.retry, publish=publisher.in_flow,
    clock=utc_now, owns=lambda note: is_owned(note.partition),
    concurrency=settings.delivery_concurrency,
)
processor = NotifyProcessor(
    cases=cases, summaries=summaries, policy=settings.policy, contacts=recipients,
    clock=utc_now, publish=publisher.acknowledged, submit=dispatcher.submit, live=live.publish,
    write_cases=table_writer(cases), write_summaries=table_writer(summaries),
)


recovered = {"done": False}


def _consumer(topic_name: str, channel: faust.TopicT, parse: Parser = parse_event) -> None:
    async def consume(stream: object) -> None:
        await process_events(stream,  # type: ignore[arg-type]
                             service=SERVICE, source_topic=topic_name,
                             handle=processor.handle, dead_letters=dead_letters, parse=parse)

    app.agent(channel, name=f"notify-{topic_name}")(consume)


CONSUMED: tuple[tuple[str, faust.TopicT], ...] = (
    *((name, bytes_topic(app, name)) for name in (
        topics.REFERRAL_EVENTS, topics.CASE_TRIAGED, topics.ROUTING_EVENTS, topics.SLA_EVENTS,
        topics.NOTIFICATION_EVENTS)),
    (topics.NOTIFY_COMMANDS, commands),
)
for name, channel in CONSUMED:
    _consumer(name, channel, parse_command if name == topics.NOTIFY_COMMANDS else parse_event)


write_rows_behind(app, flush=processor.flush, forget=processor.forget,
                  input_topics={name for name, _ in CONSUMED})


@cases.on_recover
async def _after_recovery() -> None:
    pending = processor.rescan(is_owned)
    recovered["done"] = True
    log.info("notify tables recovered", extra={"cases": len(processor.index),
                                               "pending_notifications": pending})


@app.timer(interval=settings.tick_seconds)
async def check_due_clocks() -> None:
    """Send a tick for every case whose warning, breach or escalation step is due."""
    if not recovered["done"]:
        return
    now = utc_now()
    for case_id in processor.due_cases(is_owned):
        tick = CheckClocks(event_id=str(uuid.uuid4()), case_id=case_id, occurred_at=now)
        await send_event(commands, tick)


@app.timer(interval=settings.scan_seconds)
async def rescan_cases() -> None:
    """Periodic safety net: rebuild the due index, resubmit the outbox, refresh gauges."""
    if recovered["done"]:
        processor.rescan(is_owned)


watch_consumer_lag(app, SERVICE)
ops_watch = OpsWatch(specialists=directory.values)
deadlines = clock_deadlines(processor.state_of, utc_now)


@app.timer(interval=settings.tick_seconds)
async def watch_cases() -> None:
    """Stalled-case watchdog (every tick: emergencies must surface in seconds) and the breach
    forecast's gauges (less often)."""
    if not recovered["done"]:
        return
    now = utc_now()
    found = ops_watch.assess(list(processor.summary_views()), deadlines, now,
                             with_forecast=ops_watch.forecast_due(now), report=True)
    for stall in found.new_stalls:  # ops hear of it through the case's own command lane
        state = processor.state_of(stall.case_id)
        if is_owned(state.partition if state else None):
            await send_event(commands, stall_command(stall, now))


@app.task
async def follow_directory() -> None:
    """Keep the in-memory specialist directory current for the life of the worker."""
    await directory.follow(kafka_bootstrap())


@app.on_before_shutdown.connect  # type: ignore[misc,arg-type]
async def _stop_delivery(app: faust.App, **kwargs: object) -> None:
    processor.flush()  # faust flushes the producer right after this signal
    await dispatcher.close()
    await poster.close()


async def send_command(command: Event) -> None:
    """HTTP acks go through the command topic so the agent applies them in case order."""
    await send_event(commands, command, wait=True)


worker_ready = readiness(app)
api = service_api(title="spine-router notify")
install_problem_handlers(api)
# Per-case reads and acks are answered by the worker owning the case (any worker relays).
install_forwarding(api, paths=CASE_PATHS, owner_of=table_owner(app, cases),
                   me=lambda: str(app.conf.canonical_url))
install_guard(api, service=SERVICE, session_cookie=SESSION_COOKIE)  # the ops page's session
api.include_router(health_router(
    SERVICE, lambda: worker_ready() + ([] if directory.loaded else ["directory: not loaded"]),
    is_live=liveness(app)))
api.include_router(build_escalation_router(state_of=processor.state_of,
                                           send_command=send_command, clock=utc_now))
api.include_router(build_router(processor.summary_views, live, utc_now, deadlines=deadlines,
                                watch=ops_watch))
serve_api_in_worker(app, api, settings.port)
