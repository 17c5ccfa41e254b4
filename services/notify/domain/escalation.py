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
    """A chain started by a warning or breach; its first step is due at once (delay 0)."""
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


def due_steps(
    chain: Chain, policy: EscalationPolicy, now: datetime
) -> tuple[Chain, list[EscalationStep]]:
    """Issue every step due by `now`, once; repeats missed during an outage collapse into one."""
    steps: list[EscalationStep] = []
    sent = chain.sent
    while chain.status == "active":
        offset = _offset(policy, sent)
        if offset is None or chain.started_at + timedelta(seconds=offset) > now:
            break
        step = EscalationStep(audience=_audience(sent), index=sent)
        if steps and sent >= len(LEVELS) and steps[-1].index >= len(LEVELS):
            steps[-1] = step  # a later repeat supersedes an earlier one not yet sent
        else:
            steps.append(step)
        sent += 1
    return chain.model_copy(update={"sent": sent}), steps


def retrigger(chain: Chain, *, trigger: Trigger, event_id: str) -> tuple[Chain, list[Audience]]:
    """A more severe event on a running chain: everyone already told hears of it now."""
    if chain.status != "active":
        return chain, []
    reached = sorted({_audience(i) for i in range(chain.sent)}, key=LEVELS.index)
    updated = chain.model_copy(update={"trigger": trigger, "trigger_event_id": event_id})
    return updated, reached


def close(chain: Chain, *, status: ChainStatus, by: str) -> Chain:
    """Acknowledge or resolve: no further steps; closing twice keeps the first reason."""
    if chain.status != "active":
        return chain
    return chain.model_copy(update={"status": status, "closed_by": by})
