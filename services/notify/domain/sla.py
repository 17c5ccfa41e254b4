"""One SLA clock: start, pause, resume, meet, and which warnings or breach are due at `now`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from schemas.envelope import derive_id
from schemas.sla import (
    ClockKind,
    SlaBreached,
    SlaEvent,
    SlaMet,
    SlaPaused,
    SlaResumed,
    SlaWarningRaised,
)
from schemas.triage import Urgency
from services.notify.domain.calendar import (
    BusinessCalendar,
    add_business_seconds,
    business_seconds_between,
)

ClockStatus = Literal["running", "paused", "met", "stopped"]
_MIN_BUDGET = timedelta(seconds=1)  # a clock's budget is never zero (fractions divide by it)


class Clock(BaseModel):
    """A budget of (business) seconds consumed only while running; immutable, copy to change."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ClockKind
    step_id: str
    team: str
    urgency: Urgency
    target_seconds: float
    calendar: BusinessCalendar | None = None
    started_at: datetime  # when it began counting (a fixed clock: even past its deadline)
    consumed_seconds: float = 0.0  # budget used before `running_since`
    # None unless running; a fixed clock's budget may begin before `started_at` (_fixed_start)
    running_since: datetime | None = None
    status: ClockStatus = "running"
    fired: tuple[float, ...] = ()  # warning fractions already raised (or skipped past)
    breached: bool = False
    # When it last stopped counting: met or stopped, or, while paused, since when (on resume
    # its escalation chain's steps move out by as much; None again once it runs). Not a field
    # of its own: the model refuses unknown fields, and a worker of the previous release (a
    # rolling deploy) would fail on every row with a paused clock. A clock paused before this
    # resumes without moving its chain.
    ended_at: datetime | None = None
    # Runs to a deadline set from the shared SLA policy (routing's): shown everywhere alike, so
    # it never pauses; the acceptance clock pauses while records are owed.
    fixed: bool = False

    @property
    def key(self) -> str:
        """Where the clock lives in the case state: one clock per step and kind."""
        return clock_key(self.step_id, self.kind)


ClockChange = tuple[Clock, list[SlaEvent]]  # the clock after a transition, and what it raised


def clock_key(step_id: str, kind: ClockKind) -> str:
    """The state key of a step's clock."""
    return f"{step_id}:{kind}"


def pausable(urgency: Urgency, *, fixed: bool = False) -> bool:
    """Whether owed records may pause a clock: not one running to routing's deadline, and not
    the emergency pathway's (a paged surgeon's acknowledgement cannot wait for an MRI report;
    paused, an unanswered page warned, breached and escalated to nobody)."""
    return not fixed and urgency != "emergency"


def start_clock(
    *, kind: ClockKind, step_id: str, team: str, urgency: Urgency, target_seconds: float,
    calendar: BusinessCalendar | None, now: datetime, paused: bool = False,
    due_at: datetime | None = None,
) -> Clock:
    """A new clock, running from `now` (or paused from the start while the case waits).

    With `due_at` it runs on wall time to exactly that instant and never pauses; it starts at
    `now` even when that deadline is behind it (its budget then begins a second before the
    deadline), so a breach it falls into at once is dated at its start (`alarm_instant`).
    """
    if due_at is not None:
        start = _fixed_start(now, due_at)
        return Clock(
            kind=kind, step_id=step_id, team=team, urgency=urgency,
            target_seconds=(due_at - start).total_seconds(), calendar=None,
            started_at=now, running_since=start, fixed=True,
        )
    return Clock(
        kind=kind, step_id=step_id, team=team, urgency=urgency, target_seconds=target_seconds,
        calendar=calendar, started_at=now,
        running_since=None if paused and pausable(urgency) else now,
        status="paused" if paused and pausable(urgency) else "running",
    )


def _fixed_start(now: datetime, due_at: datetime) -> datetime:
    """Where a fixed clock's budget begins: `now`, or a second before a deadline that is not
    ahead of it (routing's review deadline counts from triage, so an acceptance can come after
    it). The deadline stays exactly routing's either way; a budget clamped to one second from
    `now` breached against an instant nobody set, and `late_by_seconds` said ~0."""
    return min(now, due_at - _MIN_BUDGET)


def retarget(clock: Clock, due_at: datetime) -> Clock:
    """A fixed-deadline clock moved to a new deadline (warnings already raised stay raised)."""
    if not clock.fixed or clock.status in ("met", "stopped"):
        return clock
    start = _fixed_start(clock.started_at, due_at)  # fixed clocks never pause
    return clock.model_copy(update={"target_seconds": (due_at - start).total_seconds(),
                                    "running_since": start})


def tighten(
    clock: Clock, *, urgency: Urgency, target_seconds: float,
    calendar: BusinessCalendar | None, now: datetime,
) -> Clock:
    """A running or paused clock held to a stricter urgency's budget, counted from its own start:
    what it consumed stays consumed (in its old calendar up to `now`, in the new one after),
    warnings raised stay raised. A met, stopped or fixed clock is left as it is."""
    if clock.fixed or clock.status not in ("running", "paused"):
        return clock
    since = clock.running_since
    return clock.model_copy(update={
        "urgency": urgency, "target_seconds": min(target_seconds, clock.target_seconds),
        "calendar": calendar, "consumed_seconds": elapsed_seconds(clock, now),
        "running_since": None if since is None else max(now, since)})


def elapsed_seconds(clock: Clock, now: datetime) -> float:
    """Budget consumed up to `now`."""
    if clock.running_since is None:
        return clock.consumed_seconds
    return clock.consumed_seconds + business_seconds_between(
        clock.calendar, clock.running_since, now
    )


def instant_at(clock: Clock, budget_seconds: float, now: datetime) -> datetime:
    """When the clock reaches `budget_seconds` consumed, if it keeps running from `now`."""
    base = clock.running_since or now
    already = clock.consumed_seconds
    if budget_seconds <= already:
        # Reached before this running segment (e.g. breached, paused, resumed): date it back
        # in wall time so late_by stays meaningful.
        return add_business_seconds(None, base, budget_seconds - already)
    return add_business_seconds(clock.calendar, base, budget_seconds - already)


def alarm_instant(clock: Clock, budget_seconds: float, now: datetime) -> datetime:
    """When a running clock fell due for the alarm at `budget_seconds` (a warning's threshold,
    or the breach's target), from its state alone: what dates the alarm and everything it
    causes, so an alarm raised again by a later tick (its row lost before the commit) is the
    same bytes. Never before the clock began running: a budget already spent when the clock
    took it (a stricter urgency) or a deadline already behind a fixed clock's start fell due
    then."""
    began = max(clock.started_at, clock.running_since or clock.started_at)
    return max(instant_at(clock, budget_seconds, now), began)


def deadline(clock: Clock, now: datetime) -> datetime:
    """The breach instant (projected from `now` while paused)."""
    return instant_at(clock, clock.target_seconds, now)


def running_deadlines(clocks: Iterable[Clock], now: datetime) -> dict[str, datetime]:
    """{"<step>:<clock>": deadline} of the running clocks: the one source of SLA deadlines."""
    return {c.key: deadline(c, now) for c in clocks if c.status == "running"}


def next_due(clock: Clock, fractions: tuple[float, ...], now: datetime) -> datetime | None:
    """The next instant a warning or the breach falls due; None if nothing more can fire."""
    if clock.status != "running" or clock.breached:
        return None
    pending = [f for f in fractions if f not in clock.fired]
    budgets = [f * clock.target_seconds for f in pending] + [clock.target_seconds]
    return instant_at(clock, min(budgets), now)


def _envelope(clock: Clock, case_id: str, event_id: str, now: datetime) -> dict[str, object]:
    return {
        "event_id": event_id, "case_id": case_id, "occurred_at": now, "clock": clock.kind,
        "step_id": clock.step_id, "urgency": clock.urgency, "deadline": deadline(clock, now),
    }


def _alarm_id(case_id: str, clock: Clock, *what: object) -> str:
    """A warning's or breach's id: the same on every replay. An emergency's names its urgency:
    its clock may replace an urgent one on the same step (a re-triage), whose alarms must not
    pass for the emergency's."""
    emergency = ("emergency",) if clock.urgency == "emergency" else ()
    return derive_id(case_id, clock.key, *what, *emergency)


def evaluate(
    clock: Clock, *, case_id: str, fractions: tuple[float, ...], now: datetime
) -> ClockChange:
    """Raise what is due at `now`: only the most severe crossed threshold, each one once.

    After an outage that slept through 0.75, 0.9 and the deadline, one breach is raised and the
    skipped warnings are marked fired: three alarms for one late case would only be noise.
    The alarm is dated when it fell due (`alarm_instant`), not at `now`: `late_by_seconds` is
    how far past the deadline that was (0 unless the clock began past it).
    """
    if clock.status != "running" or clock.breached:
        return clock, []
    used = elapsed_seconds(clock, now)
    if used >= clock.target_seconds:
        when = alarm_instant(clock, clock.target_seconds, now)
        base = _envelope(clock, case_id, _alarm_id(case_id, clock, "breached"), when)
        late = max(0.0, (when - deadline(clock, when)).total_seconds())
        breach = SlaBreached.model_validate({**base, "late_by_seconds": late})
        return clock.model_copy(update={"breached": True, "fired": tuple(fractions)}), [breach]
    crossed = [f for f in fractions if f * clock.target_seconds <= used and f not in clock.fired]
    if not crossed:
        return clock, []
    top = max(crossed)
    when = alarm_instant(clock, top * clock.target_seconds, now)
    base = _envelope(clock, case_id, _alarm_id(case_id, clock, "warning", top), when)
    warning = SlaWarningRaised.model_validate({**base, "elapsed_fraction": top})
    fired = tuple(sorted({*clock.fired, *crossed}))
    return clock.model_copy(update={"fired": fired}), [warning]


def pause(
    clock: Clock, *, case_id: str, cause_id: str, reason: str, now: datetime
) -> ClockChange:
    """Stop consuming budget while the case waits on the referrer (never an emergency's)."""
    if clock.status != "running" or not pausable(clock.urgency, fixed=clock.fixed):
        return clock, []
    event = SlaPaused.model_validate(
        {**_envelope(clock, case_id, derive_id(cause_id, clock.key, "paused"), now),
         "reason": reason}
    )
    paused = clock.model_copy(
        update={"consumed_seconds": elapsed_seconds(clock, now), "running_since": None,
                "status": "paused", "ended_at": now}
    )
    return paused, [event]


def resume(clock: Clock, *, case_id: str, cause_id: str, now: datetime) -> ClockChange:
    """Consume budget again from `now`; the deadline moves out by the time spent paused."""
    if clock.status != "paused":
        return clock, []
    # Never from before the clock began (transitions are dated by their events, and a
    # referral's revision may be read after a later offer on another topic).
    since = max(now, clock.started_at)
    resumed = clock.model_copy(update={"running_since": since, "status": "running",
                                       "ended_at": None})
    event = SlaResumed.model_validate(
        _envelope(resumed, case_id, derive_id(cause_id, clock.key, "resumed"), now)
    )
    return resumed, [event]


def paused_seconds(paused: Clock, resumed: Clock) -> float:
    """Wall seconds a clock spent paused, from its state before and after `resume`: what its
    escalation chain's remaining steps move out by (0 if not known: a clock paused before
    this release, or a resume that changed nothing).

    Never more than the clock's life less the budget it consumed (budget, which every release
    keeps, counts only while running, a business second at most a wall second): the previous
    release neither sets nor clears `ended_at`, so after its resume and pause the instant may
    be an older pause of this one, and the chain moved by the hours run since (review 22, N1)."""
    since = paused.ended_at if paused.status == "paused" else None
    if since is None or resumed.status != "running" or resumed.running_since is None:
        return 0.0
    claimed = (resumed.running_since - since).total_seconds()
    idle = (resumed.running_since - paused.started_at).total_seconds() - paused.consumed_seconds
    return max(0.0, min(claimed, idle))


def meet(clock: Clock, *, case_id: str, cause_id: str, now: datetime) -> ClockChange:
    """The step did what the clock waited for; a late one is still met, just breached too."""
    if clock.status in ("met", "stopped"):
        return clock, []
    event = SlaMet.model_validate(
        _envelope(clock, case_id, derive_id(cause_id, clock.key, "met"), now)
    )
    done = clock.model_copy(
        update={"consumed_seconds": elapsed_seconds(clock, now), "running_since": None,
                "status": "met", "ended_at": now}
    )
    return done, [event]


def stop(clock: Clock, *, now: datetime) -> Clock:
    """Cancelled or withdrawn: the clock no longer counts and raises nothing."""
    if clock.status in ("met", "stopped"):
        return clock
    return clock.model_copy(
        update={"consumed_seconds": elapsed_seconds(clock, now), "running_since": None,
                "status": "stopped", "ended_at": now}
    )
