"""Hard constraints: each one that fails excludes a specialist with a named reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from services.routing.domain.directory import Profile
from services.routing.domain.load import LoadFigures

INACTIVE = "inactive"
WRONG_TEAM = "wrong_team"
NOT_LICENSED = "not_licensed_in_jurisdiction"
LICENCE_EXPIRED = "licence_expired"
LICENCE_ENDS_BEFORE_DEADLINE = "licence_expires_before_deadline"
CONFLICT_PRACTITIONER = "conflict_involved_practitioner"
CONFLICT_INSTITUTION = "conflict_same_institution"
CONFLICT_GROUP = "conflict_same_group"
OUT_OF_OFFICE = "out_of_office"
NO_WORKING_HOURS = "no_working_hours_before_deadline"
AT_OPEN_CAPACITY = "at_open_case_capacity"
AT_DAILY_CAPACITY = "at_daily_new_case_capacity"
ALREADY_OFFERED = "already_offered_this_case"
NOT_ON_CALL = "not_on_call_now"
NOT_LISTED = "not_in_directory"

_WEEK = timedelta(days=7)
_MAX_WINDOWS = 60  # enough to step over a long absence without looping forever


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the constraints need to know about the case, digested once per decision."""

    case_id: str
    jurisdiction: str | None
    language: str | None  # primary subtag
    excluded_practitioners: frozenset[str]
    excluded_institutions: frozenset[str]
    excluded_groups: frozenset[str]
    deadline: datetime
    offered_to: frozenset[str]
    deadline_day: date = field(init=False)  # derived once: every candidate's licence needs it

    def __post_init__(self) -> None:
        object.__setattr__(self, "deadline_day", self.deadline.date())


def absence_at(profile: Profile, moment: datetime) -> tuple[datetime, datetime] | None:
    """The absence covering `moment`, if any."""
    for start, end in profile.absences:
        if start <= moment < end:
            return start, end
    return None


def _in_hours(profile: Profile, local: datetime) -> bool:
    minute = local.hour * 60 + local.minute
    start, end = profile.start_minute, profile.end_minute
    if start < end:
        return local.weekday() in profile.weekdays and start <= minute < end
    # An overnight window belongs to the day it starts on.
    if minute >= start:
        return local.weekday() in profile.weekdays
    return minute < end and (local.weekday() - 1) % 7 in profile.weekdays


def working_now(profile: Profile, now: datetime) -> bool:
    """In working hours (own time zone) and not out of office at `now`."""
    return _in_hours(profile, now.astimezone(profile.zone)) and absence_at(profile, now) is None


@dataclass(slots=True)  # not frozen: built once per candidate, frozen init is slower
class Availability:
    absent_now: bool
    working_now: bool
    works_before_deadline: bool


AT_WORK = Availability(absent_now=False, working_now=True, works_before_deadline=True)
OFF_HOURS = Availability(absent_now=False, working_now=False, works_before_deadline=True)


def availability(
    profile: Profile, now: datetime, deadline: datetime, local_now: datetime | None = None
) -> Availability:
    """Out of office now, in working hours now, and any working time before the deadline."""
    local = local_now if local_now is not None else now.astimezone(profile.zone)
    absent = bool(profile.absences) and absence_at(profile, now) is not None
    if not absent and _in_hours(profile, local):
        return AT_WORK
    # Without absences, any weekly pattern has working time within a week: no need to search.
    if not profile.absences and profile.has_hours and deadline - now >= _WEEK:
        return OFF_HOURS
    return Availability(absent, False, first_working_moment(profile, now, deadline) is not None)


def first_working_moment(profile: Profile, now: datetime, deadline: datetime) -> datetime | None:
    """The first moment in [now, deadline) in working hours and not absent, if any."""
    if not profile.has_hours:
        return None
    moment = now
    for _ in range(_MAX_WINDOWS):
        if moment >= deadline:
            return None
        absence = absence_at(profile, moment)
        if absence is not None:
            moment = absence[1]
            continue
        local = moment.astimezone(profile.zone)
        if _in_hours(profile, local):
            return moment
        start_today = local.replace(hour=profile.start_minute // 60,
                                    minute=profile.start_minute % 60, second=0, microsecond=0)
        nxt = start_today if start_today > local else start_today + timedelta(days=1)
        while nxt.weekday() not in profile.weekdays:
            nxt += timedelta(days=1)
        moment = nxt.astimezone(now.tzinfo)
    return None


def on_call_now(profile: Profile, now: datetime) -> bool:
    """On an on-call shift covering `now`, or an emergency on-call surgeon by role."""
    return profile.always_on_call or any(s <= now < e for s, e in profile.on_call)


def conflicts(profile: Profile, case: CaseFacts) -> list[str]:
    """Conflict-of-interest reasons: the involved practitioner, their institution or group."""
    reasons: list[str] = []
    if profile.specialist_id in case.excluded_practitioners:
        reasons.append(CONFLICT_PRACTITIONER)
    if profile.institution_id and profile.institution_id in case.excluded_institutions:
        reasons.append(CONFLICT_INSTITUTION)
    if profile.group_id and profile.group_id in case.excluded_groups:
        reasons.append(CONFLICT_GROUP)
    return reasons


def licence_reasons(profile: Profile, case: CaseFacts, now: datetime) -> list[str]:
    """Licensed in the patient's jurisdiction, and still licensed on the deadline."""
    if case.jurisdiction is None:
        expiry = max(profile.licences.values(), default=None)
    else:
        expiry = profile.licences.get(case.jurisdiction)
    if expiry is None:
        return [NOT_LICENSED]
    if expiry < now.date():
        return [LICENCE_EXPIRED]
    if expiry < case.deadline_day:
        return [LICENCE_ENDS_BEFORE_DEADLINE]
    return []


def holder_exclusions(
    profile: Profile | None, team: str, case: CaseFacts, now: datetime,
) -> list[str]:
    """What rules out an offer's holder when they accept: the directory may have changed in the
    offer window (up to 12 h). The rules no preference relaxes: listed, active, on the team,
    licensed, no conflict of interest. Capacity is what the offer itself holds, and working
    hours are moot for someone accepting now."""
    if profile is None:
        return [NOT_LISTED]
    reasons = [] if profile.active else [INACTIVE]
    if team not in profile.teams:
        reasons.append(WRONG_TEAM)
    return reasons + licence_reasons(profile, case, now) + conflicts(profile, case)


def hard_exclusions(
    profile: Profile, team: str, case: CaseFacts, load: LoadFigures, now: datetime,
    avail: Availability | None = None,
) -> list[str]:
    """Every hard constraint `profile` fails for this step; empty means eligible."""
    avail = avail or availability(profile, now, case.deadline)
    # Most candidates pass everything: one cheap test first, reasons are named only otherwise.
    # A property test checks this agrees with named_exclusions on random cases.
    expiry = profile.licences.get(case.jurisdiction) if case.jurisdiction else None
    if (profile.active and team in profile.teams
            and expiry is not None and expiry >= case.deadline_day and expiry >= now.date()
            and profile.specialist_id not in case.excluded_practitioners
            and profile.institution_id not in case.excluded_institutions
            and profile.group_id not in case.excluded_groups
            and avail.works_before_deadline and not avail.absent_now
            and load.held < profile.max_open and load.new_today < profile.max_new_per_day
            and profile.specialist_id not in case.offered_to):
        return []
    return named_exclusions(profile, team, case, load, now, avail)


def named_exclusions(
    profile: Profile, team: str, case: CaseFacts, load: LoadFigures, now: datetime,
    avail: Availability,
) -> list[str]:
    """Check each hard constraint on its own and name every one that fails."""
    reasons: list[str] = []
    if not profile.active:
        reasons.append(INACTIVE)
    if team not in profile.teams:
        reasons.append(WRONG_TEAM)
    reasons += licence_reasons(profile, case, now)
    reasons += conflicts(profile, case)
    if avail.absent_now:
        reasons.append(OUT_OF_OFFICE)
    elif not avail.works_before_deadline:
        reasons.append(NO_WORKING_HOURS)
    if load.held >= profile.max_open:
        reasons.append(AT_OPEN_CAPACITY)
    if load.new_today >= profile.max_new_per_day:
        reasons.append(AT_DAILY_CAPACITY)
    if profile.specialist_id in case.offered_to:
        reasons.append(ALREADY_OFFERED)
    return reasons


def emergency_exclusions(
    profile: Profile, case: CaseFacts, now: datetime
) -> list[str]:
    """Constraints for the emergency path: no capacity or working-hours checks, on call instead."""
    reasons: list[str] = []
    if not profile.active:
        reasons.append(INACTIVE)
    if "spine_surgery" not in profile.teams:
        reasons.append(WRONG_TEAM)
    reasons += licence_reasons(profile, case, now)
    reasons += conflicts(profile, case)
    if absence_at(profile, now) is not None:
        reasons.append(OUT_OF_OFFICE)
    if not on_call_now(profile, now):
        reasons.append(NOT_ON_CALL)
    return reasons
