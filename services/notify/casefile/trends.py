"""Trends for the ops dashboard, rebuilt from case summaries. Pure; the clock is a parameter.

- SLA attainment per day, overall and per team (a clock is decided the day it was met or
  breached);
- queue length and oldest waiting per team, sampled over the last hours (a step queues from
  `waiting_since` until accepted, completed, withdrawn or the case ends; emergencies never queue);
- per team: offers and how they ended (acceptance rate) and offer -> accept time (p50, p90).
Everything is derived from the read-model, so trends survive restarts without a history store.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from pydantic import AwareDatetime, Field

from services.notify.casefile.models import CaseSummary, ReadModel, StepState

ALL = "all teams"
OFFER_ENDINGS = {"AssignmentAccepted": "accepted", "AssignmentDeclined": "declined",
                 "OfferExpired": "expired"}
OFFER_EVENTS = frozenset({"AssignmentOffered", *OFFER_ENDINGS})


class DailyAttainment(ReadModel):
    days: list[date]
    percent: dict[str, list[float | None]]  # team (or ALL) -> one value per day
    decided: dict[str, list[int]]  # how many clocks were decided that day


class QueueSeries(ReadModel):
    at: list[AwareDatetime]
    length: dict[str, list[int]]  # team -> waiting steps at each instant
    oldest_seconds: dict[str, list[float | None]]  # team -> oldest wait at each instant


class TeamAcceptance(ReadModel):
    team: str
    offers: int = 0
    accepted: int = 0
    declined: int = 0
    expired: int = 0
    acceptance_rate_percent: float | None = None
    p50_seconds: float | None = None
    p90_seconds: float | None = None


class Trends(ReadModel):
    generated_at: AwareDatetime
    attainment: DailyAttainment
    queues: QueueSeries
    acceptance: list[TeamAcceptance] = Field(default_factory=list)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _percent(met: int, breached: int) -> float | None:
    total = met + breached
    return round(100.0 * met / total, 1) if total else None


def _attainment(cases: list[CaseSummary], now: datetime, days: int) -> DailyAttainment:
    first = now.date() - timedelta(days=days - 1)
    span = [first + timedelta(days=i) for i in range(days)]
    # team -> day -> [met, breached]; plain lists: this loop runs once per decided clock
    tallies: dict[str, dict[date, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for case in cases:
        for clock in case.clocks.values():
            attained = clock.attained
            decided_at = clock.breached_at if attained is False else clock.closed_at
            if attained is None or decided_at is None or decided_at.date() < first:
                continue
            step = case.steps.get(clock.step_id)
            team = clock.team or (step.team if step else None)
            for key in (ALL, team) if team else (ALL,):
                tallies[key][decided_at.date()][0 if attained else 1] += 1
    keys = [ALL, *sorted(k for k in tallies if k != ALL)]
    return DailyAttainment(
        days=span,
        percent={k: [_percent(*tallies[k][d]) if d in tallies[k] else None for d in span]
                 for k in keys},
        decided={k: [sum(tallies[k][d]) if d in tallies[k] else 0 for d in span] for k in keys},
    )


def _queue_interval(case: CaseSummary, step: StepState) -> tuple[datetime, datetime | None]:
    start = step.waiting_since or case.stages.triaged or case.stages.received
    assert start is not None  # callers only pass steps that have waited
    ended = step.accepted_at or step.completed_at
    if ended is None and step.status not in ("pending", "offered"):
        ended = case.updated_at  # withdrawn: the summary's last change is when it left
    if ended is None and not case.is_open:
        ended = case.stages.cancelled or case.stages.completed or case.updated_at
    return start, ended


def _queues(cases: list[CaseSummary], now: datetime, hours: int, points: int) -> QueueSeries:
    step = timedelta(hours=hours) / (points - 1)
    instants = [now - step * (points - 1 - i) for i in range(points)]
    intervals: dict[str, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for case in cases:
        for plan_step in case.steps.values():
            if plan_step.emergency:
                continue
            if plan_step.waiting_since or case.stages.triaged or case.stages.received:
                intervals[plan_step.team].append(_queue_interval(case, plan_step))
    length: dict[str, list[int]] = {}
    oldest: dict[str, list[float | None]] = {}
    for team in sorted(intervals):
        length[team], oldest[team] = [], []
        for t in instants:
            waiting = [t - s for s, e in intervals[team] if s <= t and (e is None or e > t)]
            length[team].append(len(waiting))
            oldest[team].append(max(waiting).total_seconds() if waiting else None)
    return QueueSeries(at=instants, length=length, oldest_seconds=oldest)


def _acceptance(cases: list[CaseSummary]) -> list[TeamAcceptance]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    seconds: dict[str, list[float]] = defaultdict(list)
    for case in cases:
        for entry in case.timeline:
            team = entry.changes.get("team")
            if not isinstance(team, str) or entry.event_type not in OFFER_EVENTS:
                continue
            if entry.event_type == "AssignmentOffered":
                counts[team]["offers"] += 1
            elif entry.changes.get("reason") != "withdrawn":  # withdrawn: nobody's doing
                counts[team][OFFER_ENDINGS[entry.event_type]] += 1
        for plan_step in case.steps.values():
            if plan_step.offered_at and plan_step.accepted_at and not plan_step.emergency \
                    and plan_step.accepted_at >= plan_step.offered_at:
                seconds[plan_step.team].append(
                    (plan_step.accepted_at - plan_step.offered_at).total_seconds())
    rows = []
    for team in sorted(counts):
        row = TeamAcceptance(team=team, **counts[team])
        row.acceptance_rate_percent = _percent(row.accepted, row.declined + row.expired)
        row.p50_seconds = _percentile(seconds[team], 50)
        row.p90_seconds = _percentile(seconds[team], 90)
        rows.append(row)
    return rows


def trends(
    summaries: Iterable[CaseSummary], now: datetime, *, days: int = 14, hours: int = 24,
    points: int = 25,
) -> Trends:
    """Attainment per day (last `days`), queues sampled at `points` instants over `hours`, and
    acceptance per team."""
    cases = list(summaries)
    return Trends(generated_at=now, attainment=_attainment(cases, now, days),
                  queues=_queues(cases, now, hours, points), acceptance=_acceptance(cases))
