"""The triage result: computed once by triage and carried on CaseTriaged, never recomputed."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from schemas.envelope import Contract

Urgency = Literal["emergency", "urgent", "soon", "routine"]
URGENCY_ORDER: tuple[Urgency, ...] = ("routine", "soon", "urgent", "emergency")

Team = Literal[
    "emergency_department", "spine_surgery", "spine_radiology", "pain_medicine",
    "physio_rehab", "psychology", "infectious_disease", "oncology",
]
SecondReadRecommendation = Literal[
    "none", "superseded_by_emergency", "priority_24h", "standard_24_72h",
]


class FiredRule(Contract):
    rule_id: str  # stable id from the brief, e.g. RF1_CES_established
    level: Urgency
    reason: str  # which structured findings fired it; never patient free text


class CauseFactor(Contract):
    feature: str  # e.g. timing_lt_6w, imaging_disc_operated_level
    multiplier: float


class LikelyCause(Contract):
    cause: str
    probability: float = Field(ge=0, le=1)
    factors: list[CauseFactor] = Field(default_factory=list)


class SecondRead(Contract):
    recommendation: SecondReadRecommendation = "none"
    matched_phrases: list[str] = Field(default_factory=list)
    also_recommended: list[str] = Field(default_factory=list)  # flags, not automatic


class TriageResult(Contract):
    urgency: Urgency
    fired_rules: list[FiredRule] = Field(default_factory=list)
    instruments: dict[str, Any] = Field(default_factory=dict)
    likely_causes: list[LikelyCause] = Field(default_factory=list)
    must_exclude: list[str] = Field(default_factory=list)
    required_teams: list[Team] = Field(default_factory=list)
    optional_teams: list[Team] = Field(default_factory=list)
    emergency_pathway: bool = False  # on-call spine surgeon, not a second-opinion queue
    second_read: SecondRead = Field(default_factory=SecondRead)
    missing_data: list[str] = Field(default_factory=list)  # what the referral lacked
    rule_table_version: str
