"""Webhook connections go only to addresses that were checked: no DNS-rebinding window (F10).

Checking a webhook's host and then letting the HTTP client resolve it again leaves a gap: a
name with a short TTL can answer a public address to the check and a private one (the cloud
metadata service, the broker, an admin port) to the connect. This network backend for httpcore
resolves the name once per new connection, checks every address it got
(services.common.webhook_targets), and connects to those very addresses. TLS still verifies the
certificate against the URL's host name (httpcore passes it as server_hostname).
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
import httpx

from services.common.asyncio_backend import AsyncioBackend
from services.common.deployment_secrets import development_mode
from services.common.webhook_targets import (
    UNRESOLVED,
    Network,
    allowed_networks,
    checked_addresses,
    resolve,
)

Resolver = Callable[[str, int], Awaitable[list[str]]]


class TargetRefused(httpcore.ConnectError):
    """The host resolves to an address webhooks may not reach: final, never retried (httpx
    raises its own ConnectError from this one). A host that does not resolve at all is a plain
    ConnectError, retried within the retry policy: a DNS outage is not a verdict."""


class CheckedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to checked addresses of a host."""

    def __init__(
        self, *, development: bool | None = None, allowed: tuple[Network, ...] | None = None,
        resolver: Resolver = resolve, inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.development = development_mode() if development is None else development
        self.allowed = allowed_networks() if allowed is None else allowed
        self.resolver = resolver
        self.inner = inner or AsyncioBackend()  # not anyio's: asyncio_backend.py says why

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,
        local_address: str | None = None, socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await checked_addresses(host, port, development=self.development,
                                            allowed=self.allowed, resolver=self.resolver)
        if addresses == UNRESOLVED:  # a name that resolves nowhere now: DNS may be down
            raise httpcore.ConnectError(addresses)
        if isinstance(addresses, str):
            raise TargetRefused(f"webhook target refused: {addresses}")
        failure: Exception | None = None
        for address in addresses:  # each was checked: try them in the resolver's order
            try:
                return await self.inner.connect_tcp(address, port, timeout, local_address,
                                                    socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("webhook target refused: unix socket")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def checked_transport(*, limits: httpx.Limits, backend: CheckedBackend | None = None,
                      verify: ssl.SSLContext | bool = True) -> httpx.AsyncHTTPTransport:
    """httpx's transport with its connection pool on a CheckedBackend. httpx offers no way to
    pass a network backend, so the pool's is replaced; the assertion fails loudly should an
    httpx or httpcore upgrade rename it, rather than silently reopening the window."""
    transport = httpx.AsyncHTTPTransport(limits=limits, verify=verify)  # tests pass their CA
    pool = transport._pool
    assert hasattr(pool, "_network_backend"), "httpcore changed: re-check checked_transport"
    pool._network_backend = backend or CheckedBackend()
    return transport
