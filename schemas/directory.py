"""The specialist directory, kept on a compacted topic keyed by specialist id."""

from __future__ import annotations

from datetime import date, time
from typing import Literal

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
    weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])  # Monday = 0
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


class Specialist(Contract):
    specialist_id: str = Field(min_length=1, max_length=64)
    name: str = Field(max_length=200)
    role: Role
    skills: list[str] = Field(default_factory=list)  # e.g. revision_surgery, cervical, contrast_mri
    licences: list[Licence] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=lambda: ["en"])
    institution_id: str | None = None
    group_id: str | None = None
    team_lead_id: str | None = None
    time_zone: str = "UTC"
    working_hours: WorkingHours = Field(default_factory=WorkingHours)
    absences: list[Absence] = Field(default_factory=list)
    on_call: list[OnCallShift] = Field(default_factory=list)
    capacity: Capacity = Field(default_factory=Capacity)
    webhook_url: str | None = None
    active: bool = True
