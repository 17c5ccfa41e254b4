"""Delivery outcomes of notifications (webhooks to specialists, team leads, ops and referrers)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.envelope import Event

Audience = Literal["specialist", "team_lead", "ops", "referrer"]


class _Delivery(Event):
    notification_id: str  # also the Idempotency-Key header the receiver sees
    audience: Audience
    subscriber_id: str
    kind: str  # e.g. assignment_offered, sla_breached, status_triaged
    attempts: int = Field(ge=1)


class NotificationDelivered(_Delivery):
    event_type: Literal["NotificationDelivered"] = "NotificationDelivered"
    status_code: int
    latency_ms: float = Field(ge=0)


class NotificationFailed(_Delivery):
    event_type: Literal["NotificationFailed"] = "NotificationFailed"
    reason: str  # never the body: it may hold patient data
    final: bool = True


NotificationEvent = NotificationDelivered | NotificationFailed
