"""Stalled cases: received but never triaged, or triaged but never routed, after a bounded time.

Defence in depth behind at-least-once delivery: whatever lost a case between stages (a skipped
offset, a crashed worker, a bug), notify's read-model sees every topic, so it can tell that a
stage never answered. Pure: the summaries and the clock come in as parameters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from schemas import topics
from services.notify.casefile.models import CaseOutline

Stage = Literal["triage", "routing", "emergency_page"]


@dataclass(frozen=True)
class WatchdogPolicy:
    """How long each stage may stay silent before ops hears of it."""

    triage_seconds: float = 120.0  # received -> CaseTriaged
    routing_seconds: float = 120.0  # CaseTriaged -> an offer, escalation or stop
    emergency_seconds: float = 15.0  # emergency CaseTriaged -> EmergencyAssigned or escalation


@dataclass(frozen=True)
class Stall:
    """One case stuck before a stage; `waiting_seconds` counts from when the stage was due."""

    case_id: str
    stage: Stage
    urgency: str | None
    since: datetime
    waiting_seconds: float
    source_topic: str  # where the event the silent stage should have consumed lives


def _routed(case: CaseOutline) -> bool:
    """Routing answered: a step released, offered or assigned, an escalation, or a stop."""
    return bool(case.steps or case.escalations) or case.stages.offered is not None


def _paged(case: CaseOutline) -> bool:
    return any(step.emergency for step in case.steps.values()) or bool(case.escalations)


def stall_of(case: CaseOutline, *, now: datetime, policy: WatchdogPolicy) -> Stall | None:
    """The stage this case is stuck before, if it has waited longer than the policy allows."""
    if not case.is_open or case.erased:
        return None
    stages = case.stages
    if stages.triaged is None:
        if stages.received is None:
            return None  # known only from later topics: nothing for triage to have missed
        waited = (now - stages.received).total_seconds()
        if waited > policy.triage_seconds:
            return Stall(case.case_id, "triage", case.urgency, stages.received, waited,
                         topics.REFERRAL_EVENTS)
        return None
    waited = (now - stages.triaged).total_seconds()
    emergency = case.emergency_pathway or case.urgency == "emergency"
    if emergency and not _paged(case) and waited > policy.emergency_seconds:
        return Stall(case.case_id, "emergency_page", case.urgency, stages.triaged, waited,
                     topics.CASE_TRIAGED)
    if not emergency and not _routed(case) and waited > policy.routing_seconds:
        return Stall(case.case_id, "routing", case.urgency, stages.triaged, waited,
                     topics.CASE_TRIAGED)
    return None


_LONG_AFTER = datetime.max.replace(tzinfo=UTC)  # past any policy's bounds


def may_stall(case: CaseOutline) -> bool:
    """Whether a stage this case waits for has not answered yet, so that stall_of finds it
    stalled once its bound has passed. Only these cases need the timer's look between forecasts
    (a few, where a worker may hold thousands of open cases)."""
    return stall_of(case, now=_LONG_AFTER, policy=WatchdogPolicy()) is not None


def find_stalls(
    summaries: Iterable[CaseOutline], *, now: datetime, policy: WatchdogPolicy, limit: int = 200
) -> list[Stall]:
    """Every stalled case, emergencies first, then the longest waiting; at most `limit`."""
    return sorted_stalls([s for case in summaries if (s := stall_of(case, now=now, policy=policy))],
                         limit=limit)


def sorted_stalls(found: Iterable[Stall], *, limit: int = 200) -> list[Stall]:
    """Emergencies first, then the longest waiting; at most `limit`."""
    return sorted(found, key=lambda s: (s.stage != "emergency_page", -s.waiting_seconds,
                                        s.case_id))[:limit]
