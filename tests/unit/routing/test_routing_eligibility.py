"""Each hard constraint excludes a specialist with its own named reason."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.directory import Capacity, Licence, WorkingHours
from services.routing.domain import eligibility as E
from services.routing.domain.directory import compile_profile
from services.routing.domain.eligibility import CaseFacts, hard_exclusions
from services.routing.domain.load import IDLE, LoadFigures
from tests.unit.routing.builders import ALWAYS, NOW, absence, shift, specialist

DEADLINE = NOW + timedelta(days=14)


def facts(**overrides: object) -> CaseFacts:
    fields: dict[str, object] = {
        "case_id": "case-1", "jurisdiction": "GB-ENG", "language": None,
        "excluded_practitioners": frozenset(), "excluded_institutions": frozenset(),
        "excluded_groups": frozenset(), "deadline": DEADLINE, "offered_to": frozenset(),
    }
    fields.update(overrides)
    return CaseFacts(**fields)  # type: ignore[arg-type]


def reasons(spec=None, team="spine_surgery", case=None, load=IDLE, now=NOW) -> list[str]:
    profile = compile_profile(spec or specialist("s1"))
    return hard_exclusions(profile, team, case or facts(), load, now)


def test_a_plain_specialist_is_eligible() -> None:
    assert reasons() == []


@pytest.mark.parametrize(("role", "team", "ok"), [
    ("neurosurgeon", "spine_surgery", True),
    ("orthopaedic_spine_surgeon", "spine_surgery", True),
    ("neuroradiologist", "spine_radiology", True),
    ("msk_radiologist", "spine_surgery", False),
    ("pain_medicine", "spine_surgery", False),
    ("emergency_on_call", "spine_surgery", True),
])
def test_team_comes_from_role(role: str, team: str, ok: bool) -> None:
    assert (E.WRONG_TEAM not in reasons(specialist("s1", role=role), team=team)) is ok


def test_inactive_specialists_are_excluded() -> None:
    assert reasons(specialist("s1", active=False)) == [E.INACTIVE]


def test_licence_must_be_for_the_patients_jurisdiction() -> None:
    assert reasons(case=facts(jurisdiction="US-CA")) == [E.NOT_LICENSED]


def test_expired_licence_is_named() -> None:
    spec = specialist("s1", licences=[Licence(jurisdiction="GB-ENG", expires_on=date(2026, 1, 1))])
    assert reasons(spec) == [E.LICENCE_EXPIRED]


def test_licence_must_last_through_the_deadline() -> None:
    ends = (DEADLINE - timedelta(days=1)).date()
    spec = specialist("s1", licences=[Licence(jurisdiction="GB-ENG", expires_on=ends)])
    assert reasons(spec) == [E.LICENCE_ENDS_BEFORE_DEADLINE]
    assert reasons(spec, case=facts(deadline=NOW + timedelta(hours=4))) == []


def test_unknown_jurisdiction_still_needs_some_valid_licence() -> None:
    assert reasons(case=facts(jurisdiction=None)) == []
    assert reasons(specialist("s1", licences=[]), case=facts(jurisdiction=None)) == [E.NOT_LICENSED]


def test_the_involved_practitioner_is_excluded() -> None:
    case = facts(excluded_practitioners=frozenset({"s1"}))
    assert reasons(case=case) == [E.CONFLICT_PRACTITIONER]


def test_colleagues_at_the_same_institution_are_excluded() -> None:
    spec = specialist("s1", institution_id="inst-st-elsewhere")
    assert reasons(spec, case=facts(excluded_institutions=frozenset({"inst-st-elsewhere"}))) == [
        E.CONFLICT_INSTITUTION]


def test_members_of_the_same_group_are_excluded() -> None:
    spec = specialist("s1", group_id="grp-a")
    assert reasons(spec, case=facts(excluded_groups=frozenset({"grp-a"}))) == [E.CONFLICT_GROUP]


def test_out_of_office_now_is_excluded() -> None:
    spec = specialist("s1", absences=[absence(NOW - timedelta(hours=1), 48)])
    assert reasons(spec) == [E.OUT_OF_OFFICE]


def test_absence_that_ended_does_not_count() -> None:
    spec = specialist("s1", absences=[absence(NOW - timedelta(days=3), 24)])
    assert reasons(spec) == []


def test_no_working_hours_before_the_deadline() -> None:
    weekends_only = WorkingHours(weekdays=[5, 6], start=time(9), end=time(17))
    spec = specialist("s1", working_hours=weekends_only)
    assert reasons(spec, case=facts(deadline=NOW + timedelta(hours=30))) == [E.NO_WORKING_HOURS]
    assert reasons(spec, case=facts(deadline=NOW + timedelta(days=6))) == []


def test_working_hours_are_read_in_the_specialists_time_zone() -> None:
    # 10:00 UTC Monday is 19:00 in Tokyo: after hours, but Tuesday 09:00 Tokyo is 00:00 UTC.
    spec = specialist("s1", time_zone="Asia/Tokyo",
                      working_hours=WorkingHours(weekdays=[0, 1, 2, 3, 4], start=time(9),
                                                 end=time(17)))
    profile = compile_profile(spec)
    assert not E.working_now(profile, NOW)
    assert E.first_working_moment(profile, NOW, DEADLINE) == NOW.replace(hour=0) + timedelta(days=1)


def test_at_open_case_capacity() -> None:
    spec = specialist("s1", capacity=Capacity(max_open_cases=2, max_new_per_day=5))
    assert reasons(spec, load=LoadFigures(held=2, new_today=0, last_assigned_at=None)) == [
        E.AT_OPEN_CAPACITY]
    assert reasons(spec, load=LoadFigures(held=1, new_today=0, last_assigned_at=None)) == []


def test_at_daily_new_case_capacity() -> None:
    spec = specialist("s1", capacity=Capacity(max_open_cases=10, max_new_per_day=3))
    assert reasons(spec, load=LoadFigures(held=3, new_today=3, last_assigned_at=None)) == [
        E.AT_DAILY_CAPACITY]


def test_never_offered_the_same_case_twice() -> None:
    assert reasons(case=facts(offered_to=frozenset({"s1"}))) == [E.ALREADY_OFFERED]


def test_every_failing_constraint_is_named_not_just_the_first() -> None:
    spec = specialist("s1", active=False, institution_id="inst-x")
    case = facts(jurisdiction="US-CA", excluded_institutions=frozenset({"inst-x"}))
    assert reasons(spec, case=case) == [E.INACTIVE, E.NOT_LICENSED, E.CONFLICT_INSTITUTION]


def test_on_call_by_shift_or_by_role() -> None:
    on_shift = compile_profile(specialist("s1", on_call=[shift(NOW - timedelta(hours=1), 12)]))
    off_shift = compile_profile(specialist("s2", on_call=[shift(NOW + timedelta(hours=1), 12)]))
    by_role = compile_profile(specialist("s3", role="emergency_on_call"))
    assert E.on_call_now(on_shift, NOW) and E.on_call_now(by_role, NOW)
    assert not E.on_call_now(off_shift, NOW)
    assert E.emergency_exclusions(off_shift, facts(), NOW) == [E.NOT_ON_CALL]


def _brute_force_works_before(profile, now, deadline) -> bool:  # type: ignore[no-untyped-def]
    moment = now
    while moment < deadline:
        local = moment.astimezone(profile.zone)
        minute = local.hour * 60 + local.minute
        in_window = (local.weekday() in profile.weekdays
                     and profile.start_minute <= minute < profile.end_minute)
        if in_window and E.absence_at(profile, moment) is None:
            return True
        moment += timedelta(minutes=15)
    return False


@settings(max_examples=200, deadline=None)
@given(
    weekdays=st.sets(st.integers(0, 6), max_size=3), start=st.integers(0, 22),
    length=st.integers(1, 10),
    zone=st.sampled_from(["UTC", "Europe/London", "America/New_York", "Asia/Tokyo"]),
    away=st.none() | st.tuples(st.integers(-48, 200), st.integers(1, 240)),
    horizon_hours=st.integers(1, 24 * 9),
)
def test_availability_agrees_with_a_minute_by_minute_scan(
    weekdays: set[int], start: int, length: int, zone: str, away: tuple[int, int] | None,
    horizon_hours: int,
) -> None:
    hours = WorkingHours(weekdays=sorted(weekdays), start=time(start),
                         end=time(min(start + length, 23), 45))
    absences = [absence(NOW + timedelta(hours=away[0]), away[1])] if away else []
    profile = compile_profile(specialist("s1", working_hours=hours, time_zone=zone,
                                         absences=absences))
    deadline = NOW + timedelta(hours=horizon_hours)
    got = E.availability(profile, NOW, deadline)
    assert got.works_before_deadline == _brute_force_works_before(profile, NOW, deadline)
    assert got.working_now == E.working_now(profile, NOW)


FAILURES = ["inactive", "role", "unlicensed", "expired", "expires_early", "person",
            "institution", "group", "away", "no_hours", "open", "daily", "offered", "no_jur"]


@settings(max_examples=300, deadline=None)
@given(failing=st.sets(st.sampled_from(FAILURES), max_size=2))
def test_the_fast_path_agrees_with_checking_each_constraint(failing: set[str]) -> None:
    deadline = NOW + timedelta(days=3)
    expiry = {"expired": NOW - timedelta(days=1), "expires_early": NOW + timedelta(days=2)}
    licence_on = next((v for k, v in expiry.items() if k in failing), NOW + timedelta(days=90))
    spec = specialist(
        "s1", role="pain_medicine" if "role" in failing else "neurosurgeon",
        active="inactive" not in failing,
        licences=[] if "unlicensed" in failing else [
            Licence(jurisdiction="GB-ENG", expires_on=licence_on.date())],
        capacity=Capacity(max_open_cases=3, max_new_per_day=3),
        absences=[absence(NOW - timedelta(hours=1), 5)] if "away" in failing else [],
        working_hours=WorkingHours(weekdays=[5], start=time(9), end=time(10))
        if "no_hours" in failing else ALWAYS)
    profile = compile_profile(spec)
    case = facts(
        jurisdiction=None if "no_jur" in failing else "GB-ENG", deadline=deadline,
        excluded_practitioners=frozenset({"s1"} if "person" in failing else ()),
        excluded_institutions=frozenset({"inst-s1"} if "institution" in failing else ()),
        excluded_groups=frozenset({"group-s1"} if "group" in failing else ()),
        offered_to=frozenset({"s1"} if "offered" in failing else ()))
    load = LoadFigures(held=3 if "open" in failing else 0,
                       new_today=3 if "daily" in failing else 0, last_assigned_at=None)
    avail = E.availability(profile, NOW, case.deadline)
    named = E.named_exclusions(profile, "spine_surgery", case, load, NOW, avail)
    assert hard_exclusions(profile, "spine_surgery", case, load, NOW, avail) == named
    assert bool(named) == bool(failing - {"no_jur"})  # unknown jurisdiction alone is allowed
