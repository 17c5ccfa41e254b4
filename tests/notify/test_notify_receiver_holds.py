"""A receiver that throttles (429/503 with Retry-After) or cannot be reached is held back for all
its lanes: the others wait for it instead of each probing it, and waiting costs no attempts.

Time is virtual: sleeps wait until the test moves the clock on, so nothing really sleeps."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import datetime, timedelta

from aiohttp import web

from schemas.dead_letter import DeadLettered
from schemas.envelope import Event
from schemas.notifications import NotificationDelivered, NotificationFailed
from services.notify.delivery.dispatcher import Dispatcher
from services.notify.delivery.retry import RetryPolicy, parse_retry_after
from services.notify.delivery.slots import ReceiverHolds
from services.notify.delivery.webhook import (
    PER_RECEIVER_CONNECTIONS,
    AttemptResult,
    Endpoint,
    WebhookPoster,
)
from services.notify.domain.outbox import Notification
from tests.notify.test_notify_delivery import SECRET, Directory, _serve, note
from tests.unit.notify.notify_builders import T0

CASES = 50  # open cases of one referrer: fifty lanes to one receiver


class VirtualTime:
    """A clock and a sleep: a sleeper wakes only when advance() moves the clock past its time."""

    def __init__(self) -> None:
        self.now = T0
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def sleep(self, seconds: float) -> None:
        wake = asyncio.get_running_loop().create_future()
        at = self.now + timedelta(seconds=seconds)
        heapq.heappush(self._sleepers, (at, next(self._order), wake))
        await wake

    async def advance(self, seconds: float) -> None:
        end = self.now + timedelta(seconds=seconds)
        await settle()
        while self._sleepers and self._sleepers[0][0] <= end:
            at, _, wake = heapq.heappop(self._sleepers)
            self.now = max(self.now, at)
            if not wake.done():
                wake.set_result(None)
            await settle()
        self.now = end
        await settle()


async def settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


class Throttling:
    """One receiver: answers `status` with `retry_after` until told to accept; records calls.
    Answers are held until release() so requests overlap as real ones do."""

    def __init__(self, status: int | None = 429, retry_after: float | None = 3600.0) -> None:
        self.status, self.retry_after = status, retry_after
        self.accepting = False
        self.calls: list[str] = []
        self.open = asyncio.Event()
        self.open.set()

    async def post(self, endpoint: Endpoint, n: Notification) -> AttemptResult:
        self.calls.append(n.case_id)
        await self.open.wait()
        if self.accepting:
            return AttemptResult(200, None, 0.001)
        if self.status is None:
            return AttemptResult(None, "ConnectError", 0.001)
        return AttemptResult(self.status, None, 0.001, retry_after_seconds=self.retry_after)


def dispatcher(receiver: Throttling, time: VirtualTime, events: list[Event],
               retry: RetryPolicy | None = None) -> Dispatcher:
    async def publish(event: Event) -> None:
        events.append(event)

    return Dispatcher(post=receiver.post, resolver=Directory(), retry=retry or RetryPolicy(),
                      publish=publish, clock=lambda: time.now, sleep=time.sleep,
                      rng=lambda: 0.5)


def submit_cases(d: Dispatcher, kind: str = "assignment_offered") -> None:
    for i in range(CASES):
        d.submit(note(1, case_id=f"case-{i}", subscriber="ref-1").model_copy(
            update={"kind": kind}))


async def test_a_retry_after_holds_back_every_lane_of_the_receiver() -> None:
    receiver, time, events = Throttling(), VirtualTime(), []
    d = dispatcher(receiver, time, events)
    receiver.open.clear()  # the first requests are all under way before any answer comes
    submit_cases(d)
    await settle()
    receiver.open.set()
    await time.advance(10)
    # Only the requests already sent before the first 429 came back (the receiver's share).
    assert len(receiver.calls) == PER_RECEIVER_CONNECTIONS
    await time.advance(3580)  # just short of the hour it asked for
    assert len(receiver.calls) == PER_RECEIVER_CONNECTIONS
    await time.advance(10)  # the hour is up: one lane probes, the others wait for its answer
    assert len(receiver.calls) == PER_RECEIVER_CONNECTIONS + 1
    await time.advance(3000)  # the probe was told 429 again: nobody else tries meanwhile
    assert len(receiver.calls) == PER_RECEIVER_CONNECTIONS + 1

    receiver.accepting = True
    await time.advance(700)  # the next probe succeeds: every lane goes at once
    await d.idle()
    delivered = [e for e in events if isinstance(e, NotificationDelivered)]
    assert len(delivered) == CASES
    assert len(receiver.calls) == PER_RECEIVER_CONNECTIONS + 2 + CASES - 1
    # Waiting for the receiver burnt no attempts: a lane that never sent before sends once.
    attempts = sorted(e.attempts for e in delivered)
    assert attempts.count(1) == CASES - PER_RECEIVER_CONNECTIONS
    assert max(attempts) <= 3
    assert not [e for e in events if isinstance(e, DeadLettered)]


async def test_an_unreachable_receiver_is_probed_by_one_lane_at_a_time() -> None:
    receiver, time, events = Throttling(status=None, retry_after=None), VirtualTime(), []
    d = dispatcher(receiver, time, events)
    submit_cases(d)
    await time.advance(600)
    # Without the hold each of the 50 lanes retried on its own back-off: hundreds of calls.
    # With it one probe at a time, at most every 30 s (1, 2, 4, 8, 16, then 30 s apart).
    assert len(receiver.calls) < 30 and set(receiver.calls) == {"case-0"}
    receiver.accepting = True
    await time.advance(600)
    await d.idle()
    assert len([e for e in events if isinstance(e, NotificationDelivered)]) == CASES


async def test_a_receiver_back_from_an_outage_gets_its_backlog_within_half_a_minute() -> None:
    # Chaos (a 60 s outage): every lane's failure counted as one more for the receiver, and the
    # hold grew to the 300 s retry cap, past the backlog's drain. Only a probe's failure counts
    # now, and a receiver without a Retry-After is probed at least every 30 s.
    receiver, time, events = Throttling(status=None, retry_after=None), VirtualTime(), []
    d = dispatcher(receiver, time, events)
    receiver.open.clear()  # the first requests are all under way when the receiver goes away
    submit_cases(d)
    await settle()
    receiver.open.set()
    await time.advance(70)
    receiver.accepting = True
    await time.advance(31)
    await asyncio.wait_for(d.idle(), 5)
    assert len([e for e in events if isinstance(e, NotificationDelivered)]) == CASES


async def test_an_emergencys_retries_follow_its_own_attempts_not_other_lanes_failures() -> None:
    receiver, time, events = Throttling(status=None, retry_after=None), VirtualTime(), []
    d = dispatcher(receiver, time, events)
    receiver.open.clear()  # the first requests are all under way when the receiver goes away
    submit_cases(d)  # fifty lanes failing against the same receiver
    d.submit(note(1, case_id="urgent", subscriber="ref-1").model_copy(
        update={"kind": "emergency_page"}))
    await settle()
    receiver.open.set()
    await time.advance(20)
    receiver.accepting = True
    await time.advance(20)  # its own back-off (rng 0.5): retries at 0.5, 1.5, 3.5 ... 31.5 s
    delivered = [e.case_id for e in events if isinstance(e, NotificationDelivered)]
    assert "urgent" in delivered
    await d.close()


async def test_a_receiver_held_past_the_budget_dead_letters_every_lane_in_time() -> None:
    receiver, time, events = Throttling(retry_after=3600), VirtualTime(), []
    d = dispatcher(receiver, time, events, RetryPolicy(max_total_seconds=5000))
    submit_cases(d)
    await time.advance(3600)  # the probe at the hour is told to wait another hour: too late
    dead = [e for e in events if isinstance(e, DeadLettered)]
    assert len(dead) == CASES and len(receiver.calls) == 2
    final = [e for e in events if isinstance(e, NotificationFailed) and e.final]
    assert len(final) == CASES and all("HTTP 429" in f.reason for f in final)
    await asyncio.wait_for(d.idle(), 5)


async def test_a_huge_retry_after_is_capped_at_the_retry_budget() -> None:
    receiver, time, events = Throttling(retry_after=10.0 ** 12), VirtualTime(), []
    d = dispatcher(receiver, time, events, RetryPolicy(max_total_seconds=600))
    d.submit(note(1, subscriber="ref-1"))
    await time.advance(600)  # held the whole budget, not 30,000 years; then given up
    [dead] = [e for e in events if isinstance(e, DeadLettered)]
    assert "HTTP 429" in dead.reason and len(receiver.calls) == 2
    await asyncio.wait_for(d.idle(), 5)


async def test_an_emergency_is_not_held_back_by_other_lanes_throttling() -> None:
    receiver, time, events = Throttling(), VirtualTime(), []
    d = dispatcher(receiver, time, events)
    d.submit(note(1, case_id="routine", subscriber="ref-1"))
    await time.advance(1)
    receiver.accepting = True  # the receiver would take it: an emergency should not wait
    d.submit(note(1, case_id="urgent", subscriber="ref-1").model_copy(
        update={"kind": "status_emergency"}))
    await time.advance(1)
    delivered = [e.case_id for e in events if isinstance(e, NotificationDelivered)]
    assert delivered == ["urgent"]  # the routine one still waits out its hour
    await d.close()


def test_retry_after_is_delta_seconds_or_an_http_date_and_garbage_is_ignored() -> None:
    now = datetime(2026, 1, 1, tzinfo=T0.tzinfo).timestamp()
    assert parse_retry_after("120", now=now) == 120.0
    assert parse_retry_after(" 0 ", now=now) == 0.0
    assert parse_retry_after("Thu, 01 Jan 2026 01:00:00 GMT", now=now) == 3600.0
    assert parse_retry_after("Wed, 31 Dec 2025 23:00:00 GMT", now=now) == 0.0  # past: now
    for garbage in (None, "", "-5", "1e9", "inf", "1.5", "soon", "²", "9" * 65,
                    "Mon, 01 Jan 10000 00:00:00 GMT"):
        assert parse_retry_after(garbage, now=now) is None, garbage


def test_held_receivers_are_capped() -> None:
    holds = ReceiverHolds(probe_seconds=20, max_receivers=3)
    for i in range(10):
        holds.failed(("http", f"r{i}", None), now=T0, retry_after=100 - i, reason="HTTP 503")
    assert len(holds) == 3
    assert holds.wait_seconds(("http", "r9", None), T0, "n") == 91  # the latest kept


async def test_the_poster_reads_retry_after_on_429_and_503_only() -> None:
    answers = iter([(429, "30"), (503, "Thu, 01 Jan 2026 00:02:00 GMT"), (500, "30"),
                    (429, "tomorrow")])

    async def handler(request: web.Request) -> web.Response:
        status, retry_after = next(answers)
        return web.Response(status=status, headers={"Retry-After": retry_after})

    runner, url = await _serve(handler)
    now = datetime(2026, 1, 1, tzinfo=T0.tzinfo).timestamp()
    poster = WebhookPoster(wall_clock=lambda: now)
    try:
        results = [await poster(Endpoint(f"{url}/hook", SECRET), note(seq)) for seq in range(1, 5)]
    finally:
        await poster.close()
        await runner.cleanup()
    assert [(r.status_code, r.retry_after_seconds) for r in results] == [
        (429, 30.0), (503, 120.0), (500, None), (429, None)]
