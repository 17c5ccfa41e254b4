"""aggregate: the ops dashboard's numbers from case summaries. Pure; the clock is a parameter."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from schemas.envelope import utc
from services.notify.casefile.emergency import emergency_order, emergency_row, routed_team
from services.notify.casefile.models import CaseSummary, OpenSlaState, SlaClock, StageTimes
from services.notify.casefile.snapshot import (
    Attainment,
    BreachRow,
    CaseCard,
    DashboardSnapshot,
    EmergencyRow,
    OfferTotals,
    Percentiles,
    TeamLoad,
    short_id,
)
from services.notify.domain.forecast import Risk

# case id -> {"<step>:<clock kind>": deadline} of the clocks notify is running for that case
ClockDeadlines = Callable[[str], Mapping[str, datetime]]

OPEN_STATES: tuple[OpenSlaState, ...] = ("on_track", "warning", "breached", "paused")
# (name, from stage, to stage): time spent between reaching one stage and the next.
STAGE_SPANS: tuple[tuple[str, str, str], ...] = (
    ("triage", "received", "triaged"),
    ("routing", "triaged", "offered"),
    ("acceptance", "offered", "accepted"),
    ("report", "accepted", "report_ready"),
    ("completion", "report_ready", "completed"),
)


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


def _next_deadline(
    case: CaseSummary, deadlines: ClockDeadlines | None
) -> tuple[datetime | None, str | None]:
    """The earliest deadline of a running clock, from notify's SLA clocks when they know it."""
    known = deadlines(case.case_id) if deadlines is not None else {}
    if known:
        key, when = min(known.items(), key=lambda item: (item[1], item[0]))
        return when, key.rpartition(":")[2]
    running = [c for c in case.clocks.values() if c.is_open and not c.paused and c.deadline]
    if not running:
        return None, None
    first = min(running, key=lambda c: c.deadline)  # type: ignore[arg-type,return-value]
    return first.deadline, first.clock


def _card(case: CaseSummary, state: OpenSlaState, now: datetime,
          deadlines: ClockDeadlines | None, risk: Risk | None) -> CaseCard:
    deadline, clock = _next_deadline(case, deadlines)
    open_steps = [s for s in case.steps.values() if s.status != "completed"]
    return CaseCard(
        case_id=case.case_id,
        short_id=short_id(case.case_id),
        referrer_id=case.referrer_id,
        urgency=case.urgency,
        status=case.status,
        sla_state=state,
        teams=list(case.teams),
        assignees=sorted({s.specialist_id for s in open_steps if s.status == "accepted"
                          and s.specialist_id}),
        offered_to=sorted({s.specialist_id for s in open_steps if s.status == "offered"
                           and s.specialist_id}),
        deadline=deadline,
        deadline_clock=clock,
        seconds_to_deadline=(deadline - now).total_seconds() if deadline else None,
        waiting_for_records=case.waiting_for_records,
        emergency=case.emergency_pathway or case.urgency == "emergency",
        at_risk=risk is not None and risk.at_risk,
        risk_reason=risk.reason if risk is not None and risk.at_risk else None,
        risk_detail=risk.detail if risk is not None and risk.at_risk else None,
        predicted_at=risk.predicted_at if risk is not None else None,
    )


def _card_order(card: CaseCard) -> tuple[bool, float, str]:
    return (card.seconds_to_deadline is None, card.seconds_to_deadline or 0.0, card.case_id)


def _add_team_load(loads: dict[str, TeamLoad], case: CaseSummary) -> None:
    teams_with_steps = {s.team for s in case.steps.values()}
    paged = case.emergency_pathway or case.urgency == "emergency"
    waiting: list[tuple[str, datetime | None]] = [  # an emergency's teams are paged, not queued
        (team, case.stages.triaged) for team in case.teams
        if team not in teams_with_steps and routed_team(team) and not paged
    ]
    busy: set[str] = set()
    for step in case.steps.values():
        if step.emergency:
            continue  # paged at once, never queued: shown under emergencies instead
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
            short_id=short_id(case.case_id),
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
    deadlines: ClockDeadlines | None = None
    risks: Mapping[str, Risk] = field(default_factory=dict)
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
    emergencies: list[EmergencyRow] = field(default_factory=list)

    def add(self, case: CaseSummary) -> None:
        """Fold one case into every total."""
        state = case.sla_state
        if state is None:
            self.totals[case.status] = self.totals.get(case.status, 0) + 1
        else:
            self.totals["open"] += 1
            self.columns[state].append(_card(case, state, self.now, self.deadlines,
                                             self.risks.get(case.case_id)))
            _add_team_load(self.loads, case)
            if (row := emergency_row(case, self.now)) is not None:
                self.emergencies.append(row)
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
    summaries: Iterable[CaseSummary], now: datetime, *, max_cards: int = 100,
    max_breaches: int = 20, deadlines: ClockDeadlines | None = None,
    risks: Mapping[str, Risk] | None = None,
) -> DashboardSnapshot:
    """The dashboard snapshot at `now`: columns, team load, breaches, attainment, percentiles.

    `deadlines` gives notify's own SLA clocks per case (the one source of deadlines); `risks`
    the breach forecast per case id.
    """
    tally = _Tally(now=utc(now), deadlines=deadlines, risks=risks or {})
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
        emergencies=sorted(tally.emergencies, key=emergency_order),
        at_risk_count=sum(1 for cards in tally.columns.values() for c in cards if c.at_risk),
    )
