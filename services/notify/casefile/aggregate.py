"""aggregate: the ops dashboard's numbers from case summaries. Pure; the clock is a parameter."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import AwareDatetime, Field

from schemas.envelope import utc
from services.notify.casefile.models import (
    CaseStatus,
    CaseSummary,
    OpenSlaState,
    ReadModel,
    SlaClock,
    StageTimes,
)

OPEN_STATES: tuple[OpenSlaState, ...] = ("on_track", "warning", "breached", "paused")
# (name, from stage, to stage): time spent between reaching one stage and the next.
STAGE_SPANS: tuple[tuple[str, str, str], ...] = (
    ("triage", "received", "triaged"),
    ("routing", "triaged", "offered"),
    ("acceptance", "offered", "accepted"),
    ("report", "accepted", "report_ready"),
    ("completion", "report_ready", "completed"),
)


class CaseCard(ReadModel):
    case_id: str
    urgency: str | None
    status: CaseStatus
    sla_state: OpenSlaState
    teams: list[str]
    assignees: list[str]
    offered_to: list[str]
    deadline: AwareDatetime | None
    seconds_to_deadline: float | None  # negative: late by that much
    waiting_for_records: bool


class TeamLoad(ReadModel):
    team: str
    open_cases: int = 0
    waiting: int = 0  # steps not yet accepted
    in_progress: int = 0  # accepted, report not yet in
    oldest_waiting_since: AwareDatetime | None = None
    oldest_waiting_seconds: float | None = None


class BreachRow(ReadModel):
    case_id: str
    step_id: str
    team: str | None
    clock: str
    urgency: str
    deadline: AwareDatetime
    breached_at: AwareDatetime
    late_by_seconds: float
    still_open: bool


class Attainment(ReadModel):
    met: int = 0
    breached: int = 0

    @property
    def percent(self) -> float | None:
        """Share of decided clocks met in time, in percent; None before any is decided."""
        total = self.met + self.breached
        return round(100.0 * self.met / total, 1) if total else None


class Percentiles(ReadModel):
    count: int
    p50_seconds: float | None
    p90_seconds: float | None


class OfferTotals(ReadModel):
    offered: int = 0
    accepted: int = 0
    declined: int = 0
    expired: int = 0
    acceptance_rate_percent: float | None = None


class DashboardSnapshot(ReadModel):
    generated_at: AwareDatetime
    totals: dict[str, int]
    columns: dict[str, list[CaseCard]]
    column_counts: dict[str, int]
    team_load: list[TeamLoad]
    recent_breaches: list[BreachRow]
    attainment_by_urgency: dict[str, float | None]
    attainment_by_team: dict[str, float | None]
    attainment_by_clock: dict[str, float | None]
    stage_durations: dict[str, Percentiles]
    acceptance_times: Percentiles
    offer_outcomes: OfferTotals = Field(default_factory=OfferTotals)


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation between closest ranks; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _percentiles(values: list[float]) -> Percentiles:
    return Percentiles(
        count=len(values), p50_seconds=percentile(values, 50), p90_seconds=percentile(values, 90)
    )


def _card(case: CaseSummary, state: OpenSlaState, now: datetime) -> CaseCard:
    deadline = case.next_deadline
    open_steps = [s for s in case.steps.values() if s.status != "completed"]
    return CaseCard(
        case_id=case.case_id,
        urgency=case.urgency,
        status=case.status,
        sla_state=state,
        teams=list(case.teams),
        assignees=sorted({s.specialist_id for s in open_steps if s.status == "accepted"
                          and s.specialist_id}),
        offered_to=sorted({s.specialist_id for s in open_steps if s.status == "offered"
                           and s.specialist_id}),
        deadline=deadline,
        seconds_to_deadline=(deadline - now).total_seconds() if deadline else None,
        waiting_for_records=case.waiting_for_records,
    )


def _card_order(card: CaseCard) -> tuple[bool, float, str]:
    return (card.seconds_to_deadline is None, card.seconds_to_deadline or 0.0, card.case_id)


def _add_team_load(loads: dict[str, TeamLoad], case: CaseSummary) -> None:
    teams_with_steps = {s.team for s in case.steps.values()}
    waiting: list[tuple[str, datetime | None]] = [
        (team, case.stages.triaged) for team in case.teams if team not in teams_with_steps
    ]
    busy: set[str] = set()
    for step in case.steps.values():
        if step.status == "accepted":
            loads.setdefault(step.team, TeamLoad(team=step.team)).in_progress += 1
            busy.add(step.team)
        elif step.status in ("pending", "offered"):
            waiting.append((step.team, step.waiting_since or case.stages.triaged))
    for team, since in waiting:
        load = loads.setdefault(team, TeamLoad(team=team))
        load.waiting += 1
        busy.add(team)
        if since and (load.oldest_waiting_since is None or since < load.oldest_waiting_since):
            load.oldest_waiting_since = since
    for team in busy:
        loads[team].open_cases += 1


def _clock_team(case: CaseSummary, clock: SlaClock) -> str | None:
    step = case.steps.get(clock.step_id)
    return clock.team or (step.team if step else None)


def _breach_rows(case: CaseSummary, now: datetime) -> list[BreachRow]:
    rows = []
    for breach in case.breaches:
        clock = case.clocks.get(f"{breach.step_id}:{breach.clock}")
        still_open = clock is not None and clock.is_open
        late = breach.late_by_seconds
        if still_open:  # keep counting while nobody has acted
            late = max(late, (now - breach.deadline).total_seconds())
        rows.append(BreachRow(
            case_id=case.case_id, step_id=breach.step_id,
            team=_clock_team(case, clock) if clock else None, clock=breach.clock,
            urgency=breach.urgency, deadline=breach.deadline, breached_at=breach.at,
            late_by_seconds=late, still_open=still_open,
        ))
    return rows


def _stage_spans(stages: StageTimes) -> Iterable[tuple[str, float]]:
    for name, start, end in STAGE_SPANS:
        began, ended = getattr(stages, start), getattr(stages, end)
        if began is not None and ended is not None and ended >= began:
            yield name, (ended - began).total_seconds()


@dataclass
class _Tally:
    """Running totals over the summaries, folded one case at a time."""

    now: datetime
    totals: dict[str, int] = field(default_factory=lambda: {"open": 0, "completed": 0,
                                                             "cancelled": 0})
    columns: dict[str, list[CaseCard]] = field(
        default_factory=lambda: {state: [] for state in OPEN_STATES}
    )
    loads: dict[str, TeamLoad] = field(default_factory=dict)
    breaches: list[BreachRow] = field(default_factory=list)
    attainment: dict[str, dict[str, Attainment]] = field(
        default_factory=lambda: {d: defaultdict(Attainment) for d in ("urgency", "team", "clock")}
    )
    spans: dict[str, list[float]] = field(
        default_factory=lambda: {name: [] for name, _, _ in STAGE_SPANS}
    )
    acceptance: list[float] = field(default_factory=list)
    offers: OfferTotals = field(default_factory=OfferTotals)

    def add(self, case: CaseSummary) -> None:
        """Fold one case into every total."""
        state = case.sla_state
        if state is None:
            self.totals[case.status] = self.totals.get(case.status, 0) + 1
        else:
            self.totals["open"] += 1
            self.columns[state].append(_card(case, state, self.now))
            _add_team_load(self.loads, case)
        self.breaches.extend(_breach_rows(case, self.now))
        self._add_attainment(case)
        for name, seconds in _stage_spans(case.stages):
            self.spans[name].append(seconds)
        self.acceptance.extend(case.offers.acceptance_seconds)
        for outcome in ("offered", "accepted", "declined", "expired"):
            setattr(self.offers, outcome,
                    getattr(self.offers, outcome) + getattr(case.offers, outcome))

    def _add_attainment(self, case: CaseSummary) -> None:
        for clock in case.clocks.values():
            if clock.attained is None:
                continue
            keys = {"urgency": clock.urgency or case.urgency, "team": _clock_team(case, clock),
                    "clock": clock.clock}
            for dimension, key in keys.items():
                if key is not None:
                    tally = self.attainment[dimension][key]
                    tally.met += int(clock.attained)
                    tally.breached += int(not clock.attained)

    def percents(self, dimension: str) -> dict[str, float | None]:
        """Attainment percent per key of one dimension, keys sorted."""
        return {key: t.percent for key, t in sorted(self.attainment[dimension].items())}


def aggregate(
    summaries: Iterable[CaseSummary], now: datetime, *, max_cards: int = 100, max_breaches: int = 20
) -> DashboardSnapshot:
    """The dashboard snapshot at `now`: columns, team load, breaches, attainment, percentiles."""
    tally = _Tally(now=utc(now))
    for case in summaries:
        tally.add(case)
    offers = tally.offers
    ended = offers.accepted + offers.declined + offers.expired
    if ended:
        offers.acceptance_rate_percent = round(100.0 * offers.accepted / ended, 1)
    for load in tally.loads.values():
        if load.oldest_waiting_since is not None:
            load.oldest_waiting_seconds = (now - load.oldest_waiting_since).total_seconds()
    for cards in tally.columns.values():
        cards.sort(key=_card_order)
    tally.breaches.sort(key=lambda row: (row.breached_at, row.case_id), reverse=True)
    return DashboardSnapshot(
        generated_at=now,
        totals=tally.totals,
        columns={state: cards[:max_cards] for state, cards in tally.columns.items()},
        column_counts={state: len(cards) for state, cards in tally.columns.items()},
        team_load=sorted(tally.loads.values(), key=lambda load: (-load.open_cases, load.team)),
        recent_breaches=tally.breaches[:max_breaches],
        attainment_by_urgency=tally.percents("urgency"),
        attainment_by_team=tally.percents("team"),
        attainment_by_clock=tally.percents("clock"),
        stage_durations={name: _percentiles(values) for name, values in tally.spans.items()},
        acceptance_times=_percentiles(tally.acceptance),
        offer_outcomes=offers,
    )
