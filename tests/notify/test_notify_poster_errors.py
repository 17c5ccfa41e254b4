"""What a failed POST means for the retry policy: a request that can never be sent is final; the
HTTP client failing mid-exchange is a lost connection and is retried (the chaos run's one
unexplained dead letter: anyio under uvloop raised AttributeError when the receiver closed a
fresh connection while going down, and the referrer's status webhook was given up at once)."""

from __future__ import annotations

import httpx

from services.notify.delivery.webhook import Endpoint, WebhookPoster
from tests.notify.test_notify_delivery import SECRET, note

URL = "http://127.0.0.1:9/hooks/spec-1"


class Scripted(httpx.AsyncBaseTransport):
    """A transport that raises the scripted exceptions in turn, then answers 200."""

    def __init__(self, *failures: Exception) -> None:
        self.failures, self.sent = list(failures), 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        if self.failures:
            raise self.failures.pop(0)
        return httpx.Response(200, stream=httpx.ByteStream(b"ok"))


def poster(transport: Scripted) -> WebhookPoster:
    return WebhookPoster(check_target=lambda url: None, transport=lambda limits: transport)


async def test_a_client_failure_mid_exchange_is_retried_not_final() -> None:
    transport = Scripted(AttributeError("'NoneType' object has no attribute 'getpeername'"))
    post, endpoint = poster(transport), Endpoint(URL, SECRET)
    try:
        first = await post(endpoint, note(1))
        assert (first.ok, first.final, first.error) == (False, False, "AttributeError")
        second = await post(endpoint, note(1))
        assert second.ok and transport.sent == 2
    finally:
        await post.close()


async def test_a_request_that_can_never_be_sent_is_final() -> None:
    for failure in (httpx.InvalidURL("bad"), ValueError("bad header")):
        post = poster(Scripted(failure))
        try:
            result = await post(Endpoint(URL, SECRET), note(1))
        finally:
            await post.close()
        assert (result.ok, result.final) == (False, True), failure


async def test_transport_errors_stay_retryable() -> None:
    post = poster(Scripted(httpx.ConnectError("refused")))
    try:
        result = await post(Endpoint(URL, SECRET), note(1))
    finally:
        await post.close()
    assert (result.ok, result.final, result.error) == (False, False, "ConnectError")
