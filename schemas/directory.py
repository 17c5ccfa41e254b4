"""The specialist directory, kept on a compacted topic keyed by specialist id."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from schemas.envelope import Contract
from schemas.triage import Team

Role = Literal[
    "neurosurgeon", "orthopaedic_spine_surgeon", "neuroradiologist", "msk_radiologist",
    "pain_medicine", "physiotherapy", "psychology", "infectious_disease", "oncology",
    "emergency_on_call",
]

ROLE_TEAMS: dict[str, tuple[Team, ...]] = {
    "neurosurgeon": ("spine_surgery",),
    "orthopaedic_spine_surgeon": ("spine_surgery",),
    "neuroradiologist": ("spine_radiology",),
    "msk_radiologist": ("spine_radiology",),
    "pain_medicine": ("pain_medicine",),
    "physiotherapy": ("physio_rehab",),
    "psychology": ("psychology",),
    "infectious_disease": ("infectious_disease",),
    "oncology": ("oncology",),
    "emergency_on_call": ("emergency_department", "spine_surgery"),
}


class Licence(Contract):
    jurisdiction: str  # e.g. GB-ENG, US-CA
    expires_on: date


class WorkingHours(Contract):
    # Monday = 0. Routing's PUT and seeder refuse a day outside 0-6 or named twice, so a new
    # entry has at most seven. The contract's bound is looser on purpose: entries stored before
    # (the API took any list) may repeat days, and a directory record that no longer parses drops
    # its specialist from routing and notify on every worker (review of review 21). It only
    # bounds what a record can make a reader hold.
    weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4], max_length=64)
    start: time = time(8, 0)
    end: time = time(18, 0)


class Absence(Contract):
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class OnCallShift(Contract):
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class Capacity(Contract):
    max_open_cases: int = Field(default=10, ge=0)
    max_new_per_day: int = Field(default=5, ge=0)


ShortText = Annotated[str, Field(max_length=64)]


class Specialist(Contract):
    specialist_id: str = Field(min_length=1, max_length=64)
    name: str = Field(max_length=200)
    role: Role
    # e.g. revision_surgery, cervical, contrast_mri
    skills: list[ShortText] = Field(default_factory=list, max_length=100)
    licences: list[Licence] = Field(default_factory=list, max_length=200)
    languages: list[ShortText] = Field(default_factory=lambda: ["en"], max_length=100)
    institution_id: str | None = Field(default=None, max_length=64)
    group_id: str | None = Field(default=None, max_length=64)
    team_lead_id: str | None = Field(default=None, max_length=64)
    time_zone: str = Field(default="UTC", max_length=64, pattern=r"^[A-Za-z0-9_+/-]+$")
    working_hours: WorkingHours = Field(default_factory=WorkingHours)
    absences: list[Absence] = Field(default_factory=list, max_length=200)
    on_call: list[OnCallShift] = Field(default_factory=list, max_length=200)
    capacity: Capacity = Field(default_factory=Capacity)
    webhook_url: str | None = Field(default=None, max_length=2048)
    active: bool = True
