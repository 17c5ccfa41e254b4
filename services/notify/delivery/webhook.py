"""One signed webhook POST with httpx; the outcome is data, never an exception.

httpx is the project's HTTP client by design. Measured: about 1.0 ms of CPU per request over
asyncio's streams (1.3 over anyio's, 1.3-1.7 through an `AsyncClient` with one shared pool)
against 0.1-0.3 ms for aiohttp (which faust already depends on); switching is proposed in
docs/benchmarks.md, not done unilaterally.

The target is checked twice (F10): its URL on every attempt (no DNS), and the addresses its host
resolves to whenever a connection is opened (services/common/checked_connect.py). A request over
a connection already open goes to the address checked when it was opened, so it needs no lookup:
deliveries go on over warm connections while DNS is slow or down.

Each attempt has one deadline, `timeout_seconds`, over the whole exchange (connect, send, status
line, headers, body): httpx's own timeouts bound each read or write, so a receiver answering a
byte just inside every read timeout held an attempt, and the delivery slot under it, for as long
as it liked (a 64 KB answer at 9.9 s a byte: days).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from services.common.checked_connect import TargetRefused, checked_transport
from services.common.webhook_targets import url_problem
from services.notify.delivery.retry import THROTTLED_STATUS, parse_retry_after
from services.notify.delivery.signing import sign
from services.notify.domain.outbox import Notification, webhook_body


@dataclass(frozen=True)
class Endpoint:
    """Where a subscriber receives webhooks and the secret its signatures use."""

    url: str
    secret: bytes


@dataclass(frozen=True)
class AttemptResult:
    """Status code (None if no response came back) and, on error, the exception type."""

    status_code: int | None
    error: str | None
    latency_seconds: float
    final: bool = False  # a refused target: retrying cannot help
    retry_after_seconds: float | None = None  # a 429's or 503's Retry-After, if it made sense

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def describe(self) -> str:
        """A reason safe to log: a status code or an exception type, never a body."""
        return f"HTTP {self.status_code}" if self.status_code is not None else f"{self.error}"


def signed_headers(
    endpoint: Endpoint, note: Notification, body: bytes, timestamp: str
) -> dict[str, str]:
    """The headers of one attempt; Idempotency-Key is stable across retries and redeliveries."""
    return {
        "Content-Type": "application/json",
        "X-Timestamp": timestamp,
        "X-Signature": sign(endpoint.secret, timestamp, body),
        "Idempotency-Key": note.notification_id,
        "X-Notification-Kind": note.kind,
        "User-Agent": "spine-router-notify/1",
    }


MAX_RESPONSE_BYTES = 64 * 1024  # read the (ignored) body so the connection is reused, no further
PER_RECEIVER_CONNECTIONS = 8  # open at once to one receiver (the dispatcher sends no more)
MAX_RECEIVERS = 512  # receivers with a pool kept open; the least recently used idle one closes
DEADLINE_EXCEEDED = "AttemptTimeout"  # the reason given: names the limit, nothing received


Receiver = tuple[bytes, str, int | None]  # scheme, host, port: one pool of connections


def receiver_of(url: str) -> Receiver:
    """The receiver `url` posts to, keyed as the poster pools connections: the dispatcher's
    per-receiver slots use the same key, so a receiver's share of slots matches its pool."""
    try:
        return _receiver(httpx.URL(url))
    except (httpx.InvalidURL, ValueError, TypeError):  # never sent: the poster answers final
        return (b"", url, None)


def _receiver(url: httpx.URL) -> Receiver:
    return url.raw_scheme, url.host, url.port


class WebhookPoster:
    """Posts notifications through httpx's transport, one small connection pool per receiver.

    Not through an `httpx.AsyncClient`: per request, the client merged URLs, stored any cookie a
    receiver set (state no webhook should carry) and kept one pool for every receiver, which
    httpcore scans in full twice per request, asking each idle connection's socket whether it
    is readable. A pool per receiver (scheme, host, port) keeps that scan to its own few
    connections. Measured: docs/benchmarks.md, "Eighth round".
    """

    def __init__(
        self, *, timeout_seconds: float = 10.0, wall_clock: Callable[[], float] = time.time,
        check_target: Callable[[str], str | None] = url_problem,
        transport: Callable[[httpx.Limits], httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        self._timeout = httpx.Timeout(timeout_seconds).as_dict()  # each connect, read, write
        self._deadline = timeout_seconds  # the whole attempt
        self._wall_clock = wall_clock
        self._check_target = check_target
        # Connections only to the addresses checked for that very connection (no DNS
        # rebinding between the check below and the connect); tests pass their own.
        self._transport = transport or (lambda limits: checked_transport(limits=limits))
        self._pools: OrderedDict[Receiver, httpx.AsyncBaseTransport] = OrderedDict()
        self._busy: Counter[Receiver] = Counter()
        self._closing: set[asyncio.Task[None]] = set()

    def _pool(self, url: httpx.URL) -> tuple[Receiver, httpx.AsyncBaseTransport]:
        receiver = _receiver(url)
        pool = self._pools.get(receiver)
        if pool is None:
            limits = httpx.Limits(max_connections=PER_RECEIVER_CONNECTIONS,
                                  max_keepalive_connections=PER_RECEIVER_CONNECTIONS)
            pool = self._pools[receiver] = self._transport(limits)
            self._close_surplus(keep=receiver)
        else:
            self._pools.move_to_end(receiver)
        return receiver, pool

    def _close_surplus(self, *, keep: Receiver) -> None:
        """Past MAX_RECEIVERS, close the least recently used pools with no request under way
        (those in use are bounded by the dispatcher's concurrency), never `keep`'s: the pool
        just opened for the request at hand."""
        surplus = len(self._pools) - MAX_RECEIVERS
        idle = [r for r in self._pools if not self._busy[r] and r != keep]
        for receiver in idle[:max(surplus, 0)]:
            closing = asyncio.ensure_future(self._pools.pop(receiver).aclose())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)

    async def __call__(self, endpoint: Endpoint, note: Notification) -> AttemptResult:
        started = time.perf_counter()
        refused = self._check_target(endpoint.url)
        if refused is not None:  # the URL may have changed; its addresses are checked at connect
            return AttemptResult(None, f"webhook target refused: {refused}", 0.0, final=True)
        body = webhook_body(note)
        headers = signed_headers(endpoint, note, body, str(int(self._wall_clock())))
        receiver = None
        deadline = asyncio.timeout(self._deadline)
        try:
            request = httpx.Request("POST", endpoint.url, content=body, headers=headers,
                                    extensions={"timeout": self._timeout})
            receiver, pool = self._pool(request.url)
            self._busy[receiver] += 1
            async with deadline:
                status, retry_after = await _exchange(pool, request)
        except TimeoutError:  # only the deadline: httpx's own timeouts are httpx.HTTPError
            # Retryable like any timeout; cancelling the exchange dropped its connection.
            reason = DEADLINE_EXCEEDED if deadline.expired() else "TimeoutError"
            return AttemptResult(None, reason, time.perf_counter() - started)
        except httpx.HTTPError as exc:
            if isinstance(exc.__cause__, TargetRefused):  # resolves inside: never retried
                return AttemptResult(None, str(exc.__cause__), 0.0, final=True)
            return AttemptResult(None, type(exc).__name__, time.perf_counter() - started)
        except (httpx.InvalidURL, ValueError, TypeError) as exc:  # a request that can never be
            # sent (a URL httpx cannot parse, a header it refuses): never retried, never fatal
            return AttemptResult(None, type(exc).__name__, time.perf_counter() - started,
                                 final=True)
        except Exception as exc:  # the client failing mid-exchange is a lost connection, not a
            # verdict on the target: anyio under uvloop raises AttributeError (getpeername on a
            # closed socket) when a receiver closes a fresh connection as it goes down. Retried
            # within the retry policy (found as the chaos run's one unexplained dead letter).
            return AttemptResult(None, type(exc).__name__, time.perf_counter() - started)
        finally:
            if receiver is not None:
                self._busy[receiver] -= 1
                if not self._busy[receiver]:
                    del self._busy[receiver]
        wait = (parse_retry_after(retry_after, now=self._wall_clock())
                if status in THROTTLED_STATUS else None)
        return AttemptResult(status, None, time.perf_counter() - started,
                             retry_after_seconds=wait)

    async def close(self) -> None:
        """Close the pooled connections."""
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


async def _exchange(
    pool: httpx.AsyncBaseTransport, request: httpx.Request
) -> tuple[int, str | None]:
    """Send `request` and read at most MAX_RESPONSE_BYTES of the answer; its status code and
    Retry-After header."""
    response = await pool.handle_async_request(request)
    try:
        seen = 0
        async for chunk in response.aiter_raw():
            seen += len(chunk)
            if seen > MAX_RESPONSE_BYTES:
                break  # closing an unread response drops that connection
    finally:
        await response.aclose()
    return response.status_code, response.headers.get("retry-after")
