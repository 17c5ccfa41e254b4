"""F10, the DNS-rebinding window: a webhook connection goes only to addresses checked for that
very connection, however the name answers the check made a moment before."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx
import pytest

from scripts.webhook_inbox import WebhookReceiver
from services.common.checked_connect import CheckedBackend, checked_transport
from services.common.webhook_targets import checked_addresses, url_problem
from services.notify.delivery.webhook import Endpoint, WebhookPoster
from tests.notify.test_notify_delivery import SECRET, note

PUBLIC, METADATA, INSIDE = "93.184.216.34", "169.254.169.254", "10.0.0.5"


class Rebinding:
    """A resolver answering each lookup of a name with the next answer of its script."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers, self.asked = list(answers), 0

    async def __call__(self, host: str, port: int) -> list[str]:
        answer = self.answers[min(self.asked, len(self.answers) - 1)]
        self.asked += 1
        return answer


class Dialer(httpcore.AsyncNetworkBackend):
    """Records where connections were opened; opens none."""

    def __init__(self) -> None:
        self.dialled: list[tuple[str, int]] = []

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None
                          ) -> httpcore.AsyncNetworkStream:
        self.dialled.append((host, port))
        raise httpcore.ConnectError("the test's dialler opens nothing")


async def test_a_name_rebound_after_the_check_is_refused_at_connect() -> None:
    resolver, dialer = Rebinding([PUBLIC], [METADATA]), Dialer()
    # The delivery-time check sees the public answer...
    assert await checked_addresses("hooks.example.org", 443, development=False, allowed=(),
                                   resolver=resolver) == [PUBLIC]
    backend = CheckedBackend(development=False, allowed=(), resolver=resolver, inner=dialer)
    # ...and the connection, resolving again, is refused: nothing is dialled at all.
    with pytest.raises(httpcore.ConnectError, match="link-local"):
        await backend.connect_tcp("hooks.example.org", 443)
    assert dialer.dialled == []


async def test_the_connection_goes_to_the_address_that_was_checked() -> None:
    dialer = Dialer()
    backend = CheckedBackend(development=False, allowed=(), resolver=Rebinding([PUBLIC]),
                             inner=dialer)
    with pytest.raises(httpcore.ConnectError, match="opens nothing"):
        await backend.connect_tcp("hooks.example.org", 443)
    assert dialer.dialled == [(PUBLIC, 443)]  # the checked address, never the name again


async def test_one_internal_address_among_public_ones_refuses_the_host() -> None:
    dialer = Dialer()
    backend = CheckedBackend(development=False, allowed=(),
                             resolver=Rebinding([PUBLIC, INSIDE]), inner=dialer)
    with pytest.raises(httpcore.ConnectError, match="private or reserved"):
        await backend.connect_tcp("hooks.example.org", 443)
    assert dialer.dialled == []


async def test_httpx_posts_through_the_checked_backend() -> None:
    """The transport really uses the backend: a made-up name reaches the loopback receiver
    only because the backend resolved it (development allows loopback); outside development
    the same request is refused before any byte is sent."""
    inbox = WebhookReceiver()
    try:
        url = f"http://hooks.test:{inbox.port}/hooks/x"
        limits = httpx.Limits(max_connections=4)
        allowed = CheckedBackend(development=True, allowed=(),
                                 resolver=Rebinding(["127.0.0.1"]))
        async with httpx.AsyncClient(transport=checked_transport(limits=limits,
                                                                 backend=allowed)) as client:
            assert (await client.post(url, content=b"{}")).status_code == 200
        refused = CheckedBackend(development=False, allowed=(),
                                 resolver=Rebinding(["127.0.0.1"]))
        async with httpx.AsyncClient(transport=checked_transport(limits=limits,
                                                                 backend=refused)) as client:
            with pytest.raises(httpx.ConnectError, match="loopback"):
                await client.post(url, content=b"{}")
        assert [c.path for c in inbox.calls] == ["/hooks/x"]
    finally:
        inbox.close()


def checked_poster(resolver: Any) -> WebhookPoster:
    backend = CheckedBackend(development=True, allowed=(), resolver=resolver)
    return WebhookPoster(
        check_target=lambda url: url_problem(url, development=True, allowed=()),
        transport=lambda limits: checked_transport(limits=limits, backend=backend))


async def test_a_name_resolving_inside_fails_its_delivery_for_good() -> None:
    post = checked_poster(Rebinding([METADATA]))
    try:
        result = await post(Endpoint("http://localhost:9/hooks/x", SECRET), note(1))
    finally:
        await post.close()
    assert result.final and result.status_code is None
    assert result.error is not None
    assert result.error.startswith("webhook target refused: host resolves to a link-local")


async def test_deliveries_go_on_over_an_open_connection_while_dns_is_down(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each attempt checks the URL; only a new connection resolves the name, so a receiver
    already connected keeps getting its webhooks through a DNS outage (the poster as notify
    builds it: default checks, the system resolver; tests run in development mode)."""
    loop, lookups = asyncio.get_running_loop(), []
    system_lookup = loop.getaddrinfo

    async def outage_after_first(*args: Any, **kwargs: Any) -> Any:
        lookups.append(args[0])
        if len(lookups) > 1:
            raise OSError("name resolution failed")
        return await system_lookup(*args, **kwargs)

    monkeypatch.setattr(loop, "getaddrinfo", outage_after_first)
    inbox, post = WebhookReceiver(keep_alive=True), WebhookPoster()
    endpoint = Endpoint(f"http://localhost:{inbox.port}/hooks/x", SECRET)
    try:
        results = [await post(endpoint, note(seq)) for seq in (1, 2, 3)]
    finally:
        await post.close()
        inbox.close()
    assert [(r.status_code, r.error) for r in results] == [(200, None)] * 3
    assert lookups == ["localhost"] and len(inbox.calls) == 3


async def test_a_name_that_does_not_resolve_now_is_retried_not_refused() -> None:
    """DNS down (or slow past its bound) is not a verdict on the target: the attempt fails and
    the retry policy tries again; a name resolving inside is refused for good (above)."""
    async def dns_down(host: str, port: int) -> list[str]:
        raise OSError("temporary failure in name resolution")

    post = checked_poster(dns_down)
    try:
        result = await post(Endpoint("http://localhost:9/hooks/x", SECRET), note(1))
    finally:
        await post.close()
    assert (result.status_code, result.error, result.final) == (None, "ConnectError", False)
