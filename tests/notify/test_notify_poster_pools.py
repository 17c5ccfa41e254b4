"""The webhook poster keeps one small connection pool per receiver, carries no state between
requests (no cookie jar), and closes the pools of receivers it has not used for longest once
it holds MAX_RECEIVERS (services/notify/delivery/webhook.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from services.notify.delivery import webhook
from services.notify.delivery.webhook import Endpoint, WebhookPoster
from tests.notify.test_notify_delivery import SECRET, note


class Receiver(httpx.AsyncBaseTransport):
    """One receiver's pool: records requests, sets a cookie, can hold a request open."""

    def __init__(self, hold: asyncio.Event | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.limits: httpx.Limits | None = None
        self.closed = False
        self.hold = hold

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.hold is not None:
            await self.hold.wait()
        return httpx.Response(200, headers={"Set-Cookie": "session=abc; Path=/"},
                              stream=httpx.ByteStream(b"ok"))

    async def aclose(self) -> None:
        self.closed = True


class Pools:
    """The poster's transport factory: a new Receiver per pool it asks for."""

    def __init__(self) -> None:
        self.made: list[Receiver] = []
        self.hold: asyncio.Event | None = None

    def __call__(self, limits: httpx.Limits) -> httpx.AsyncBaseTransport:
        receiver = Receiver(self.hold)
        receiver.limits = limits
        self.made.append(receiver)
        return receiver


def poster(pools: Pools) -> WebhookPoster:
    return WebhookPoster(check_target=lambda url: None, transport=pools)


async def under_way(post: WebhookPoster, pools: Pools, url: str) -> asyncio.Future[Any]:
    """A request to `url` that stays under way until its receiver's hold is set."""
    pools.hold = asyncio.Event()
    request = asyncio.ensure_future(post(Endpoint(url, SECRET), note(1)))
    await asyncio.sleep(0.01)
    pools.hold = None
    return request


async def finished(receiver: Receiver, request: asyncio.Future[Any]) -> bool:
    """Let the held request finish; True if it was delivered."""
    assert receiver.hold is not None
    receiver.hold.set()
    return bool((await request).ok)


async def test_one_small_pool_per_receiver_reused_across_requests() -> None:
    pools = Pools()
    post = poster(pools)
    try:
        for url in ("https://a.example/hooks/1", "https://a.example/hooks/2",
                    "https://b.example/hooks/1", "https://a.example:8443/hooks/1"):
            assert (await post(Endpoint(url, SECRET), note(1))).ok
    finally:
        await post.close()
    assert [len(p.requests) for p in pools.made] == [2, 1, 1]  # a, b, a on another port
    limits = pools.made[0].limits
    assert limits is not None and limits.max_connections == webhook.PER_RECEIVER_CONNECTIONS
    assert all(p.closed for p in pools.made)


async def test_no_cookie_a_receiver_sets_is_sent_back_and_every_request_has_its_timeout() -> None:
    pools = Pools()
    post = poster(pools)
    try:
        for seq in (1, 2):
            assert (await post(Endpoint("https://a.example/hooks/1", SECRET), note(seq))).ok
    finally:
        await post.close()
    second = pools.made[0].requests[1]
    assert "cookie" not in second.headers
    assert second.headers["Idempotency-Key"] and second.headers["X-Signature"]
    assert second.extensions["timeout"]["read"] == 10.0


async def test_past_the_cap_the_least_recently_used_idle_pool_is_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(webhook, "MAX_RECEIVERS", 2)
    pools = Pools()
    post = poster(pools)
    try:
        busy = await under_way(post, pools, "https://busy.example/h")
        for host in ("idle", "new", "newer"):
            assert (await post(Endpoint(f"https://{host}.example/h", SECRET), note(1))).ok
        await asyncio.sleep(0)  # the closing task runs
        closed = {p.requests[0].url.host: p.closed for p in pools.made}
        # busy is the least recently used but under way: kept; idle, then new, go instead
        assert closed == {"busy.example": False, "idle.example": True,
                          "new.example": True, "newer.example": False}
        assert await finished(pools.made[0], busy)
    finally:
        await post.close()


async def test_the_pool_just_opened_is_never_the_one_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(webhook, "MAX_RECEIVERS", 1)
    pools = Pools()
    post = poster(pools)
    try:
        busy = await under_way(post, pools, "https://busy.example/h")  # nothing else may go
        assert (await post(Endpoint("https://new.example/h", SECRET), note(1))).ok
        await asyncio.sleep(0)
        assert [p.closed for p in pools.made] == [False, False]
        assert await finished(pools.made[0], busy)
    finally:
        await post.close()
