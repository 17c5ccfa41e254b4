"""What notify remembers per case (one faust table row), and the outcome of applying an event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from schemas.envelope import Event
from schemas.notifications import Audience
from schemas.triage import Urgency
from services.notify.domain.escalation import Chain
from services.notify.domain.outbox import (
    CRITICAL_KINDS,
    Notification,
    crowd,
    dead_letter,
    notification_id,
    supersedes,
    to_displace,
)
from services.notify.domain.sla import Clock

APPLIED_MEMORY = 512  # event ids remembered per case: far more than one case ever redelivers


class StepInfo(BaseModel):
    """One plan step: its team, urgency and whoever currently holds (or is offered) it."""

    model_config = ConfigDict(extra="forbid")

    team: str
    urgency: Urgency
    specialist_id: str | None = None


class CaseState(BaseModel):
    """Clocks, escalation chains and pending deliveries of one case; serialised as JSON."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    partition: int | None = None  # of the case's topics, to tell which worker owns the row
    referrer_id: str | None = None
    urgency: Urgency | None = None
    revision: int = 0
    waiting_for: list[str] = Field(default_factory=list)  # records the referrer still owes
    closed: bool = False
    # Set by CaseErased, never cleared (handlers.apply_event). Written only when set: the model
    # refuses unknown fields, so a worker of the previous release reading a row this one wrote
    # (a rolling deploy) would fail on every row that carried `"erased": false`.
    erased: bool = Field(default=False, exclude_if=lambda erased: not erased)
    # Set by CaseCompleted, never cleared: a later cancel changes nothing (routing ignores it
    # too). Written only when set, for the same reason as `erased`.
    completed: bool = Field(default=False, exclude_if=lambda completed: not completed)
    steps: dict[str, StepInfo] = Field(default_factory=dict)
    clocks: dict[str, Clock] = Field(default_factory=dict)
    chains: dict[str, Chain] = Field(default_factory=dict)
    outbox: list[Notification] = Field(default_factory=list)
    next_seq: int = 1
    applied: list[str] = Field(default_factory=list)
    next_due_at: datetime | None = None  # earliest warning, breach or escalation step

    def to_json(self) -> str:
        """The table value."""
        return self.model_dump_json()

    def working_copy(self) -> CaseState:
        """A copy handlers may change: containers and mutable steps are its own.

        Clocks, chains and notifications are frozen, so sharing them is safe; a deep copy
        cost more than the rest of handling an event put together.
        """
        return self.model_copy(update={
            "waiting_for": list(self.waiting_for),
            "steps": {key: step.model_copy() for key, step in self.steps.items()},
            "clocks": dict(self.clocks),
            "chains": dict(self.chains),
            "outbox": list(self.outbox),
            "applied": list(self.applied),
        })

    @classmethod
    def from_json(cls, raw: str | bytes) -> CaseState:
        """Parse a table value."""
        return cls.model_validate_json(raw)


class Contacts(Protocol):
    """Who is who: team leads and ops from the directory and the subscribers file."""

    def team_lead_for(self, specialist_id: str | None, team: str) -> str | None:
        """The team lead to escalate to, or None if nobody is known."""

    def ops_ids(self) -> list[str]:
        """Every ops subscriber."""

    def has_referrer(self, referrer_id: str) -> bool:
        """True if the referrer subscribed to status updates."""


@dataclass
class Outcome:
    """The new state plus what to publish: events for Kafka, notifications for the outbox."""

    state: CaseState
    events: list[Event] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why a message was not queued: ids only

    def notify(
        self, *, audience: Audience, subscriber_id: str | None, kind: str, cause_event_id: str,
        now: datetime, data: dict[str, Any],
    ) -> None:
        """Queue one message in the case's outbox (once per cause, audience and subscriber).

        `now` dates it: handlers pass when its cause happened (`Context.at`), never the read
        time, so the same event applied again (a redelivery, a row lost before its commit)
        queues the same bytes under the same Idempotency-Key.

        Within the caps of outbox.py: a routine message past them is dead-lettered, a critical
        one displaces another (dead-lettered in its place); a newer referral status drops the
        subscriber's queued older ones.
        """
        if not subscriber_id:
            self.skipped.append(f"{kind}: no {audience} to notify")
            return
        nid = notification_id(cause_event_id, audience, subscriber_id)
        if any(n.notification_id == nid for n in self.state.outbox):
            return
        note = Notification(
            notification_id=nid, case_id=self.state.case_id, partition=self.state.partition,
            seq=self.state.next_seq,
            audience=audience, subscriber_id=subscriber_id, kind=kind,
            cause_event_id=cause_event_id, created_at=now, data=data,
        )
        self.state.next_seq += 1
        for old in [n for n in self.state.outbox if supersedes(note, n)]:
            self._unqueue(old, f"superseded: {old.kind} by a newer status")
        crowded = crowd(self.state.outbox, subscriber_id)
        if crowded and kind not in CRITICAL_KINDS:
            self.skipped.append(f"outbox_full: {kind} not queued")
            self.events.append(dead_letter(
                note, f"outbox_full: {kind} not queued, {len(crowded)} undelivered ahead",
                now=now, why="not-queued"))
            return
        if crowded:
            victim = to_displace(crowded)
            self._unqueue(victim, f"outbox_full: {victim.kind} displaced by {kind}")
            self.events.append(dead_letter(
                victim, f"outbox_full: {victim.kind} displaced by {kind}", now=now,
                why="displaced"))
        self.state.outbox.append(note)
        self.notifications.append(note)

    def _unqueue(self, note: Notification, reason: str) -> None:
        """Take a queued message out (its lane checks the outbox before each attempt)."""
        self.state.outbox = [n for n in self.state.outbox if n is not note]
        self.notifications = [n for n in self.notifications if n is not note]
        self.skipped.append(reason)
