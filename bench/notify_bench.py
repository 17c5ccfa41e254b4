"""Notify figures: event handling rate, table rescan time, webhook delivery rate and latency.

    python bench/notify_bench.py [--cases N] [--deliveries N] [--profile]

Two event mixes go through NotifyProcessor.handle: a whole case life with ticks, and what the
pipeline bench makes notify handle per referral (wire bytes parsed at the edge, as the agents
do). --profile prints the cProfile top entries of the pipeline mix.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pipeline_bench import referral  # noqa: E402
from schemas import topics  # noqa: E402
from schemas.envelope import Event, derive_id  # noqa: E402
from schemas.notifications import NotificationDelivered  # noqa: E402
from schemas.referral import Referral  # noqa: E402
from schemas.registry import parse_event  # noqa: E402
from schemas.routing import PlanStepReleased  # noqa: E402
from scripts.webhook_inbox import WebhookReceiver  # noqa: E402
from services.common.consume import EventMeta  # noqa: E402
from services.notify.delivery.dispatcher import Dispatcher  # noqa: E402
from services.notify.delivery.retry import RetryPolicy  # noqa: E402
from services.notify.delivery.webhook import Endpoint, WebhookPoster  # noqa: E402
from services.notify.domain.outbox import Notification, notification_id  # noqa: E402
from services.notify.domain.policy import NotifyPolicy  # noqa: E402
from services.notify.processor import NotifyProcessor  # noqa: E402
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


def pipeline_mix(n_cases: int) -> list[tuple[str, bytes]]:
    """Per referral, as in the pipeline bench: received, triaged, released, offered, delivered."""
    wire: list[tuple[str, bytes]] = []
    for i in range(n_cases):
        case_id = f"pipe-{i}"
        flow = CaseFlow(case_id=case_id, referrer_id="ref-bench")
        received = flow.received(T0).model_copy(
            update={"referral": Referral.model_validate(referral(i))})
        released = PlanStepReleased(event_id=derive_id(case_id, "released"), case_id=case_id,
                                    occurred_at=T0, step_id="s1", team="spine_surgery")
        delivered = NotificationDelivered(
            event_id=derive_id(case_id, "delivered"), case_id=case_id, occurred_at=T0,
            notification_id=derive_id(case_id, "n1"), audience="specialist",
            subscriber_id="spec-1", kind="assignment_offered", attempts=1, status_code=200,
            latency_ms=1.0)
        wire += [(topics.REFERRAL_EVENTS, received.to_bytes()),
                 (topics.CASE_TRIAGED, flow.triaged(T0).to_bytes()),
                 (topics.ROUTING_EVENTS, released.to_bytes()),
                 (topics.ROUTING_EVENTS, flow.offered(T0).to_bytes()),
                 (topics.NOTIFICATION_EVENTS, delivered.to_bytes())]
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
    elapsed = time.perf_counter() - start
    print(f"processor: {len(events)} events for {n_cases} cases in {elapsed:.2f} s "
          f"= {len(events) / elapsed:,.0f} events/s (domain + table JSON + read model)")
    start = time.perf_counter()
    processor.rescan(lambda partition: True)
    print(f"rescan:    {len(cases)} case rows in {(time.perf_counter() - start) * 1000:.0f} ms")


async def bench_pipeline_mix(wire: list[tuple[str, bytes]], n_cases: int) -> None:
    processor, _ = _processor(T0)
    start = time.perf_counter()
    for offset, (topic, raw) in enumerate(wire):
        await processor.handle(parse_event(topic, raw), EventMeta(topic, 0, offset, None))
    elapsed = time.perf_counter() - start
    print(f"pipeline mix: {len(wire)} events in {elapsed:.2f} s = {len(wire) / elapsed:,.0f} "
          f"events/s, {elapsed * 1000 / n_cases:.3f} ms per referral (parse + handle)")


def profile_pipeline_mix(n_cases: int, top: int = 15) -> None:
    wire = pipeline_mix(n_cases)
    profiler = cProfile.Profile()
    profiler.runcall(asyncio.run, bench_pipeline_mix(wire, n_cases))
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


class _Inbox:
    def __init__(self, url: str) -> None:
        self.url = url

    def endpoint(self, audience: str, subscriber_id: str) -> Endpoint:
        return Endpoint(f"{self.url}/hooks/{subscriber_id}", b"bench-secret")

    def ready(self) -> bool:
        return True


async def bench_delivery(n: int, fail_first: int) -> None:
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
    args = parser.parse_args()
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
