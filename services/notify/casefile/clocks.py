"""SLA clocks in the read-model: opened and closed by routing events, detailed by SLA events."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from schemas import sla
from services.notify.casefile.models import Breach, CaseSummary, SlaClock


def earliest(current: datetime | None, candidate: datetime) -> datetime:
    """The earlier of two instants, so replays in any order settle on the first."""
    return candidate if current is None or candidate < current else current


def _clock(s: CaseSummary, step_id: str, kind: sla.ClockKind) -> SlaClock:
    key = f"{step_id}:{kind}"
    clock = s.clocks.get(key)
    if clock is None:
        team = s.steps[step_id].team if step_id in s.steps else None
        clock = s.clocks[key] = SlaClock(step_id=step_id, clock=kind, team=team)
    return clock


def start_clock(
    s: CaseSummary, step_id: str, kind: sla.ClockKind, at: datetime,
    deadline: datetime | None = None,
) -> None:
    """Open a clock the routing events imply; SLA events, when they come, set its deadline."""
    clock = _clock(s, step_id, kind)
    clock.started_at = earliest(clock.started_at, at)
    clock.urgency = clock.urgency or s.urgency
    if clock.deadline is None:
        clock.deadline = deadline


def with_deadlines(s: CaseSummary, known: Mapping[str, datetime]) -> CaseSummary:
    """The summary with notify's own clock deadlines on open clocks that show none yet (an
    acceptance clock has none until its first SLA event), so a card read from the changelog on
    another worker shows the real deadline; the same object if nothing was missing."""
    missing = {key: when for key, when in known.items()
               if key in s.clocks and s.clocks[key].deadline is None}
    if not missing:
        return s
    clocks = {key: clock.model_copy(update={"deadline": missing[key]}) if key in missing
              else clock for key, clock in s.clocks.items()}
    return s.model_copy(update={"clocks": clocks})


def close_clock(s: CaseSummary, step_id: str, kind: sla.ClockKind, at: datetime) -> None:
    """The step moved on in time or late: the clock is met (breached ones stay counted late)."""
    clock = _clock(s, step_id, kind)
    if clock.closed_at is None:
        clock.closed_at = at
        clock.stopped_at = None


def stop_clock(s: CaseSummary, step_id: str, kind: sla.ClockKind, at: datetime) -> None:
    """The step became moot: its clock stops without counting as met or missed."""
    clock = _clock(s, step_id, kind)
    if clock.is_open:
        clock.stopped_at = at


def stop_open_clocks(s: CaseSummary, at: datetime) -> None:
    """The case ended (cancelled, completed): open clocks stop without counting as met."""
    for clock in s.clocks.values():
        if clock.is_open:
            clock.stopped_at = at


def on_sla_event(s: CaseSummary, e: Any) -> None:
    """Apply a warning, breach, pause, resume or met event from notify's SLA clocks."""
    clock = _clock(s, e.step_id, e.clock)
    clock.urgency = e.urgency
    if isinstance(e, sla.SlaWarningRaised):
        clock.warned_at = earliest(clock.warned_at, e.occurred_at)
        clock.warned_fraction = max(clock.warned_fraction or 0.0, e.elapsed_fraction)
    elif isinstance(e, sla.SlaBreached):
        _record_breach(s, clock, e)
    elif isinstance(e, sla.SlaMet):
        close_clock(s, e.step_id, e.clock, e.occurred_at)
    if isinstance(e, sla.SlaPaused | sla.SlaResumed) and (
            clock.paused_changed_at is None or e.occurred_at >= clock.paused_changed_at):
        # Pauses and resumes are dated by their cause (intake's revision), alarms by notify's
        # tick: a pause dated before an alarm already applied was dropped, and the board said
        # "warning" while notify held the clock paused (review of review 21).
        clock.paused_changed_at = e.occurred_at
        clock.paused = isinstance(e, sla.SlaPaused)
    if clock.updated_at is not None and e.occurred_at < clock.updated_at:
        return  # an older deadline must not undo a newer one
    clock.updated_at = e.occurred_at
    # Once routing has moved the deadline, its own (ordered) events say where it is.
    clock.deadline = e.deadline if clock.routing_deadline is None else clock.routing_deadline


def _record_breach(s: CaseSummary, clock: SlaClock, e: sla.SlaBreached) -> None:
    clock.breached_at = earliest(clock.breached_at, e.occurred_at)
    clock.late_by_seconds = max(clock.late_by_seconds or 0.0, e.late_by_seconds)
    for i, breach in enumerate(s.breaches):
        if (breach.step_id, breach.clock) == (e.step_id, e.clock):
            late = max(breach.late_by_seconds, e.late_by_seconds)
            s.breaches[i] = breach.model_copy(update={"late_by_seconds": late})
            return
    s.breaches.append(Breach(
        at=e.occurred_at, step_id=e.step_id, clock=e.clock, urgency=e.urgency,
        deadline=e.deadline, late_by_seconds=e.late_by_seconds,
    ))
