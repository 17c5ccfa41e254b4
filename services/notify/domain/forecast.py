"""Predicted breaches: will an open case miss its SLA, given the queue, capacity, hours and pace?

Time-based warnings (75 %, 90 % of the budget) only say how much time has passed. This looks
ahead: for each open step with a running clock it estimates when the step will be done and
marks the case "at risk" when that is after the deadline, with the reason. Pure: summaries,
deadlines, directory entries and the clock come in as parameters.

Model, per step (emergency steps are paged, not forecast):
- acceptance clock, not yet offered: the step waits behind the team's earlier waiting steps;
  if they take every free place among the eligible specialists it waits for places to free
  (one round per median turnaround of the team); then for the first eligible specialist's
  working hours; then for the team's median time to accept.
- acceptance clock, offered: the offeree has it; done at offer + the team's median to accept.
- turnaround clock: done at acceptance + the team's median turnaround.
Without observations for a team, only what is certain counts (queue, hours, no specialist).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from schemas.directory import Specialist
from services.notify.casefile.models import CaseOutline, StepState
from services.notify.domain.pace import (
    SEARCH_DAYS,
    Sample,
    TeamPace,
    eligible,
    free_slots,
    holders,
    next_working,
    pace_samples,
    team_paces,
)

# Reason codes, most decisive first (metric label values: a fixed, small set).
REASONS = ("no_specialist", "no_capacity", "outside_hours", "slow_acceptance", "slow_turnaround")


@dataclass(frozen=True)
class Risk:
    """The forecast for one case: its most pressing step."""

    case_id: str
    step_id: str
    team: str
    clock: str
    deadline: datetime
    predicted_at: datetime | None  # None: nobody can take it within the search horizon
    at_risk: bool
    reason: str | None
    detail: str | None

    @property
    def margin_seconds(self) -> float | None:
        """Deadline minus predicted completion (negative: expected late by that much)."""
        if self.predicted_at is None:
            return None
        return (self.deadline - self.predicted_at).total_seconds()


@dataclass
class ForecastContext:
    now: datetime
    specialists: list[Specialist]
    load: Mapping[str, int]
    pace: Mapping[str, TeamPace]
    positions: Mapping[tuple[str, str], int]  # (case, step) -> waiting steps ahead in its team


class ForecastBasis:
    """What the forecast needs to know about all cases (who holds what, each team's pace and
    queue), gathered one case at a time: a pass over thousands of rows need not hold them."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.load: dict[str, int] = defaultdict(int)
        self.samples: list[Sample] = []
        self.queues: dict[str, list[tuple[datetime, str, str]]] = defaultdict(list)

    def add(self, case: CaseOutline) -> None:
        """Pace is observed from every case given; load and queues from the open ones."""
        self.samples.extend(pace_samples(case))
        for specialist_id in holders(case):
            self.load[specialist_id] += 1
        if not case.is_open:
            return
        for step in case.steps.values():
            if step.status == "pending" and not step.emergency:
                since = step.waiting_since or case.stages.triaged or self.now
                self.queues[step.team].append((since, case.case_id, step.step_id))

    def context(self, specialists: Iterable[Specialist]) -> ForecastContext:
        """Each waiting step's place in its team's queue (oldest first; 0 = next in line)."""
        positions = {(cid, sid): place for queue in self.queues.values()
                     for place, (_, cid, sid) in enumerate(sorted(queue))}
        return ForecastContext(now=self.now, specialists=list(specialists), load=self.load,
                               pace=team_paces(self.samples), positions=positions)


def _minutes(seconds: float) -> str:
    minutes = max(0, round(seconds / 60))
    return f"{minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def _late(deadline: datetime, predicted: datetime) -> str:
    return f"expected {_minutes((predicted - deadline).total_seconds())} after the deadline"


def _pending(case_id: str, step: StepState, deadline: datetime, ctx: ForecastContext) -> Risk:
    def risk(predicted: datetime | None, reason: str, detail: str) -> Risk:
        late = predicted is None or predicted > deadline
        return Risk(case_id, step.step_id, step.team, "acceptance", deadline, predicted,
                    late, reason if late else None, detail if late else None)

    team = eligible(ctx.specialists, step.team)
    if not team:
        return risk(None, "no_specialist", f"no active specialist serves {step.team}")
    ahead = ctx.positions.get((case_id, step.step_id), 0)
    free = free_slots(team, ctx.load)
    pace = ctx.pace.get(step.team, TeamPace())
    start, reason, detail = ctx.now, "slow_acceptance", ""
    if ahead >= free:
        rounds = (ahead - free) // len(team) + 1
        turnaround = pace.median_turnaround()
        if turnaround is None and free == 0:
            return risk(None, "no_capacity", f"{ahead} ahead, no free place among "
                        f"{len(team)} specialists, no turnaround observed yet")
        start = ctx.now + timedelta(seconds=rounds * (turnaround or 0.0))
        reason = "no_capacity"
        detail = (f"{ahead} ahead, {free} free places among {len(team)} specialists; "
                  f"a place frees in about {_minutes(turnaround or 0.0)}")
    opens = [t for s in team if (t := next_working(s, start)) is not None]
    if not opens:
        return risk(None, "outside_hours",
                    f"no eligible specialist works in the next {SEARCH_DAYS} days")
    first = min(opens)
    if first > start and reason != "no_capacity":
        reason = "outside_hours"
        wait = (first - ctx.now).total_seconds()
        detail = f"first eligible specialist starts in {_minutes(wait)}"
    typical = pace.median_to_accept() or 0.0
    predicted = first + timedelta(seconds=typical)
    if reason == "slow_acceptance":
        detail = f"{step.team} takes {_minutes(typical)} to accept (median)"
    return risk(predicted, reason, f"{detail}; {_late(deadline, predicted)}")


def _offered(case_id: str, step: StepState, deadline: datetime, ctx: ForecastContext) -> Risk:
    typical = ctx.pace.get(step.team, TeamPace()).median_to_accept()
    return _paced(case_id, step, deadline, ctx, kind="acceptance", typical=typical,
                  since=step.offered_at, reason="slow_acceptance",
                  pace_text=f"{step.team} takes {_minutes(typical or 0)} to accept (median)")


def _accepted(case_id: str, step: StepState, deadline: datetime, ctx: ForecastContext) -> Risk:
    typical = ctx.pace.get(step.team, TeamPace()).median_turnaround()
    return _paced(case_id, step, deadline, ctx, kind="turnaround", typical=typical,
                  since=step.accepted_at, reason="slow_turnaround",
                  pace_text=f"{step.team} reports in {_minutes(typical or 0)} (median)")


def _paced(case_id: str, step: StepState, deadline: datetime, ctx: ForecastContext, *,
           kind: str, typical: float | None, since: datetime | None, reason: str,
           pace_text: str) -> Risk:
    """A step whose next event comes at the team's observed pace from `since`."""
    predicted = max(ctx.now, (since or ctx.now) + timedelta(seconds=typical or 0.0))
    late = typical is not None and predicted > deadline
    return Risk(case_id, step.step_id, step.team, kind, deadline, predicted, late,
                reason if late else None,
                f"{pace_text}; {_late(deadline, predicted)}" if late else None)


def _step_risk(case_id: str, step: StepState | None, kind: str, deadline: datetime,
               ctx: ForecastContext) -> Risk | None:
    if step is None or step.emergency or deadline <= ctx.now:
        return None  # unknown step, a page (not queued), or already breached: no forecast
    if kind == "turnaround" and step.status == "accepted":
        return _accepted(case_id, step, deadline, ctx)
    if kind == "acceptance" and step.status == "offered":
        return _offered(case_id, step, deadline, ctx)
    if kind == "acceptance" and step.status == "pending":
        return _pending(case_id, step, deadline, ctx)
    return None


def _severity(risk: Risk) -> tuple[bool, float]:
    margin = risk.margin_seconds
    return (not risk.at_risk, float("-inf") if margin is None else margin)


def case_risk(
    case_id: str, steps: Mapping[str, StepState], deadlines: Mapping[str, datetime],
    ctx: ForecastContext,
) -> Risk | None:
    """The forecast of an open case's most pressing step (None: nothing to forecast).
    `deadlines`: {"<step>:<clock>": deadline} of its running clocks."""
    found = []
    for key, when in deadlines.items():
        step_id, _, kind = key.rpartition(":")
        if (risk := _step_risk(case_id, steps.get(step_id), kind, when, ctx)) is not None:
            found.append(risk)
    return min(found, key=_severity) if found else None


def forecast(
    summaries: Iterable[CaseOutline], *, deadlines: Mapping[str, Mapping[str, datetime]],
    specialists: Iterable[Specialist], now: datetime,
) -> dict[str, Risk]:
    """case id -> the forecast of its most pressing open step, for every open case with a
    running clock. `deadlines`: case id -> {"<step>:<clock>": deadline} of running clocks."""
    cases = list(summaries)
    basis = ForecastBasis(now)
    for case in cases:
        basis.add(case)
    ctx = basis.context(specialists)
    return {case.case_id: risk for case in cases if case.is_open
            and (risk := case_risk(case.case_id, case.steps,
                                   deadlines.get(case.case_id, {}), ctx)) is not None}
