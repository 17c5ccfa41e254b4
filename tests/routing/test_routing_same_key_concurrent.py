"""Two concurrent requests under one Idempotency-Key both get the agent's decision at once.

They are one command id; the reply book kept only the later request's future, so the earlier
one waited out the whole reply timeout and answered 202 "pending". Through the real
KafkaGateway and ReplyBook, with a commands topic that hands each record to the processor as
its agent would."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx

from schemas.registry import parse_event
from services.routing.api import create_api
from services.routing.app import RoutingWorker
from services.routing.kafka_gateway import KafkaGateway
from services.routing.processor import RoutingProcessor
from services.routing.replies import ReplyBook
from services.routing.settings import load_settings
from tests.routing.fakes import Clock, make_processor
from tests.routing.test_routing_reviews_api import _open_case, auth
from tests.unit.routing.builders import specialist

REPLY_TIMEOUT = 3.0


class CommandsTopic:
    """routing.commands.v1: acknowledged at once; the agent decides each record soon after."""

    def __init__(self, processor: RoutingProcessor) -> None:
        self.processor, self.sent = processor, 0
        self.app = SimpleNamespace(conf=SimpleNamespace(id="routing"))
        self.tasks: list[asyncio.Task[Any]] = []

    def get_topic_name(self) -> str:
        return "routing.commands.v1"

    async def send(self, key: bytes, value: bytes) -> asyncio.Future[None]:
        self.sent += 1
        event = parse_event("routing.commands.v1", value)
        self.tasks.append(asyncio.create_task(self.processor.on_case_input(event)))
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        ack.set_result(None)
        return ack


def rig(processor: RoutingProcessor) -> tuple[CommandsTopic, httpx.AsyncClient]:
    for sid in ("a", "b"):
        processor.directory.put(specialist(sid))
    topic = CommandsTopic(processor)
    gateway = KafkaGateway(
        processor=processor, replies=processor.replies, views=[], directory_topic=None,
        commands_topic=topic, worker_ready=list, worker_live=list, directory_wait_seconds=1,
        reply_timeout_seconds=REPLY_TIMEOUT, kafka_wait_seconds=2)
    transport = httpx.ASGITransport(app=create_api(gateway))
    return topic, httpx.AsyncClient(transport=transport, base_url="http://routing")


async def test_concurrent_requests_under_one_key_both_get_the_decision() -> None:
    processor, _, _ = make_processor(Clock(datetime.now(UTC)))
    topic, client = rig(processor)
    async with client:
        await _open_case(processor)
        holder = processor.case_state("case-1").steps["spine_surgery"].offer.specialist_id
        me = auth("specialist", holder) | {"Idempotency-Key": "accept-once"}

        async def accept() -> tuple[int, str]:
            response = await client.post("/offers/case-1/spine_surgery/accept", headers=me)
            return response.status_code, response.json().get("status")

        started = time.monotonic()
        results = await asyncio.gather(accept(), accept())
        elapsed = time.monotonic() - started
    await asyncio.gather(*topic.tasks)
    assert results == [(200, "ok"), (200, "ok")]
    assert elapsed < REPLY_TIMEOUT / 2  # nobody waited out the reply timeout
    assert topic.sent == 2 and processor.replies.waiting == 0  # both sent; nothing left waiting
    assert processor.case_state("case-1").steps["spine_surgery"].assignee == holder


async def test_a_full_reply_book_sends_the_command_and_answers_pending() -> None:
    processor, _, _ = make_processor(Clock(datetime.now(UTC)))
    processor.replies = ReplyBook(max_waiters=0)
    topic, client = rig(processor)
    async with client:
        await _open_case(processor)
        holder = processor.case_state("case-1").steps["spine_surgery"].offer.specialist_id
        response = await client.post("/offers/case-1/spine_surgery/accept",
                                     headers=auth("specialist", holder))
    await asyncio.gather(*topic.tasks)
    assert (response.status_code, response.json()["status"]) == (202, "pending")
    assert response.json()["command_id"] and topic.sent == 1
    assert processor.case_state("case-1").steps["spine_surgery"].assignee == holder


def test_the_worker_and_its_agent_share_one_reply_book() -> None:
    # An empty book must not be falsy: the processor's `replies or ReplyBook()` would then
    # resolve a book the HTTP handlers never wait on, and every command answer "pending".
    worker = RoutingWorker(load_settings())
    assert worker.processor.replies is worker.replies
