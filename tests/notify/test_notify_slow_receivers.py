"""A slow receiver costs only its own deliveries: every attempt ends by its deadline however the
receiver paces its answer (services/notify/delivery/webhook.py)."""

from __future__ import annotations

import asyncio
import time

import pytest

from services.notify.delivery.webhook import DEADLINE_EXCEEDED, Endpoint, WebhookPoster
from tests.notify.test_notify_asyncio_backend import read_request, serving
from tests.notify.test_notify_delivery import SECRET, note

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
