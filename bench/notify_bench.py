"""Notify figures: event handling rate, table rescan time, webhook delivery rate and latency.

    python bench/notify_bench.py [--cases N] [--deliveries N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from schemas.envelope import Event  # noqa: E402
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


async def _discard(event: Event) -> None:
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


async def bench_processor(n_cases: int) -> None:
    clock = {"now": T0}
    cases: dict[str, bytes] = {}
    processor = NotifyProcessor(
        cases=cases, summaries={}, policy=NotifyPolicy(), contacts=FakeContacts(),
        clock=lambda: clock["now"], publish=_discard, submit=lambda note: None,
    )
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

    async with httpx.AsyncClient(timeout=10) as client:
        dispatcher = Dispatcher(
            post=WebhookPoster(client), resolver=_Inbox(receiver.base_url),
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
    receiver.close()
    p50, p99 = statistics.median(latencies), statistics.quantiles(latencies, n=100)[98]
    print(f"delivery:  {n} webhooks ({fail_first} first calls fail) in {elapsed:.2f} s = "
          f"{n / elapsed:,.0f}/s; queue-to-delivered p50 {p50 * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms (everything queued at t=0)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--deliveries", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(bench_processor(args.cases))
    asyncio.run(bench_delivery(args.deliveries, fail_first=0))
    asyncio.run(bench_delivery(args.deliveries, fail_first=200))
    return 0


if __name__ == "__main__":
    sys.exit(main())
