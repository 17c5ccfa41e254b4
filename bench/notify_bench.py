"""Notify figures: event handling rate, table rescan time, webhook delivery rate and latency.

    python bench/notify_bench.py [--cases N] [--deliveries N] [--profile]
    python bench/notify_bench.py --kafka [--referrals N] [--rate R]

Two event mixes go through NotifyProcessor.handle: a whole case life with ticks, and what the
pipeline bench makes notify handle per referral (wire bytes parsed at the edge, as the agents
do). --profile prints the cProfile top entries of the pipeline mix. --kafka runs the notify
worker process alone on a local broker and feeds it that mix at a fixed rate: its CPU per
referral without the other services competing for the cores, and offer-to-webhook latency.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from aiokafka import AIOKafkaProducer  # noqa: E402

from bench.cluster import cpu_seconds  # noqa: E402
from bench.pipeline_bench import directory, referral  # noqa: E402
from schemas import topics  # noqa: E402
from schemas.directory import Specialist  # noqa: E402
from schemas.envelope import Event, derive_id  # noqa: E402
from schemas.notifications import NotificationDelivered  # noqa: E402
from schemas.referral import Referral  # noqa: E402
from schemas.registry import parse_event  # noqa: E402
from schemas.routing import AssignmentOffered  # noqa: E402
from scripts.localsystem import ServiceProcess, service_env  # noqa: E402
from scripts.webhook_inbox import WebhookReceiver  # noqa: E402
from services.common.consume import EventMeta  # noqa: E402
from services.notify.dashboard.ops_watch import OpsWatch  # noqa: E402
from services.notify.delivery.dispatcher import Dispatcher  # noqa: E402
from services.notify.delivery.retry import RetryPolicy  # noqa: E402
from services.notify.delivery.webhook import Endpoint, WebhookPoster  # noqa: E402
from services.notify.domain.outbox import Notification, notification_id  # noqa: E402
from services.notify.domain.policy import NotifyPolicy  # noqa: E402
from services.notify.domain.watchdog import WatchdogPolicy, find_stalls  # noqa: E402
from services.notify.processor import NotifyProcessor  # noqa: E402
from services.routing.seed import publish as publish_directory  # noqa: E402
from tests.support.broker import LocalBroker  # noqa: E402
from tests.unit.notify.notify_builders import CaseFlow, FakeContacts  # noqa: E402

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def _discard(events: object) -> None:
    return None


def case_events(n_cases: int) -> list[Event]:
    """A whole case life (received .. completed) plus three ticks, per case."""
    events: list[Event] = []
    for i in range(n_cases):
        flow = CaseFlow(case_id=f"bench-{i}")
        events += [flow.received(T0), flow.triaged(T0), flow.offered(T0)]
        events += [flow.tick(T0 + timedelta(minutes=m)) for m in (91, 109, 121)]
        events += [flow.accepted(T0 + timedelta(minutes=130)),
                   flow.step_completed(T0 + timedelta(hours=5)),
                   flow.case_completed(T0 + timedelta(hours=5))]
    return events


# Two plan steps per referral, as the pipeline bench's routing produces (two offer webhooks).
STEPS = (("s1", "pain_medicine", "pain_medicine"), ("s2", "spine_radiology", "neuroradiologist"))


def referral_events(i: int, case_id: str, at: datetime) -> list[tuple[str, Event]]:
    """What notify consumes per referral from the other services: received .. two offers."""
    flow = CaseFlow(case_id=case_id, referrer_id="ref-bench")
    received = flow.received(at).model_copy(
        update={"referral": Referral.model_validate(referral(i))})
    out: list[tuple[str, Event]] = [(topics.REFERRAL_EVENTS, received),
                                    (topics.CASE_TRIAGED, flow.triaged(at))]
    for step, team, role in STEPS:  # a step's first offer says it is released (no event)
        offered = flow.offered(at, specialist=f"bench-{role}-{i % 20}", step=step).model_copy(
            update={"team": team})
        out.append((topics.ROUTING_EVENTS, offered))
    return out


def pipeline_mix(n_cases: int) -> list[tuple[str, bytes]]:
    """The wire bytes of referral_events plus notify's own delivery outcomes read back."""
    wire: list[tuple[str, bytes]] = []
    for i in range(n_cases):
        case_id = f"pipe-{i}"
        events = referral_events(i, case_id, T0)
        events += [(topics.NOTIFICATION_EVENTS, NotificationDelivered(
            event_id=derive_id(case_id, "delivered", step), case_id=case_id, occurred_at=T0,
            notification_id=derive_id(case_id, "n", step), audience="specialist",
            subscriber_id="spec-1", kind="assignment_offered", attempts=1, status_code=200,
            latency_ms=1.0)) for step, _, _ in STEPS]
        wire += [(topic, event.to_bytes()) for topic, event in events]
    return wire


def _processor(now: datetime) -> tuple[NotifyProcessor, dict[str, bytes]]:
    cases: dict[str, bytes] = {}
    processor = NotifyProcessor(
        cases=cases, summaries={}, policy=NotifyPolicy(), contacts=FakeContacts(),
        clock=lambda: now, publish=_discard, submit=lambda note: None,
    )
    return processor, cases


async def bench_processor(n_cases: int) -> None:
    clock = {"now": T0}
    processor, cases = _processor(T0)
    processor.clock = lambda: clock["now"]
    events = case_events(n_cases)
    start = time.perf_counter()
    for offset, event in enumerate(events):
        clock["now"] = event.occurred_at
        await processor.handle(event, EventMeta("routing.events.v1", 0, offset, None))
    processor.flush()  # what the commits would write
    elapsed = time.perf_counter() - start
    print(f"processor: {len(events)} events for {n_cases} cases in {elapsed:.2f} s "
          f"= {len(events) / elapsed:,.0f} events/s (domain + table JSON + read model)")
    start = time.perf_counter()
    await processor.rescan(lambda partition: True)
    print(f"rescan:    {len(cases)} case rows in {(time.perf_counter() - start) * 1000:.0f} ms")


async def bench_pipeline_mix(wire: list[tuple[str, bytes]], n_cases: int) -> None:
    processor, _ = _processor(T0)
    start = time.perf_counter()
    for offset, (topic, raw) in enumerate(wire):
        await processor.handle(parse_event(topic, raw), EventMeta(topic, 0, offset, None))
    processor.flush()  # what the commits would write
    elapsed = time.perf_counter() - start
    print(f"pipeline mix: {len(wire)} events in {elapsed:.2f} s = {len(wire) / elapsed:,.0f} "
          f"events/s, {elapsed * 1000 / n_cases:.3f} ms per referral (parse + handle)")
    await bench_stall_watch(processor, n_cases)


async def bench_stall_watch(processor: NotifyProcessor, n_cases: int, rounds: int = 5) -> None:
    """The timer's stall look (every 5 s): over every summary row (before 2026-11-27, and still
    at each 30 s forecast) and over the rows of cases that may stall (between forecasts); 1 %
    more cases only received, as if triage were behind."""
    for i in range(n_cases // 100):
        topic, event = referral_events(n_cases + i, f"waiting-{i}", T0)[0]
        await processor.handle(event, EventMeta(topic, 0, i, None))
    processor.flush()
    later = T0 + timedelta(hours=1)
    for name, rows in (("every row", processor.summary_views),
                       ("may stall", processor.unsettled_views)):
        start = time.perf_counter()
        for _ in range(rounds):
            looked = list(rows())
            find_stalls(looked, now=later, policy=WatchdogPolicy())
        ms = (time.perf_counter() - start) * 1000 / rounds
        print(f"stall watch, {name}: {len(looked)} rows in {ms:.1f} ms per tick")
    rows = list(processor.summary_views())
    start = time.perf_counter()
    OpsWatch().assess(rows, None, later, with_forecast=True)
    print(f"forecast over {len(rows)} parsed rows: "
          f"{(time.perf_counter() - start) * 1000:.1f} ms (every 30 s, after the parse above)")


def profile_pipeline_mix(n_cases: int, top: int = 15) -> None:
    wire = pipeline_mix(n_cases)
    profiler = cProfile.Profile()
    profiler.runcall(asyncio.run, bench_pipeline_mix(wire, n_cases))
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


async def feed(bootstrap: str, first: int, count: int, rate: float) -> dict[str, float]:
    """Produce `count` referrals' events at `rate`/s; returns offer webhook path -> send time."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=1)
    await producer.start()
    sent: dict[str, float] = {}
    try:
        began = time.monotonic()
        for n in range(count):
            await asyncio.sleep(max(0.0, began + n / rate - time.monotonic()))
            i = first + n
            for topic, event in referral_events(i, f"kbench-{i}", datetime.now(UTC)):
                await producer.send(topic, key=event.case_id.encode(), value=event.to_bytes())
                if isinstance(event, AssignmentOffered):
                    sent[f"{event.case_id}/{event.specialist_id}"] = time.time()
        await producer.flush()
    finally:
        await producer.stop()
    return sent


def _outcomes_read(notify: ServiceProcess) -> float:
    """Webhooks notify has settled as delivered (its delivery outcome applied to the case: it no
    longer reads its own NotificationDelivered back, so the events-processed count never moves)."""
    total = 0.0
    for line in httpx.get(notify.url + "/metrics", timeout=5).text.splitlines():
        if line.startswith("notify_deliveries_total") and 'outcome="delivered"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def _arrivals(inbox: WebhookReceiver) -> dict[str, float]:
    return {f"{c.json()['case_id']}/{c.path.rsplit('/', 1)[1]}": c.received_wall
            for c in list(inbox.calls)}


def _settle(notify: ServiceProcess, inbox: WebhookReceiver, webhooks: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(inbox.calls) >= webhooks and _outcomes_read(notify) >= webhooks:
            return
        time.sleep(0.2)
    raise TimeoutError(f"{len(inbox.calls)} of {webhooks} webhooks")


def bench_kafka(referrals: int, rate: float, warm_up: int = 50) -> dict[str, object]:
    """The notify worker alone on a local broker, fed the pipeline's per-referral events."""
    work = Path(tempfile.mkdtemp(prefix="notify-bench-"))
    broker = LocalBroker(work / "kafka").start()
    inbox = WebhookReceiver()
    env = service_env(bootstrap=broker.bootstrap, data_dir=work / "data", prefix="nbench-",
                      extra={"LOG_LEVEL": "WARNING",
                             "NOTIFY_SUBSCRIBERS_FILE": str(work / "none.json")})
    notify = ServiceProcess("notify", env, work).start()
    try:
        people = [Specialist.model_validate(p) for p in directory(inbox.base_url)]
        asyncio.run(publish_directory(people, broker.bootstrap))
        notify.wait_healthy()
        asyncio.run(feed(broker.bootstrap, 0, warm_up, rate))
        _settle(notify, inbox, warm_up * len(STEPS), 120)
        assert notify.proc is not None
        cpu_before, started = cpu_seconds(notify.proc.pid), time.monotonic()
        sent = asyncio.run(feed(broker.bootstrap, warm_up, referrals, rate))
        _settle(notify, inbox, (warm_up + referrals) * len(STEPS), 300)
        cpu = cpu_seconds(notify.proc.pid) - cpu_before
        elapsed = time.monotonic() - started
        arrived = _arrivals(inbox)
        latency = sorted((arrived[k] - t) * 1000 for k, t in sent.items() if k in arrived)
    finally:
        notify.stop()
        inbox.close()
        broker.stop()
    return {"referrals": referrals, "rate_per_s": rate, "webhooks": len(latency),
            "cpu_ms_per_referral": round(cpu * 1000 / referrals, 2),
            "cpu_percent": round(100 * cpu / elapsed, 1),
            "offered_to_webhook_ms_p50": round(latency[len(latency) // 2], 1),
            "offered_to_webhook_ms_p99": round(latency[int(len(latency) * 0.99) - 1], 1)}


class _Inbox:
    def __init__(self, url: str) -> None:
        self.url = url

    def endpoint(self, audience: str, subscriber_id: str) -> Endpoint:
        return Endpoint(f"{self.url}/hooks/{subscriber_id}", b"bench-secret")

    def ready(self) -> bool:
        return True


async def bench_delivery(n: int, fail_first: int) -> None:
    # The receiver is on loopback over http: only development mode lets webhooks go there
    # (services/common/webhook_targets.py); without it every delivery was refused.
    os.environ["SPINE_ENV"] = "development"
    receiver = WebhookReceiver(fail_first=fail_first)
    latencies: list[float] = []
    created = datetime.now(UTC)

    async def record(event: Event) -> None:
        if type(event).__name__ == "NotificationDelivered":
            latencies.append((event.occurred_at - created).total_seconds())

    poster = WebhookPoster(timeout_seconds=10)
    try:
        dispatcher = Dispatcher(
            post=poster, resolver=_Inbox(receiver.base_url),
            retry=RetryPolicy(base_seconds=0.01, cap_seconds=0.1), publish=record,
            clock=lambda: datetime.now(UTC),
        )
        start = time.perf_counter()
        for i in range(n):  # 50 cases x 4 subscribers: 200 lanes
            case, subscriber = f"case-{i % 50}", f"sub-{i % 4}"
            dispatcher.submit(Notification(
                notification_id=notification_id(f"cause-{i}", "specialist", subscriber),
                case_id=case, seq=i + 1, audience="specialist", subscriber_id=subscriber,
                kind="bench", cause_event_id=f"cause-{i}", created_at=created,
            ))
        await dispatcher.idle()
        elapsed = time.perf_counter() - start
    finally:
        await poster.close()
    receiver.close()
    p50, p99 = statistics.median(latencies), statistics.quantiles(latencies, n=100)[98]
    print(f"delivery:  {n} webhooks ({fail_first} first calls fail) in {elapsed:.2f} s = "
          f"{n / elapsed:,.0f}/s; queue-to-delivered p50 {p50 * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms (everything queued at t=0)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--profile", action="store_true", help="cProfile the pipeline mix")
    parser.add_argument("--kafka", action="store_true", help="the worker alone on a broker")
    parser.add_argument("--referrals", type=int, default=600)
    parser.add_argument("--rate", type=float, default=30.0, help="referrals per second")
    args = parser.parse_args()
    if args.kafka:
        print(json.dumps(bench_kafka(args.referrals, args.rate), indent=2))
        return 0
    if args.profile:
        profile_pipeline_mix(args.cases)
        return 0
    asyncio.run(bench_processor(args.cases))
    asyncio.run(bench_pipeline_mix(pipeline_mix(args.cases), args.cases))
    asyncio.run(bench_delivery(args.deliveries, fail_first=0))
    asyncio.run(bench_delivery(args.deliveries, fail_first=200))
    return 0


if __name__ == "__main__":
    sys.exit(main())
