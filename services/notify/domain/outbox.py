"""Notifications waiting for delivery: deterministic ids, per-case sequence, the exact body sent,
how much of a case's outbox one subscriber may hold, and what a dead letter keeps of a message."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.dead_letter import DeadLettered
from schemas.envelope import derive_id
from schemas.notifications import Audience

OUTBOX_SOURCE = "notify.outbox"  # notify's dead letters of messages name the outbox as source
# Undelivered messages per subscriber within one case, and per case: a subscriber with this many
# has a dead target (each is retried for up to 6 h). Per subscriber, so one party's backlog (a
# referrer whose webhook is down, updating its referral) cannot crowd out another's page; per
# case, so the row stays far below the message size (~0.5 KB a message).
MAX_PER_SUBSCRIBER = 50
MAX_OUTBOX = 400
# Never left unqueued: the emergency pathway, SLA alarms and escalations. At a cap they displace
# the oldest routine message (else the oldest message) of those competing; a case's structure
# (a few clocks and chain steps per plan step) raises far fewer than a cap of them per party.
CRITICAL_KINDS = frozenset({"emergency_page", "status_emergency", "sla_warning", "sla_breached",
                            "case_escalated", "case_stalled"})
# The referral's status, each carrying its revision: a newer one makes queued older ones moot.
LATEST_ONLY = frozenset({"status_received", "status_waiting_for_records"})


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


def supersedes(new: Notification, old: Notification) -> bool:
    """True if `old` need not be sent once `new` is queued (same subscriber, newer status)."""
    return (new.kind in LATEST_ONLY and old.kind in LATEST_ONLY
            and new.subscriber_id == old.subscriber_id)


def crowd(outbox: Sequence[Notification], subscriber_id: str) -> list[Notification]:
    """The queued messages a new one for `subscriber_id` competes with: that subscriber's at its
    cap, else the case's at the case's cap; empty while there is room."""
    own = [n for n in outbox if n.subscriber_id == subscriber_id]
    if len(own) >= MAX_PER_SUBSCRIBER:
        return own
    return list(outbox) if len(outbox) >= MAX_OUTBOX else []


def to_displace(crowded: Sequence[Notification]) -> Notification:
    """The oldest routine message of a non-empty crowd, else its oldest (the outbox is in
    sequence order)."""
    return next((n for n in crowded if n.kind not in CRITICAL_KINDS), crowded[0])


def dead_letter(n: Notification, reason: str, *, now: datetime, why: str = "") -> DeadLettered:
    """A message that will not be sent, as a dead letter: ids and kind only, never its data.

    deadletter.v1 is compacted per case and a give-up can come after an erasure's tombstone, so
    what lands there must identify nobody; the causing event (`cause_event_id`) is the way back.
    """
    ref = {
        "notification_id": n.notification_id, "case_id": n.case_id, "sequence": n.seq,
        "audience": n.audience, "subscriber_id": n.subscriber_id, "kind": n.kind,
        "cause_event_id": n.cause_event_id, "created_at": n.created_at.isoformat(),
    }
    return DeadLettered(
        event_id=derive_id(n.notification_id, "dead-letter", *([why] if why else [])),
        case_id=n.case_id, occurred_at=now, service="notify", source_topic=OUTBOX_SOURCE,
        source_partition=n.partition or 0, source_offset=n.seq, reason=reason[:4000],
        original_key_b64=base64.b64encode(n.case_id.encode()).decode(),
        original_value_b64=base64.b64encode(
            json.dumps(ref, sort_keys=True, separators=(",", ":")).encode()).decode(),
    )
