"""A specialist's command relayed to the worker owning its case waits as long as the owner may
take (its Kafka ack, then the agent's decision): the owner's answer comes back, never a "503,
retry" for a command the owner accepted (review 17: the relay gave up at 5 s, the owner decides
within 15 s, and a repeat without an Idempotency-Key is a second addendum)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import httpx

from services.routing.api import create_api
from services.routing.settings import load_settings
from tests.routing.fakes import Clock, InProcessGateway, make_processor
from tests.routing.test_routing_reviews_api import auth

OWNER_DECIDES_AFTER = 5.5  # past the relay's old fixed wait (5 s), inside the owner's (15 s)


async def test_a_relayed_command_gets_the_owners_answer_however_long_the_owner_may_take() -> None:
    settings = load_settings()
    assert settings.relay_timeout_seconds > (settings.kafka_wait_seconds
                                             + settings.reply_timeout_seconds)

    async def owner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(OWNER_DECIDES_AFTER)
        body = b'{"status":"pending","detail":"decision not yet known"}'
        writer.write(b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(owner, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    processor, _, _ = make_processor(Clock(datetime.now(UTC)))
    api = create_api(InProcessGateway(processor), owner_of=lambda case_id: url,
                     me=lambda: "http://me.test")
    async with server, httpx.AsyncClient(transport=httpx.ASGITransport(app=api),
                                         base_url="http://me.test") as client:
        started = time.perf_counter()
        answer = await client.post("/assignments/case-1/spine/addenda", json={"text": "x"},
                                   headers=auth("specialist", "a"))
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "pending"
    assert time.perf_counter() - started >= OWNER_DECIDES_AFTER
