"""A slow receiver costs only its own deliveries: every attempt ends by its deadline however the
receiver paces its answer (services/notify/delivery/webhook.py), a receiver holds at most its
share of the delivery slots, and emergency pages are served first (delivery/slots.py)."""

from __future__ import annotations

import asyncio
import time

import pytest

from schemas.envelope import Event
from schemas.notifications import NotificationDelivered
from services.notify.delivery.dispatcher import Dispatcher, Post, Publish
from services.notify.delivery.retry import RetryPolicy
from services.notify.delivery.webhook import (
    DEADLINE_EXCEEDED,
    PER_RECEIVER_CONNECTIONS,
    AttemptResult,
    Endpoint,
    WebhookPoster,
)
from services.notify.domain.outbox import Notification
from tests.notify.test_notify_asyncio_backend import Receiver, read_request, serving
from tests.notify.test_notify_delivery import SECRET, note
from tests.notify.test_notify_webhook_targets import Resolver
from tests.unit.notify.notify_builders import T0

BODY = b"ok" * 10
HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n"
ANSWER = HEAD + BODY


class Drip:
    """A receiver sending `prompt` at once, then the rest of its 200 a byte every `gap` seconds:
    each gap well inside the read timeout, the whole answer far past it. It stops once notify
    has hung up."""

    def __init__(self, prompt: bytes, gap: float = 0.3) -> None:
        self.prompt, self.gap = prompt, gap
        self.hung_up = asyncio.Event()

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await read_request(reader)
            writer.write(self.prompt)
            for byte in ANSWER[len(self.prompt):]:
                await writer.drain()
                await asyncio.sleep(self.gap)
                if reader.at_eof():
                    self.hung_up.set()
                    return
                writer.write(bytes([byte]))
            await writer.drain()
        except ConnectionError:
            self.hung_up.set()
        finally:
            writer.close()


@pytest.mark.parametrize("prompt", [b"", HEAD], ids=["status-line-dripped", "body-dripped"])
async def test_a_receiver_dripping_its_answer_fails_the_attempt_by_its_deadline(
        prompt: bytes) -> None:
    poster = WebhookPoster(timeout_seconds=1.0, check_target=lambda url: None)
    receiver = Drip(prompt)
    try:
        async with serving(receiver) as port:
            started = time.perf_counter()
            result = await poster(Endpoint(f"http://127.0.0.1:{port}/hooks/ref-1", SECRET),
                                  note(1))
            took = time.perf_counter() - started
            # the connection is dropped, not kept for the next request half-read
            await asyncio.wait_for(receiver.hung_up.wait(), 1.0)
    finally:
        await poster.close()
    # Without the deadline: a 200 after 0.3 s x 60 bytes = 18 s, or x 20 bytes of body = 6 s.
    assert took < 1.5
    assert (result.ok, result.status_code, result.final) == (False, None, False)  # retried
    assert result.describe() == DEADLINE_EXCEEDED == "AttemptTimeout"  # no byte of the answer


class Silent:
    """A receiver that reads each request and never answers until notify hangs up; records the
    most requests it held at once."""

    def __init__(self) -> None:
        self.open = self.most = 0

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await read_request(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        self.open += 1
        self.most = max(self.most, self.open)
        try:
            await reader.read()  # until EOF: notify gave up on it
        except ConnectionError:
            pass
        finally:
            self.open -= 1
            writer.close()


def page(subscriber: str = "oncall", case_id: str = "c-emergency") -> Notification:
    return note(1, case_id=case_id, subscriber=subscriber).model_copy(
        update={"kind": "emergency_page"})


def dispatcher(post: Post, hooks: Resolver, publish: Publish, concurrency: int = 16) -> Dispatcher:
    return Dispatcher(post=post, resolver=hooks, retry=RetryPolicy(), publish=publish,
                      clock=lambda: T0, concurrency=concurrency)


async def test_a_slow_receiver_with_many_open_cases_does_not_hold_up_an_on_call_page() -> None:
    """40 open cases at a referrer that never answers, then an on-call page elsewhere: before,
    16 of the referrer's requests held all 16 slots (8 sent, 8 waiting for its pool) and the
    page waited two attempt deadlines behind the rest of its queue."""
    slow, oncall = Silent(), Receiver()
    delivered = asyncio.Event()

    async def publish(event: Event) -> None:
        if isinstance(event, NotificationDelivered):
            delivered.set()

    poster = WebhookPoster(timeout_seconds=3.0, check_target=lambda url: None)
    async with serving(slow) as slow_port, serving(oncall) as oncall_port:
        lanes = dispatcher(poster, Resolver({"ref-slow": f"http://127.0.0.1:{slow_port}/h",
                                          "oncall": f"http://127.0.0.1:{oncall_port}/h"}),
                           publish)
        try:
            for case in range(40):
                lanes.submit(note(1, case_id=f"c{case}", subscriber="ref-slow"))
            await asyncio.sleep(0.3)  # the referrer's lanes have taken all they can
            started = time.perf_counter()
            lanes.submit(page())
            await asyncio.wait_for(delivered.wait(), 15)
            took = time.perf_counter() - started
        finally:
            await lanes.close()
            await poster.close()
    assert took < 1.0  # a third of one attempt's deadline; it was 6 s
    assert oncall.requests == 1 and slow.most == PER_RECEIVER_CONNECTIONS


class Held:
    """A post that records each attempt's receiver and kind and answers when the test says."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []  # (host, kind)
        self.answers: list[asyncio.Future[AttemptResult]] = []

    async def __call__(self, endpoint: Endpoint, n: Notification) -> AttemptResult:
        self.calls.append((endpoint.url.split("/")[2], n.kind))
        answer = asyncio.get_running_loop().create_future()
        self.answers.append(answer)
        return await answer

    async def answer_first(self) -> None:
        self.answers[0].set_result(AttemptResult(200, None, 0.001))
        for _ in range(20):
            await asyncio.sleep(0)


async def nothing(event: Event) -> None:
    pass


async def test_an_emergency_page_goes_before_what_waits_for_its_own_busy_receiver() -> None:
    """Every specialist behind one hospital gateway, its share of slots (2 of 4) held: the page
    is the next request it gets, not the sixth."""
    held = Held()
    lanes = dispatcher(held, Resolver({s: f"https://gateway.example/hooks/{s}"
                                    for s in ("spec-1", "oncall")}), nothing, concurrency=4)
    try:
        for case in range(6):
            lanes.submit(note(1, case_id=f"c{case}"))
        await asyncio.sleep(0)
        lanes.submit(page())
        for _ in range(20):
            await asyncio.sleep(0)
        assert len(held.calls) == 2  # the gateway's share
        await held.answer_first()
        assert held.calls[2] == ("gateway.example", "emergency_page")
    finally:
        await lanes.close()


async def test_an_emergency_page_goes_before_deliveries_queued_for_a_slot() -> None:
    """Both slots held by two slow receivers, three other receivers queued for one: the page
    takes the first slot to come free."""
    held = Held()
    hosts = ("slow-1", "slow-2", "a", "b", "c", "oncall")
    lanes = dispatcher(held, Resolver({h: f"https://{h}.example/h" for h in hosts}), nothing,
                       concurrency=2)
    try:
        for host in hosts[:-1]:
            lanes.submit(note(1, subscriber=host))
            await asyncio.sleep(0)
        lanes.submit(page("oncall"))
        for _ in range(20):
            await asyncio.sleep(0)
        assert [host for host, _ in held.calls] == ["slow-1.example", "slow-2.example"]
        await held.answer_first()
        assert held.calls[2] == ("oncall.example", "emergency_page")
    finally:
        await lanes.close()
