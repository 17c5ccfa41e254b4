"""Proof that a request was relayed by a worker of the deployment, not sent by a client.

A worker relaying a request to the case's owner (services/common/forwarding.py) marks it with
its own URL (`x-spine-forwarded-by`), and the owner answers a marked request itself instead of
relaying it again. Any client can send that header, so the mark counts only with a signature:
HMAC-SHA256, under a secret every worker shares (SPINE_PEER_SECRET), of the method, the request
target (raw path and query), the relaying worker's URL and the unix time of signing, the time
sent alongside. The receiver checks it against its own clock.

A marking without a valid signature is handled as a client's request, so a peer whose secret
differs relays it on as one. Each relay therefore also carries a trail of random nonces, one
per relay it passed through: a worker that finds the nonce of one of its own relays still in
flight knows the request came back to it, and answers it rather than passing it to and fro.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from services.common.logs import get_logger

FORWARDED = "x-spine-forwarded-by"
FORWARDED_AT = "x-spine-forwarded-at"
FORWARDED_SIG = "x-spine-forwarded-sig"
RELAY_HEADERS = frozenset({FORWARDED, FORWARDED_AT, FORWARDED_SIG})
# How far a signature's time may be from the receiver's clock. A relay is sent the moment it is
# signed and crosses the cluster in milliseconds, and the workers' clocks are NTP-synchronised
# to well under a second; 30 s tolerates a badly drifting node while bounding how long a
# relayed request seen on the wire (a proxy's log, a packet capture) could be replayed.
MAX_SKEW_SECONDS = 30

# The nonces of the relays a request has passed through, oldest first, carried along by every
# worker that relays it again. It is not a proof of anything to anyone but the worker that drew
# a nonce: a request carrying one of its own relays still in flight has come back to it.
RELAY_TRAIL = "x-spine-relay-trail"
# Nonces kept when relaying again: more than a chain of workers can hold (at most one worker
# per case partition), so a client's padding cannot push a worker's own nonce out.
MAX_TRAIL = 16
# Headers this module sets on a relay (the trail extended from the request's own); a client's
# values are never copied onto a relay as they came.
RELAY_MARKS = RELAY_HEADERS | {RELAY_TRAIL}
log = get_logger("forwarding")

# Why a request's relay marking was not accepted (logged; never a header's value).
UNSIGNED, MALFORMED, STALE, FORGED = "unsigned", "malformed", "stale", "bad-signature"


def request_target(raw_path: bytes, query_string: bytes) -> bytes:
    """The path and query as the receiving server sees them (an empty query as none)."""
    return raw_path + b"?" + query_string if query_string else raw_path


def signature(secret: bytes, *, method: str, target: bytes, forwarded_by: str, at: int) -> str:
    """The hex HMAC-SHA256 of one relay. None of the parts can hold a newline (an HTTP request
    line and header values cannot), so joined by newlines they are unambiguous."""
    message = b"\n".join((method.upper().encode("latin-1"), target,
                          forwarded_by.encode("latin-1"), str(at).encode("ascii")))
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def relay_headers(secret: bytes, *, method: str, target: bytes, forwarded_by: str,
                  now: float) -> list[tuple[str, str]]:
    """The headers that mark a request as relayed by `forwarded_by`, signed at `now`."""
    at = int(now)
    return [(FORWARDED, forwarded_by), (FORWARDED_AT, str(at)),
            (FORWARDED_SIG, signature(secret, method=method, target=target,
                                      forwarded_by=forwarded_by, at=at))]


def carries_relay_headers(scope: dict[str, Any]) -> bool:
    """Whether the request has any of the relay headers, however set."""
    return any(k.decode("latin-1").lower() in RELAY_HEADERS for k, _ in scope["headers"])


def signature_rejection(secret: bytes, scope: dict[str, Any], now: float) -> str | None:
    """None when the request's relay marking is a fresh, valid peer signature; otherwise why
    not (UNSIGNED, MALFORMED, STALE or FORGED)."""
    values: dict[str, list[bytes]] = {name: [] for name in RELAY_HEADERS}
    for key, value in scope["headers"]:
        name = key.decode("latin-1").lower()
        if name in values:
            values[name].append(value)
    if not values[FORWARDED_SIG] or not values[FORWARDED_AT]:
        return UNSIGNED
    if any(len(found) != 1 for found in values.values()):
        return MALFORMED  # missing the mark, or a header twice: not what a peer sends
    (by,), (at_raw,), (sig,) = (values[FORWARDED], values[FORWARDED_AT],
                                values[FORWARDED_SIG])
    if not at_raw.isdigit() or len(at_raw) > 12:
        return MALFORMED
    at = int(at_raw)
    if abs(now - at) > MAX_SKEW_SECONDS:
        return STALE
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
    expected = signature(secret, method=scope["method"],
                         target=request_target(raw_path, scope.get("query_string", b"")),
                         forwarded_by=by.decode("latin-1"), at=at)
    if not hmac.compare_digest(expected.encode("ascii"), sig):
        return FORGED
    return None


def without_relay_headers(scope: dict[str, Any]) -> dict[str, Any]:
    """A copy of `scope` without any relay header, for a request treated as a client's."""
    headers = [(k, v) for k, v in scope["headers"]
               if k.decode("latin-1").lower() not in RELAY_HEADERS]
    return {**scope, "headers": headers}


def trail(scope: dict[str, Any]) -> list[str]:
    """The relay nonces the request carries, oldest first (however many headers hold them)."""
    wanted = RELAY_TRAIL.encode("latin-1")
    return [nonce.strip() for k, v in scope["headers"] if k.lower() == wanted
            for nonce in v.decode("latin-1").split(",") if nonce.strip()]


def extended_trail(scope: dict[str, Any], nonce: str) -> str:
    """The trail header's value for a relay of the request: its last nonces, then `nonce`."""
    return ",".join([*trail(scope)[-(MAX_TRAIL - 1):], nonce])


class PeerRelays:
    """One worker's side of relaying: marks its own relays, tells a peer's from a client's.

    `secret` is the same on every worker of the service; `clock` gives unix seconds."""

    def __init__(self, secret: str, *, me: Callable[[], str],
                 clock: Callable[[], float]) -> None:
        if not secret:  # an empty key is one anybody can sign with
            raise ValueError("forwarding needs a peer secret (SPINE_PEER_SECRET)")
        self.secret, self.me, self.clock = secret.encode("utf-8"), me, clock
        self._in_flight: set[str] = set()  # nonces of this worker's relays awaiting an answer

    def rejection(self, scope: dict[str, Any]) -> str | None:
        """None when the request is a peer's relay, to be answered here; else why not."""
        reason = signature_rejection(self.secret, scope, self.clock())
        if reason is not None and self._in_flight.intersection(trail(scope)):
            # This worker's own relay, back from a peer that took it for a client's: their
            # secrets differ. Answered as a peer's relay, or they would pass it to and fro
            # (a list, which every worker gathers from the others, at every request).
            log.warning("a relay came back unaccepted; is SPINE_PEER_SECRET the same on "
                        "every worker?", extra={"reason": reason})
            return None
        return reason

    @contextmanager
    def marked(self, request: httpx.Request, scope: dict[str, Any]) -> Iterator[None]:
        """Mark `request`, this worker's relay of the request in `scope`, while it is sent:
        signed over its target as it goes on the wire (httpx may re-encode the URL), with the
        request's trail and a fresh nonce, which is in flight until the block ends."""
        nonce = secrets.token_hex(16)
        path, _, query = request.url.raw_path.partition(b"?")
        for name, value in relay_headers(self.secret, method=request.method,
                                         target=request_target(path, query),
                                         forwarded_by=self.me(), now=self.clock()):
            request.headers[name] = value
        request.headers[RELAY_TRAIL] = extended_trail(scope, nonce)
        self._in_flight.add(nonce)
        try:
            yield
        finally:
            self._in_flight.discard(nonce)
