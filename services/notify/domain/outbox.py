"""Notifications waiting for delivery: deterministic ids, per-case sequence, the exact body sent."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.envelope import derive_id
from schemas.notifications import Audience


class Notification(BaseModel):
    """One message to one subscriber; it stays in the case's outbox until delivered or failed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    notification_id: str  # also the Idempotency-Key the receiver sees
    case_id: str
    partition: int | None = None  # the case's partition: which worker delivers it
    seq: int = Field(ge=1)  # per case: n+1 is not delivered to a subscriber before n is settled
    audience: Audience
    subscriber_id: str
    kind: str
    cause_event_id: str
    created_at: datetime
    # ids, urgency, deadlines; the one piece of patient text is status_triaged.confirm_from_text:
    # the referrer's own sentences that raised a flag, sent back to that referrer (issue 9).
    data: dict[str, Any] = Field(default_factory=dict)
    attempts: int = 0  # failed attempts so far, recorded so a restart does not reset the budget


def notification_id(cause_event_id: str, audience: Audience, subscriber_id: str) -> str:
    """Same cause, audience and subscriber, same id: a redelivered event re-sends the same key."""
    return derive_id(cause_event_id, "notification", audience, subscriber_id)


def webhook_body(n: Notification) -> bytes:
    """The JSON body posted; identical on every retry so the signature covers the same bytes."""
    doc = {
        "notification_id": n.notification_id,
        "case_id": n.case_id,
        "sequence": n.seq,
        "audience": n.audience,
        "subscriber_id": n.subscriber_id,
        "kind": n.kind,
        "created_at": n.created_at.isoformat(),
        "data": n.data,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str).encode()
