"""Proof that a request was relayed by a worker of the deployment, not sent by a client.

A worker relaying a request to the case's owner (services/common/forwarding.py) marks it with
its own URL (`x-spine-forwarded-by`), and the owner answers a marked request itself instead of
relaying it again. Any client can send that header, so the mark counts only with a signature:
HMAC-SHA256, under a secret every worker shares (SPINE_PEER_SECRET), of the method, the request
target (raw path and query), the relaying worker's URL and the unix time of signing, the time
sent alongside. The receiver checks it against its own clock.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

FORWARDED = "x-spine-forwarded-by"
FORWARDED_AT = "x-spine-forwarded-at"
FORWARDED_SIG = "x-spine-forwarded-sig"
RELAY_HEADERS = frozenset({FORWARDED, FORWARDED_AT, FORWARDED_SIG})
# How far a signature's time may be from the receiver's clock. A relay is sent the moment it is
# signed and crosses the cluster in milliseconds, and the workers' clocks are NTP-synchronised
# to well under a second; 30 s tolerates a badly drifting node while bounding how long a
# relayed request seen on the wire (a proxy's log, a packet capture) could be replayed.
MAX_SKEW_SECONDS = 30

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


def rejection(secret: bytes, scope: dict[str, Any], now: float) -> str | None:
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
