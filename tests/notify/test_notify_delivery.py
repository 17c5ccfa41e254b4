"""Delivery lanes: retries with backoff, per-case order, no blocking, final failure, signatures."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web

from schemas.dead_letter import DeadLettered
from schemas.envelope import Event
from schemas.notifications import NotificationDelivered, NotificationFailed
from scripts.webhook_inbox import WebhookReceiver
from services.notify.delivery.dispatcher import Dispatcher
from services.notify.delivery.retry import RetryPolicy, backoff_delay
from services.notify.delivery.signing import verify
from services.notify.delivery.webhook import (
    MAX_RESPONSE_BYTES,
    AttemptResult,
    Endpoint,
    WebhookPoster,
)
from services.notify.domain.outbox import Notification, notification_id, webhook_body
from tests.unit.notify.notify_builders import T0

SECRET = b"test-secret"


def note(seq: int, *, case_id: str = "c1", subscriber: str = "spec-1") -> Notification:
    return Notification(
        notification_id=notification_id(f"cause-{case_id}-{seq}", "specialist", subscriber),
        case_id=case_id, seq=seq, audience="specialist", subscriber_id=subscriber,
        kind="assignment_offered", cause_event_id=f"cause-{seq}", created_at=T0,
    )


class FakeReceivers:
    """Per-subscriber scripted answers: fail the first N calls, then 200; records every call."""

    def __init__(self, fail_first: dict[str, int] | None = None, status: int = 500) -> None:
        self.fail_first = fail_first or {}
        self.status = status
        self.calls: list[tuple[str, int]] = []  # (subscriber, seq) per attempt
        self.delivered: list[tuple[str, str, int]] = []  # (subscriber, case, seq)
        self.gates: dict[str, asyncio.Event] = {}

    async def post(self, endpoint: Endpoint, n: Notification) -> AttemptResult:
        gate = self.gates.get(n.subscriber_id)
        if gate is not None:
            await gate.wait()  # a receiver that hangs until the test lets it answer
        self.calls.append((n.subscriber_id, n.seq))
        if self.fail_first.get(n.subscriber_id, 0) > 0:
            self.fail_first[n.subscriber_id] -= 1
            return AttemptResult(self.status, None, 0.001)
        self.delivered.append((n.subscriber_id, n.case_id, n.seq))
        return AttemptResult(200, None, 0.001)


class Directory:
    def __init__(self, known: bool = True, loaded: bool = True) -> None:
        self.known, self.loaded = known, loaded

    def endpoint(self, audience: str, subscriber_id: str) -> Endpoint | None:
        return Endpoint(f"http://hooks/{subscriber_id}", SECRET) if self.known else None

    def ready(self) -> bool:
        return self.loaded


class Rig:
    def __init__(self, receivers: FakeReceivers, retry: RetryPolicy | None = None,
                 resolver: Directory | None = None) -> None:
        self.owned = True
        self.events: list[Event] = []
        self.sleeps: list[float] = []
        self.now = T0
        self.dispatcher = Dispatcher(
            post=receivers.post, resolver=resolver or Directory(),
            retry=retry or RetryPolicy(base_seconds=1, cap_seconds=8, max_attempts=10),
            publish=self._publish, clock=lambda: self.now, sleep=self._sleep, rng=lambda: 0.5,
            owns=lambda n: self.owned,
        )

    async def _publish(self, event: Event) -> None:
        self.events.append(event)

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)
        await asyncio.sleep(0)

    def of_type(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]


async def test_retries_until_delivered_with_growing_jittered_backoff() -> None:
    receivers = FakeReceivers({"spec-1": 4})
    rig = Rig(receivers)
    rig.dispatcher.submit(note(1))
    await rig.dispatcher.idle()
    assert receivers.delivered == [("spec-1", "c1", 1)]
    assert rig.sleeps == [0.5, 1.0, 2.0, 4.0]  # rng 0.5 x min(cap 8, 1 * 2^(n-1))
    failed = rig.of_type(NotificationFailed)
    assert [(f.attempts, f.final) for f in failed] == [(1, False), (2, False), (4, False)]
    [done] = rig.of_type(NotificationDelivered)
    assert done.attempts == 5 and done.status_code == 200


async def test_a_case_is_delivered_in_sequence_order_even_after_failures() -> None:
    receivers = FakeReceivers({"spec-1": 3})
    rig = Rig(receivers)
    for seq in (1, 2, 3):
        rig.dispatcher.submit(note(seq))
    await rig.dispatcher.idle()
    assert [seq for _, _, seq in receivers.delivered] == [1, 2, 3]
    assert receivers.calls[:4] == [("spec-1", 1)] * 4  # 2 waits until 1 has succeeded


async def test_a_late_rescan_inserts_in_sequence_order_behind_the_head() -> None:
    receivers = FakeReceivers()
    receivers.gates["spec-1"] = gate = asyncio.Event()
    rig = Rig(receivers)
    for seq in (1, 4, 2, 3):
        rig.dispatcher.submit(note(seq))
    gate.set()
    await rig.dispatcher.idle()
    assert [seq for _, _, seq in receivers.delivered] == [1, 2, 3, 4]


async def test_a_hung_receiver_does_not_block_other_subscribers_or_cases() -> None:
    receivers = FakeReceivers()
    receivers.gates["slow"] = gate = asyncio.Event()
    rig = Rig(receivers)
    rig.dispatcher.submit(note(1, subscriber="slow"))
    rig.dispatcher.submit(note(1, subscriber="fast"))
    rig.dispatcher.submit(note(1, case_id="c2", subscriber="fast"))
    for _ in range(20):
        await asyncio.sleep(0)
    assert sorted(receivers.delivered) == [("fast", "c1", 1), ("fast", "c2", 1)]
    gate.set()
    await rig.dispatcher.idle()
    assert ("slow", "c1", 1) in receivers.delivered


async def test_giving_up_emits_a_final_failure_and_a_dead_letter() -> None:
    receivers = FakeReceivers({"spec-1": 99})
    rig = Rig(receivers, retry=RetryPolicy(base_seconds=1, cap_seconds=2, max_attempts=3))
    n = note(1)
    rig.dispatcher.submit(n)
    await rig.dispatcher.idle()
    final = [f for f in rig.of_type(NotificationFailed) if f.final]
    assert len(final) == 1 and final[0].attempts == 3 and "HTTP 500" in final[0].reason
    [dead] = rig.of_type(DeadLettered)
    assert dead.source_topic == "notify.outbox" and dead.source_offset == 1
    # ids and kind, not the webhook body (its data may quote the referrer; see erasure lanes)
    ref = json.loads(base64.b64decode(dead.original_value_b64))
    assert ref["notification_id"] == n.notification_id and "data" not in ref


async def test_total_time_budget_ends_retries() -> None:
    receivers = FakeReceivers({"spec-1": 99})
    retry = RetryPolicy(base_seconds=10, cap_seconds=10, max_attempts=1000, max_total_seconds=22)
    rig = Rig(receivers, retry=retry)
    rig.dispatcher.submit(note(1))
    await rig.dispatcher.idle()
    assert len(receivers.calls) == 5  # waits of 5 s each: the 6th would start after 25 s


async def test_the_budget_counts_from_the_lane_not_from_a_late_read_cause() -> None:
    """A message is dated by its cause event (identical bodies on re-application); a cause read
    7 h late (after an outage) still gets its retries, not one attempt and a dead letter."""
    receivers = FakeReceivers({"spec-1": 3})
    retry = RetryPolicy(base_seconds=10, cap_seconds=10, max_attempts=1000, max_total_seconds=22)
    rig = Rig(receivers, retry=retry)
    rig.now = T0 + timedelta(hours=7)
    rig.dispatcher.submit(note(1))  # created_at T0: its cause happened 7 h before the read
    await rig.dispatcher.idle()
    assert receivers.delivered == [("spec-1", "c1", 1)] and len(receivers.calls) == 4
    assert rig.of_type(DeadLettered) == []


async def test_client_errors_are_not_retried() -> None:
    receivers = FakeReceivers({"spec-1": 1}, status=400)
    rig = Rig(receivers)
    rig.dispatcher.submit(note(1))
    await rig.dispatcher.idle()
    assert len(receivers.calls) == 1
    assert [f.final for f in rig.of_type(NotificationFailed)] == [True]


async def test_unknown_subscriber_fails_once_the_directory_is_loaded() -> None:
    resolver = Directory(known=False, loaded=False)
    rig = Rig(FakeReceivers(), resolver=resolver)
    original_sleep = rig._sleep

    async def sleep_then_load(seconds: float) -> None:
        resolver.loaded = True
        await original_sleep(seconds)

    rig.dispatcher._sleep = sleep_then_load  # type: ignore[method-assign]
    rig.dispatcher.submit(note(1))
    await rig.dispatcher.idle()
    [failed] = rig.of_type(NotificationFailed)
    assert failed.final and "no webhook" in failed.reason


async def test_resubmitting_a_queued_or_settled_notification_is_ignored() -> None:
    receivers = FakeReceivers()
    rig = Rig(receivers)
    rig.dispatcher.submit(note(1))
    rig.dispatcher.submit(note(1))
    await rig.dispatcher.idle()
    rig.dispatcher.submit(note(1))
    await rig.dispatcher.idle()
    assert receivers.delivered == [("spec-1", "c1", 1)]


def test_backoff_is_full_jitter_capped() -> None:
    policy = RetryPolicy(base_seconds=2, cap_seconds=30)
    assert backoff_delay(policy, 1, lambda: 0.0) == 0.0
    assert backoff_delay(policy, 3, lambda: 0.5) == 4.0
    assert backoff_delay(policy, 50, lambda: 0.5) == 15.0


async def test_webhook_is_signed_and_keyed_by_notification_id() -> None:
    receiver = WebhookReceiver()
    poster = WebhookPoster(wall_clock=lambda: 1_800_000_000.0)
    try:
        n = note(7)
        result = await poster(Endpoint(f"{receiver.base_url}/hooks/spec-1", SECRET), n)
    finally:
        await poster.close()
        receiver.close()
    assert result.ok
    call = receiver.calls[0]
    assert call.path == "/hooks/spec-1"
    assert call.headers["idempotency-key"] == n.notification_id
    assert call.headers["x-timestamp"] == "1800000000"
    assert call.body == webhook_body(n)
    assert verify(SECRET, "1800000000", call.body, call.headers["x-signature"],
                  now=1_800_000_100.0)
    assert not verify(b"other", "1800000000", call.body, call.headers["x-signature"],
                      now=1_800_000_100.0)
    assert json.loads(call.body)["sequence"] == 7


async def test_network_errors_are_reported_as_retryable_results() -> None:
    poster = WebhookPoster(timeout_seconds=5)
    with socket.socket() as bound:  # bound, never listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        try:
            result = await poster(Endpoint(f"http://127.0.0.1:{port}/x", SECRET), note(1))
        finally:
            await poster.close()
    assert not result.ok and result.status_code is None
    assert result.describe() == "ConnectError"


async def _serve(handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                 ) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def test_posts_to_one_receiver_reuse_a_keep_alive_connection() -> None:
    peers: list[object] = []

    async def handler(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        return web.Response(status=204, text="")

    runner, url = await _serve(handler)
    poster = WebhookPoster()
    try:
        results = [await poster(Endpoint(f"{url}/hooks/spec-1", SECRET), note(seq))
                   for seq in (1, 2, 3)]
    finally:
        await poster.close()
        await runner.cleanup()
    assert [r.status_code for r in results] == [204, 204, 204]
    assert len(peers) == 3 and len(set(peers)) == 1  # one client port: one connection


async def test_a_long_response_body_is_not_read_to_the_end() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=503, body=b"x" * (MAX_RESPONSE_BYTES * 4))

    runner, url = await _serve(handler)
    poster = WebhookPoster()
    try:
        result = await poster(Endpoint(f"{url}/hooks/spec-1", SECRET), note(1))
    finally:
        await poster.close()
        await runner.cleanup()
    assert result.status_code == 503 and result.describe() == "HTTP 503"


async def test_a_case_moved_to_another_worker_stops_retrying_and_can_come_back() -> None:
    receivers = FakeReceivers({"spec-1": 2})
    rig = Rig(receivers)
    original_sleep = rig._sleep

    async def lose_partition(seconds: float) -> None:
        rig.owned = False  # a rebalance during the backoff
        await original_sleep(seconds)

    rig.dispatcher._sleep = lose_partition  # type: ignore[method-assign]
    rig.dispatcher.submit(note(1))
    await rig.dispatcher.idle()
    assert receivers.delivered == [] and len(receivers.calls) == 1
    assert not [f for f in rig.of_type(NotificationFailed) if f.final]
    rig.owned = True
    rig.dispatcher._sleep = original_sleep  # type: ignore[method-assign]
    rig.dispatcher.submit(note(1))  # the rescan after the partition returns
    await rig.dispatcher.idle()
    assert receivers.delivered == [("spec-1", "c1", 1)]
