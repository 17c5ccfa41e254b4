"""Escalation chains: assignee first, then the team lead, then ops, until someone acknowledges."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from schemas.notifications import Audience
from schemas.sla import ClockKind
from schemas.triage import Urgency
from services.notify.domain.policy import LEVELS, EscalationPolicy

ChainStatus = Literal["active", "acknowledged", "resolved"]
Trigger = Literal["sla_warning", "sla_breached"]


class Chain(BaseModel):
    """One chain per step clock; `sent` counts the scheduled steps issued (levels, then repeats)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step_id: str
    clock: ClockKind
    urgency: Urgency
    # what the schedule counts from: when the starting alarm fell due, moved out by the time its
    # clock spent paused since (hold)
    started_at: datetime
    origin_event_id: str  # the SLA event that started the chain: seeds its step ids
    trigger: Trigger
    trigger_event_id: str  # the latest (most severe) SLA event, quoted in every message
    sent: int = 0
    status: ChainStatus = "active"
    closed_by: str | None = None  # who acknowledged, or what resolved it


class EscalationStep(BaseModel):
    """One scheduled message of a chain: which level hears it and its place in the schedule."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    audience: Audience
    index: int


def _offset(policy: EscalationPolicy, index: int) -> float | None:
    """Seconds after the chain's start that step `index` is due; None past the last repeat."""
    if index < len(LEVELS):
        return policy.delays_seconds[index]
    repeat = index - len(LEVELS) + 1
    if repeat > policy.max_repeats:
        return None
    return policy.delays_seconds[-1] + repeat * policy.repeat_every_seconds


def _audience(index: int) -> Audience:
    level: Audience = LEVELS[min(index, len(LEVELS) - 1)]  # type: ignore[assignment]
    return level


def start_chain(
    *, step_id: str, clock: ClockKind, urgency: Urgency, trigger: Trigger, event_id: str,
    now: datetime,
) -> Chain:
    """A chain started by a warning or breach, its schedule counted from `now`: the instant
    the alarm fell due (sla.alarm_instant), so the steps' dates depend on the case alone. An
    alarm raised late (an outage) finds the steps whose time passed due at once: the lead and
    ops hear of a case past its deadline as they would have had notify been running."""
    return Chain(
        step_id=step_id, clock=clock, urgency=urgency, started_at=now, origin_event_id=event_id,
        trigger=trigger, trigger_event_id=event_id,
    )


def next_due(chain: Chain, policy: EscalationPolicy) -> datetime | None:
    """When the next step falls due; None once acknowledged, resolved or exhausted."""
    if chain.status != "active":
        return None
    offset = _offset(policy, chain.sent)
    return None if offset is None else chain.started_at + timedelta(seconds=offset)


def take_step(
    chain: Chain, policy: EscalationPolicy, now: datetime
) -> tuple[Chain, EscalationStep | None]:
    """Issue the chain's next step, which the caller found due (`next_due`) by `now`.

    One step at a time, so a tick can take every chain's steps and the alarms in the order
    they fell due. A repeat is passed over (None) when the next repeat is due by `now` too:
    repeats missed during an outage collapse into the latest one.
    """
    index = chain.sent
    advanced = chain.model_copy(update={"sent": index + 1})
    following = _offset(policy, index + 1)
    if (index >= len(LEVELS) and following is not None
            and chain.started_at + timedelta(seconds=following) <= now):
        return advanced, None
    return advanced, EscalationStep(audience=_audience(index), index=index)


def retrigger(chain: Chain, *, trigger: Trigger, event_id: str) -> tuple[Chain, list[Audience]]:
    """A more severe event on a running chain: everyone already told hears of it now."""
    if chain.status != "active":
        return chain, []
    reached = sorted({_audience(i) for i in range(chain.sent)}, key=LEVELS.index)
    updated = chain.model_copy(update={"trigger": trigger, "trigger_event_id": event_id})
    return updated, reached


def hold(chain: Chain, seconds: float) -> Chain:
    """Its clock was paused for `seconds` (wall time): the steps still to come fall due that
    much later, keeping their spacing, as the clock's own deadline moved out (a pause stops
    the chain's clock as it stops the SLA clock; before, every step whose time passed while
    the referrer owed records went out at once on resume)."""
    if chain.status != "active" or seconds <= 0:
        return chain
    return chain.model_copy(update={"started_at": chain.started_at + timedelta(seconds=seconds)})


def close(chain: Chain, *, status: ChainStatus, by: str) -> Chain:
    """Acknowledge or resolve: no further steps; closing twice keeps the first reason."""
    if chain.status != "active":
        return chain
    return chain.model_copy(update={"status": status, "closed_by": by})
