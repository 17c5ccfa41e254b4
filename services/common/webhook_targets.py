"""Which webhook URLs notify may post to (F10: SSRF through the directory).

Checked when a URL is written (the routing directory answers 422), again on every delivery
attempt, and whenever notify opens a connection, where the host is resolved and every address it
resolves to is checked (services/common/checked_connect.py), so a name that later points inside
the network is refused too. Rules: https only (http only to loopback, and only in
development mode); no credentials, whitespace or control characters in the URL; no private,
loopback, link-local (cloud metadata), multicast, reserved or unspecified address unless the
WEBHOOK_ALLOWED_NETWORKS setting (comma-separated CIDRs) lists it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from functools import lru_cache
from urllib.parse import urlsplit

from services.common.deployment_secrets import development_mode
from services.common.settings import env_str

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL_CHARS = 2048
RESOLVE_TIMEOUT_SECONDS = 5.0
UNRESOLVED = "host does not resolve"  # now: may be DNS down, so retried, unlike a refusal


@lru_cache(maxsize=8)
def _parse_networks(raw: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False)
                 for part in raw.split(",") if part.strip())


def allowed_networks() -> tuple[Network, ...]:
    """WEBHOOK_ALLOWED_NETWORKS: internal ranges a deployment deliberately permits."""
    return _parse_networks(env_str("WEBHOOK_ALLOWED_NETWORKS", ""))


def address_problem(address: Address, *, development: bool,
                    allowed: tuple[Network, ...]) -> str | None:
    """Why posting to `address` is refused, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in net for net in allowed if net.version == address.version):
        return None
    if address.is_loopback:
        return None if development else "loopback address"
    if address.is_link_local:
        return "link-local address (cloud metadata lives here)"
    if address.is_private or address.is_reserved or address.is_multicast \
            or address.is_unspecified or not address.is_global:
        return "private or reserved address"
    return None


def url_problem(url: str, *, development: bool | None = None,
                allowed: tuple[Network, ...] | None = None) -> str | None:
    """Why `url` may not be a webhook target (syntax and literal addresses), or None."""
    development = development_mode() if development is None else development
    allowed = allowed_networks() if allowed is None else allowed
    if len(url) > MAX_URL_CHARS:
        return f"longer than {MAX_URL_CHARS} characters"
    if not url.isprintable() or any(c.isspace() for c in url) or not url.isascii():
        return "whitespace, control or non-ASCII characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a valid URL"
    host = parts.hostname
    if not host:
        return "no host"
    if parts.username is not None or parts.password is not None:
        return "credentials in the URL"
    if port == 0:
        return "port 0"
    literal = _literal(host)
    loopback = host == "localhost" or (literal is not None and literal.is_loopback)
    if parts.scheme == "http":
        if not (development and loopback):
            return "http is allowed only to loopback in development mode; use https"
    elif parts.scheme != "https":
        return "scheme must be https"
    if host == "localhost" and not development:
        return "loopback address"
    if literal is not None:
        return address_problem(literal, development=development, allowed=allowed)
    return None


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to now (bounded wait); OSError if it does not."""
    infos = await asyncio.wait_for(
        asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM),
        RESOLVE_TIMEOUT_SECONDS)
    return [str(info[4][0]) for info in infos]


async def checked_addresses(
    host: str, port: int, *, development: bool, allowed: tuple[Network, ...],
    resolver: Callable[[str, int], Awaitable[list[str]]] = resolve,
) -> list[str] | str:
    """Every address `host` resolves to, if all may be posted to; else why not."""
    literal = _literal(host)
    if literal is not None:
        names = [host]
    else:
        try:
            names = await resolver(host, port)
        except (OSError, TimeoutError, UnicodeError):
            return UNRESOLVED
    if not names:
        return UNRESOLVED
    for name in names:
        address = _literal(name.split("%", 1)[0])
        if address is None:
            return "host resolves to an unusable address"
        problem = address_problem(address, development=development, allowed=allowed)
        if problem is not None:
            return problem if literal is not None else f"host resolves to a {problem}"
    return names
