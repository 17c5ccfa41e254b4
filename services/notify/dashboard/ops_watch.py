"""Looks over every case this worker holds: breach forecast and stalled-case watchdog, as
numbers for the dashboard and gauges for Prometheus (labels: team, reason, stage, urgency)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schemas.directory import Specialist
from schemas.envelope import derive_id
from services.notify import metrics
from services.notify.casefile.models import CaseOutline, StepState
from services.notify.domain import sla
from services.notify.domain.commands import ReportStall
from services.notify.domain.forecast import ForecastBasis, Risk, case_risk
from services.notify.domain.state import CaseState
from services.notify.domain.watchdog import Stall, WatchdogPolicy, sorted_stalls, stall_of

log = logging.getLogger("spine.notify.watch")


ClockDeadlines = Callable[[str], Mapping[str, datetime]]
FORECAST_EVERY = timedelta(seconds=30)  # the timer's forecast: gauges need not be fresher


@dataclass
class Assessment:
    deadlines: dict[str, dict[str, datetime]] = field(default_factory=dict)
    risks: dict[str, Risk] = field(default_factory=dict)
    stalls: list[Stall] = field(default_factory=list)
    new_stalls: list[Stall] = field(default_factory=list)  # first seen now (reporting calls)


def stall_command(stall: Stall, now: datetime) -> ReportStall:
    """The command that tells ops; its id is derived, so a repeat changes nothing twice."""
    return ReportStall(
        event_id=derive_id(stall.case_id, "stalled", stall.stage), case_id=stall.case_id,
        occurred_at=now, stage=stall.stage, waiting_seconds=stall.waiting_seconds,
        source_topic=stall.source_topic,
    )


def clock_deadlines(
    state_of: Callable[[str], CaseState | None], clock: Callable[[], datetime]
) -> ClockDeadlines:
    """case id -> {"<step>:<clock>": deadline} of the clocks notify runs: the one SLA source."""
    def read(case_id: str) -> dict[str, datetime]:
        state = state_of(case_id)
        return {} if state is None else sla.running_deadlines(state.clocks.values(), clock())

    return read


def summary_deadlines(case: CaseOutline) -> dict[str, datetime]:
    """A case's running deadlines as its summary row shows them: for another worker's case,
    whose SLA clocks this worker does not hold (the owner stamps them on the row)."""
    return {key: c.deadline for key, c in case.clocks.items()
            if c.is_open and not c.paused and c.deadline is not None}


class OpsWatch:
    """assess() is called by the dashboard (every worker's cases) and by each worker's timer
    (its own cases, report=True: only that call sets the gauges and raises new stalls)."""

    def __init__(
        self, *, specialists: Callable[[], Iterable[Specialist]] = lambda: (),
        policy: WatchdogPolicy | None = None,
    ) -> None:
        self.specialists = specialists
        self.policy = policy or WatchdogPolicy()
        self._reported: set[tuple[str, str]] = set()  # (case, stage) already logged
        self._forecast_at: datetime | None = None

    def assess(
        self, cases: Iterable[CaseOutline], deadlines: ClockDeadlines | None, now: datetime, *,
        with_forecast: bool = True, report: bool = False,
    ) -> Assessment:
        """Forecast and stalls at `now` over `cases`. With `report` (the worker's timer over
        the cases it owns, not the page, which shows every worker's), the gauges are updated
        and stalls not seen by the previous report are logged and returned as `new_stalls` for
        the caller to raise: each worker counts its own cases, so the gauges add up."""
        look = self.look(now, with_forecast=with_forecast)
        for case in cases:
            look.add(case, None if deadlines is None else deadlines(case.case_id))
        return look.finish(report=report)

    def look(self, now: datetime, *, with_forecast: bool) -> WatchPass:
        """A look fed one case at a time (the timer's pass over rows it parses as it goes)."""
        return WatchPass(self, now, with_forecast=with_forecast)

    def forecast_due(self, now: datetime) -> bool:
        """Whether the timer should forecast again (the dashboard always does)."""
        return self._forecast_at is None or now - self._forecast_at >= FORECAST_EVERY

    def record(
        self, stalls: list[Stall], risks: Mapping[str, Risk] | None, now: datetime
    ) -> list[Stall]:
        """A worker's own look, reported: the gauges set (the forecast's too if there was
        one) and the stalls not seen by the previous report logged; returns those."""
        self._export_stalls(stalls)
        if risks is not None:
            self._export_risks(risks)
            self._forecast_at = now
        return self._report(stalls)

    @staticmethod
    def _export_risks(risks: Mapping[str, Risk]) -> None:
        at_risk = Counter((r.team, r.reason or "unknown") for r in risks.values() if r.at_risk)
        metrics.CASES_AT_RISK.clear()
        for (team, reason), count in at_risk.items():
            metrics.CASES_AT_RISK.labels(team, reason).set(count)

    def _export_stalls(self, stalls: list[Stall]) -> None:
        stalled = Counter((s.stage, s.urgency or "unknown") for s in stalls)
        metrics.STALLED_CASES.clear()
        for (stage, urgency), count in stalled.items():
            metrics.STALLED_CASES.labels(stage, urgency).set(count)

    def _report(self, stalls: list[Stall]) -> list[Stall]:
        current: set[tuple[str, str]] = {(s.case_id, s.stage) for s in stalls}
        fresh = [s for s in stalls if (s.case_id, s.stage) not in self._reported]
        for stall in fresh:
            metrics.STALLS_DETECTED.labels(stall.stage).inc()
            log.warning("case stalled", extra={"case_id": stall.case_id, "stage": stall.stage,
                                               "waiting_seconds": round(stall.waiting_seconds)})
        self._reported = current  # bounded by the stalls found now (at most the watchdog limit)
        return fresh


class WatchPass:
    """One look over cases: stalls, running deadlines and the forecast's basis are taken from
    each case as it is added; only an open case's steps are kept until finish(), not the case
    (a parsed row is ~12 KB; the timer looks at every open case a worker holds)."""

    def __init__(self, watch: OpsWatch, now: datetime, *, with_forecast: bool) -> None:
        self.watch, self.now, self.with_forecast = watch, now, with_forecast
        self.basis = ForecastBasis(now)
        self.stalls: list[Stall] = []
        self.deadlines: dict[str, dict[str, datetime]] = {}
        self.steps: dict[str, Mapping[str, StepState]] = {}

    def add(self, case: CaseOutline, running: Mapping[str, datetime] | None) -> None:
        """`running`: the case's running deadlines as notify's clocks have them (None: not
        known here, so none; empty: taken from the summary, as for another worker's case)."""
        if (stall := stall_of(case, now=self.now, policy=self.watch.policy)) is not None:
            self.stalls.append(stall)
        if not case.is_open or running is None:
            known: dict[str, datetime] = {}
        else:
            known = dict(running) or summary_deadlines(case)
        if case.is_open and running is not None:
            self.deadlines[case.case_id] = known
        if self.with_forecast:
            self.basis.add(case)
            if known:
                self.steps[case.case_id] = case.steps

    def finish(self, *, report: bool) -> Assessment:
        """The assessment of every case added (see OpsWatch.assess)."""
        stalls = sorted_stalls(self.stalls)
        risks: dict[str, Risk] | None = None
        if self.with_forecast:
            ctx = self.basis.context(self.watch.specialists())
            risks = {case_id: risk for case_id, steps in self.steps.items()
                     if (risk := case_risk(case_id, steps, self.deadlines[case_id], ctx))}
        new_stalls = self.watch.record(stalls, risks, self.now) if report else []
        return Assessment(deadlines=self.deadlines, risks=risks or {}, stalls=stalls,
                          new_stalls=new_stalls)
