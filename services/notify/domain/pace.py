"""What the forecast knows about each team: observed pace, specialists' supply and working hours.

Pure: built from case summaries and directory entries; the clock is a parameter.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from schemas.directory import ROLE_TEAMS, Specialist
from services.notify.casefile.models import CaseOutline

SEARCH_DAYS = 8  # a week and a day: past that, nobody eligible works at all
MAX_SAMPLES = 500  # newest observations kept per team: recent pace matters, memory stays bounded


@dataclass
class TeamPace:
    """Observed durations of one team, in seconds (newest last, bounded)."""

    to_accept: list[float] = field(default_factory=list)  # waiting since -> accepted
    turnaround: list[float] = field(default_factory=list)  # accepted -> report in

    def median_to_accept(self) -> float | None:
        """Typical time from a step starting to wait until a specialist accepts it."""
        return statistics.median(self.to_accept) if self.to_accept else None

    def median_turnaround(self) -> float | None:
        """Typical time from acceptance to the report."""
        return statistics.median(self.turnaround) if self.turnaround else None


Sample = tuple[str, datetime, str, float]  # team, when observed, "to_accept"/"turnaround", s


def pace_samples(case: CaseOutline) -> Iterator[Sample]:
    """The durations one case shows: acceptance and turnaround of its steps (no emergencies)."""
    for step in case.steps.values():
        if step.emergency or step.accepted_at is None:
            continue
        started = step.waiting_since or step.offered_at
        if started is not None and step.accepted_at >= started:
            seconds = (step.accepted_at - started).total_seconds()
            yield step.team, step.accepted_at, "to_accept", seconds
        if step.completed_at is not None and step.completed_at >= step.accepted_at:
            seconds = (step.completed_at - step.accepted_at).total_seconds()
            yield step.team, step.completed_at, "turnaround", seconds


def team_paces(samples: Iterable[Sample]) -> dict[str, TeamPace]:
    """Per team, the newest MAX_SAMPLES durations of each kind, oldest first."""
    by_team: dict[str, list[tuple[datetime, str, float]]] = defaultdict(list)
    for team, at, kind, seconds in samples:
        by_team[team].append((at, kind, seconds))
    paces: dict[str, TeamPace] = {}
    for team, rows in by_team.items():
        rows.sort()
        pace = paces[team] = TeamPace()
        for _, kind, seconds in rows:
            getattr(pace, kind).append(seconds)
        pace.to_accept = pace.to_accept[-MAX_SAMPLES:]
        pace.turnaround = pace.turnaround[-MAX_SAMPLES:]
    return paces


def observe_pace(summaries: Iterable[CaseOutline]) -> dict[str, TeamPace]:
    """Per team, how long steps took to be accepted and to be reported (emergencies left out)."""
    return team_paces(sample for case in summaries for sample in pace_samples(case))


def holders(case: CaseOutline) -> Iterator[str]:
    """The specialists holding a step of this case (offered or accepted, report not in)."""
    if case.is_open:
        for step in case.steps.values():
            if step.specialist_id and step.status in ("offered", "accepted"):
                yield step.specialist_id


def eligible(specialists: Iterable[Specialist], team: str) -> list[Specialist]:
    """Active specialists whose role serves the team."""
    return [s for s in specialists if s.active and team in ROLE_TEAMS.get(s.role, ())]


def _absent(spec: Specialist, instant: datetime) -> datetime | None:
    """The end of the absence covering `instant`, if any."""
    return next((a.ends_at for a in spec.absences if a.starts_at <= instant < a.ends_at), None)


def next_working(spec: Specialist, instant: datetime) -> datetime | None:
    """The first instant at or after `instant` the specialist works (on call counts); None if
    not within SEARCH_DAYS."""
    hours = spec.working_hours
    zone = ZoneInfo(spec.time_zone)
    limit = instant + timedelta(days=SEARCH_DAYS)
    candidate = instant
    while candidate < limit:
        if (back := _absent(spec, candidate)) is not None:
            candidate = back
            continue
        if any(shift.starts_at <= candidate < shift.ends_at for shift in spec.on_call):
            return candidate
        local = candidate.astimezone(zone)
        opens = local.replace(hour=hours.start.hour, minute=hours.start.minute, second=0,
                              microsecond=0)
        closes = local.replace(hour=hours.end.hour, minute=hours.end.minute, second=0,
                               microsecond=0)
        if local.weekday() in hours.weekdays and local < closes:
            start = max(local, opens).astimezone(candidate.tzinfo)
            if _absent(spec, start) is None:
                return start
            candidate = start
            continue
        candidate = (opens + timedelta(days=1)).astimezone(candidate.tzinfo)
    return None


def free_slots(specialists: Iterable[Specialist], load: Mapping[str, int]) -> int:
    """Open-case places left among these specialists."""
    return sum(max(0, s.capacity.max_open_cases - load.get(s.specialist_id, 0))
               for s in specialists)
