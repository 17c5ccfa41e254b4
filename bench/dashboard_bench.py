"""Dashboard figures: snapshot (forecast + aggregate), trends and watchdog over many cases.

    python bench/dashboard_bench.py [--cases N ...] [--repeat R]

Builds case summaries through the real read-model fold (a mix of waiting, offered, accepted,
declined, completed and emergency cases over 30 teams' worth of specialists), then times what
the page costs notify: one `/api/ops/summary` snapshot (forecast, watchdog and aggregate), one
`/api/ops/trends`, and the watchdog timer's pass alone; `aggregate` alone (the snapshot before
the forecast, filters and watchdog were added) for comparison. Prints median milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas.cases import CaseContext, CaseTriaged  # noqa: E402
from schemas.directory import Specialist  # noqa: E402
from schemas.envelope import Event, derive_id  # noqa: E402
from schemas.routing import (  # noqa: E402
    AssignmentAccepted,
    AssignmentCompleted,
    AssignmentDeclined,
    AssignmentOffered,
    EmergencyAssigned,
)
from schemas.triage import TriageResult  # noqa: E402
from services.notify.casefile import CaseSummary, aggregate, apply_event  # noqa: E402
from services.notify.casefile.filters import CaseFilter  # noqa: E402
from services.notify.casefile.trends import trends  # noqa: E402
from services.notify.dashboard.ops_watch import OpsWatch  # noqa: E402
from services.notify.dashboard.views import build_snapshot  # noqa: E402

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TEAMS = ("spine_surgery", "spine_radiology", "pain_medicine", "physio_rehab", "psychology")
ROLES = {"spine_surgery": "neurosurgeon", "spine_radiology": "neuroradiologist",
         "pain_medicine": "pain_medicine", "physio_rehab": "physiotherapy",
         "psychology": "psychology"}


def _step(case_id: str, minutes: float, team: str) -> dict[str, object]:
    return {"case_id": case_id, "occurred_at": T0 + timedelta(minutes=minutes), "step_id": team,
            "team": team}


def case_events(i: int) -> list[Event]:
    """One case's events; the kind of case cycles with i."""
    case_id = f"case-{i:06d}"
    team = TEAMS[i % len(TEAMS)]
    start = (i * 7) % (3 * 24 * 60)  # spread over three days
    urgency = "emergency" if i % 50 == 0 else ("urgent" if i % 3 else "routine")
    events: list[Event] = [CaseTriaged(
        event_id=derive_id("triaged", case_id), case_id=case_id,
        occurred_at=T0 + timedelta(minutes=start), revision=1,
        context=CaseContext(referrer_id=f"ref-{i % 40}", region="lumbar"),
        triage=TriageResult.model_validate({
            "urgency": urgency, "required_teams": [team], "rule_table_version": "v1",
            "emergency_pathway": urgency == "emergency",
            "fired_rules": [{"rule_id": "R1", "level": urgency, "reason": "x"}]}))]
    specialist = f"{team}-{i % 6}"
    if urgency == "emergency":
        return [*events, EmergencyAssigned(event_id=derive_id("em", case_id),
                                           specialist_id="oncall-1", **_step(case_id, start + 1,
                                                                             team))]
    kind = i % 4
    events.append(AssignmentOffered(
        event_id=derive_id("offered", case_id), specialist_id=specialist, urgency=urgency,
        offer_expires_at=T0 + timedelta(minutes=start + 120), attempt=1,
        **_step(case_id, start + 5, team)))
    if kind == 1:
        events.append(AssignmentDeclined(event_id=derive_id("declined", case_id),
                                         specialist_id=specialist, reason="busy",
                                         **_step(case_id, start + 20, team)))
    if kind in (2, 3):
        events.append(AssignmentAccepted(event_id=derive_id("accepted", case_id),
                                         specialist_id=specialist, urgency=urgency,
                                         **_step(case_id, start + 30, team)))
    if kind == 3:
        events.append(AssignmentCompleted(event_id=derive_id("done", case_id),
                                          specialist_id=specialist, report_ref=f"r-{case_id}",
                                          **_step(case_id, start + 300, team)))
    return events


def build(n: int) -> tuple[list[CaseSummary], dict[str, dict[str, datetime]], list[Specialist]]:
    cases, deadlines = [], {}
    for i in range(n):
        summary: CaseSummary | None = None
        for event in case_events(i):
            summary = apply_event(summary, event)
        assert summary is not None
        cases.append(summary)
        if summary.is_open and summary.steps:
            step = next(iter(summary.steps.values()))
            kind = "turnaround" if step.status == "accepted" else "acceptance"
            deadlines[summary.case_id] = {f"{step.step_id}:{kind}":
                                          (step.waiting_since or T0) + timedelta(hours=8)}
    specialists = [Specialist.model_validate({
        "specialist_id": f"{team}-{k}", "name": "x", "role": ROLES[team],
        "capacity": {"max_open_cases": 10}}) for team in TEAMS for k in range(6)]
    return cases, deadlines, specialists


def timed(repeat: int, work: object) -> float:
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        work()  # type: ignore[operator]
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def measure(n: int, now: datetime, repeat: int) -> str:
    """One row of figures for n cases."""
    cases, deadlines, specialists = build(n)
    watch = OpsWatch(specialists=lambda: specialists)

    def snapshot() -> object:
        return build_snapshot(cases, CaseFilter(), now,
                              deadlines=lambda cid: deadlines.get(cid, {}), watch=watch)

    shot = timed(repeat, snapshot)
    alone = timed(repeat, lambda: aggregate(cases, now))
    trend = timed(repeat, lambda: trends(cases, now))
    stalls = timed(repeat, lambda: watch.assess(cases, None, now, with_forecast=False))
    opened = sum(1 for c in cases if c.is_open)
    return f"{n:>7} {opened:>6} {shot:>12.1f} {alone:>14.1f} {trend:>10.1f} {stalls:>12.1f}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    now = T0 + timedelta(days=3)
    print(f"{'cases':>7} {'open':>6} {'snapshot ms':>12} {'aggregate ms':>14} {'trends ms':>10} "
          f"{'watchdog ms':>12}")
    for n in args.cases:
        print(measure(n, now, args.repeat), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
