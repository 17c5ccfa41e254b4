"""An in-memory view of the specialist directory, indexed by team and licensed jurisdiction."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schemas.directory import ROLE_TEAMS, Specialist
from services.common.errors import SafeError


@lru_cache(maxsize=512)
def zone_of(name: str) -> ZoneInfo:
    """The time zone called `name`; an unknown name falls back to UTC (the API rejects those)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a directory (F9)
        return ZoneInfo("UTC")


def language_tag(tag: str) -> str:
    """The primary language subtag, lower-cased: en-GB and en match."""
    return tag.split("-", 1)[0].strip().lower()


@dataclass(frozen=True, slots=True)
class Profile:
    """A specialist pre-digested for fast eligibility checks (sets, minutes, zone objects)."""

    specialist: Specialist
    specialist_id: str
    teams: frozenset[str]
    skills: frozenset[str]
    languages: frozenset[str]
    licences: dict[str, date]  # jurisdiction -> latest expiry
    zone: ZoneInfo
    weekdays: frozenset[int]
    start_minute: int
    end_minute: int
    absences: tuple[tuple[datetime, datetime], ...]
    on_call: tuple[tuple[datetime, datetime], ...]
    max_open: int
    max_new_per_day: int
    institution_id: str | None
    group_id: str | None
    team_lead_id: str | None
    active: bool
    always_on_call: bool

    @property
    def has_hours(self) -> bool:
        """Works at all: some weekday and a non-empty daily window."""
        return bool(self.weekdays) and self.start_minute != self.end_minute


WEEKDAYS = range(7)  # Monday = 0, as datetime.weekday()


def weekday_problems(spec: Specialist, prefix: str = "") -> list[dict[str, str]]:
    """A directory entry's working days that are no weekday, or a day named twice, as errors
    naming each field (the schema bounds the list at seven; a stored repeat still reads)."""
    problems, seen = [], set()
    for i, day in enumerate(spec.working_hours.weekdays):
        path = f"{prefix}working_hours.weekdays.{i}"
        if day not in WEEKDAYS:
            problems.append({"path": path,
                             "message": "must be a weekday from 0 (Monday) to 6 (Sunday)"})
        elif day in seen:
            problems.append({"path": path, "message": "names a day already listed"})
        seen.add(day)
    return problems


def compile_profile(spec: Specialist) -> Profile:
    """Digest one directory entry."""
    licences: dict[str, date] = {}
    for lic in spec.licences:
        licences[lic.jurisdiction] = max(lic.expires_on, licences.get(lic.jurisdiction, date.min))
    hours = spec.working_hours
    return Profile(
        specialist=spec,
        specialist_id=spec.specialist_id,
        teams=frozenset(ROLE_TEAMS.get(spec.role, ())),
        skills=frozenset(s.lower() for s in spec.skills),
        languages=frozenset(language_tag(x) for x in spec.languages),
        licences=licences,
        zone=zone_of(spec.time_zone),
        # Only real weekdays: with none of 0-6 the search for working time stepped a day at a
        # time to year 9999 (1.5 s of a stalled loop, then OverflowError) for every decision
        # near a deadline the entry took part in, and those cases were dead-lettered.
        weekdays=frozenset(day for day in hours.weekdays if day in WEEKDAYS),
        start_minute=hours.start.hour * 60 + hours.start.minute,
        end_minute=hours.end.hour * 60 + hours.end.minute,
        absences=tuple(sorted((a.starts_at, a.ends_at) for a in spec.absences)),
        on_call=tuple(sorted((s.starts_at, s.ends_at) for s in spec.on_call)),
        max_open=spec.capacity.max_open_cases,
        max_new_per_day=spec.capacity.max_new_per_day,
        institution_id=spec.institution_id,
        group_id=spec.group_id,
        team_lead_id=spec.team_lead_id,
        active=spec.active,
        always_on_call=spec.role == "emergency_on_call",
    )


class DirectoryIndex:
    """Specialists by id, by team, and by (team, jurisdiction), so a decision reads one bucket."""

    def __init__(self, specialists: Iterable[Specialist] = ()) -> None:
        self._by_id: dict[str, Profile] = {}
        self._by_team: dict[str, dict[str, Profile]] = {}
        self._by_team_jurisdiction: dict[tuple[str, str], dict[str, Profile]] = {}
        for spec in specialists:
            self.put(spec)

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Profile]:
        return iter(list(self._by_id.values()))

    def get(self, specialist_id: str) -> Profile | None:
        """The profile of one specialist, if listed."""
        return self._by_id.get(specialist_id)

    def put(self, spec: Specialist) -> None:
        """Add or replace an entry (a directory update takes effect on the next decision)."""
        self.remove(spec.specialist_id)
        profile = compile_profile(spec)
        self._by_id[profile.specialist_id] = profile
        for team in profile.teams:
            self._by_team.setdefault(team, {})[profile.specialist_id] = profile
            for jurisdiction in profile.licences:
                bucket = self._by_team_jurisdiction.setdefault((team, jurisdiction), {})
                bucket[profile.specialist_id] = profile

    def remove(self, specialist_id: str) -> None:
        """Drop an entry (a tombstone on the directory topic)."""
        old = self._by_id.pop(specialist_id, None)
        if old is None:
            return
        for team in old.teams:
            self._by_team.get(team, {}).pop(specialist_id, None)
            for jurisdiction in old.licences:
                self._by_team_jurisdiction.get((team, jurisdiction), {}).pop(specialist_id, None)

    def team(self, team: str) -> list[Profile]:
        """Everyone who can serve `team`, licensed anywhere."""
        return list(self._by_team.get(team, {}).values())

    def team_size(self, team: str) -> int:
        """How many specialists can serve `team`."""
        return len(self._by_team.get(team, {}))

    def candidates(self, team: str, jurisdiction: str | None) -> list[Profile]:
        """Who can serve `team` and holds a licence (possibly expired) in `jurisdiction`."""
        if jurisdiction is None:
            return self.team(team)
        return list(self._by_team_jurisdiction.get((team, jurisdiction), {}).values())


class DirectoryRecordError(SafeError):
    """A directory record that cannot be applied (its message names no personal data)."""


def apply_record(
    index: DirectoryIndex, key: bytes | None, value: bytes | None,
) -> tuple[str, Profile | None]:
    """Apply one directory topic record (empty value = removal) to `index`: the specialist id
    and the entry it replaced. A record that does not parse raises (it is dead-lettered)."""
    if not key:
        raise DirectoryRecordError("directory record without a key")
    specialist_id = key.decode()
    before = index.get(specialist_id)
    if not value:
        index.remove(specialist_id)
        return specialist_id, before
    spec = Specialist.model_validate_json(value)
    if spec.specialist_id != specialist_id:
        raise DirectoryRecordError("directory key and specialist_id differ")
    index.put(spec)
    return specialist_id, before
