"""HMAC-SHA256 webhook signatures over "<timestamp>.<body>", and per-subscriber secrets."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_PREFIX = "sha256="


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The X-Signature header value for one request."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify(
    secret: bytes, timestamp: str, body: bytes, signature: str, *, now: float,
    tolerance_seconds: float = 300.0,
) -> bool:
    """What a receiver checks: the signature matches and the timestamp is fresh (no replays)."""
    try:
        fresh = abs(now - float(timestamp)) <= tolerance_seconds
    except ValueError:
        return False
    # Bytes on both sides: compare_digest raises on non-ASCII str input.
    return fresh and hmac.compare_digest(
        sign(secret, timestamp, body).encode(), signature.encode("utf-8", "replace"))


def derive_secret(master: str, audience: str, subscriber_id: str) -> bytes:
    """A subscriber's secret derived from the master key, for subscribers given none of their own.

    Derivation means specialists from the directory get distinct secrets without the directory
    carrying any; the operator hands each its secret out of band.
    """
    message = f"{audience}\x1f{subscriber_id}".encode()
    return hmac.new(master.encode(), message, hashlib.sha256).hexdigest().encode()
