"""Short-lived signed tickets that let a browser's EventSource (which cannot send headers) connect.

The page trades its ops bearer token for a ticket (POST, header-authenticated) and puts only the
ticket in the stream URL, so the long-lived token never lands in URLs, proxies or history.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel


class StreamTicket(BaseModel):
    ticket: str
    expires_at: AwareDatetime


class InvalidTicket(Exception):
    """The ticket is malformed, forged or expired; the message holds no ticket content."""


class TicketSigner:
    """Issues and checks tickets with a per-process random key: valid only where issued."""

    def __init__(self, *, ttl_seconds: float = 60.0, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)
        self._ttl = timedelta(seconds=ttl_seconds)

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()

    def issue(self, *, subject: str, now: datetime) -> StreamTicket:
        """A ticket for `subject`, valid for the configured time from `now`."""
        expires_at = now + self._ttl
        payload = f"{subject}|{int(expires_at.timestamp())}".encode()
        encoded = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return StreamTicket(ticket=f"{encoded}.{self._sign(payload)}", expires_at=expires_at)

    def verify(self, ticket: str, *, now: datetime) -> str:
        """The ticket's subject; raises InvalidTicket if forged, malformed or expired."""
        encoded, _, signature = ticket.partition(".")
        try:
            payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except ValueError as exc:
            raise InvalidTicket("malformed ticket") from exc
        # Bytes on both sides: a non-ASCII str made compare_digest raise, a 500 (F9).
        if not hmac.compare_digest(self._sign(payload).encode(),
                                   signature.encode("utf-8", "replace")):
            raise InvalidTicket("bad ticket signature")
        subject, _, expires = payload.decode(errors="replace").rpartition("|")
        if not expires.isdigit() or now.timestamp() >= int(expires):
            raise InvalidTicket("ticket expired")
        return subject
