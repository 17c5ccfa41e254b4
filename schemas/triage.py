"""The triage result: computed once by triage and carried on CaseTriaged, never recomputed."""

from __future__ import annotations

from typing import Literal

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
SurgeryClass = Literal["discectomy", "decompression", "fusion", "pre_surgery"]
StartBackBand = Literal["low", "medium", "high"]
OdiBand = Literal["minimal", "moderate", "severe", "crippled", "bed_bound_or_exaggerating"]
NrsBand = Literal["none", "mild", "moderate", "severe"]
NdiBand = Literal["none", "mild", "moderate", "severe", "complete"]


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


class StartBackScore(Contract):
    total: int = Field(ge=0, le=9)
    psychosocial_subscale: int = Field(ge=0, le=5)
    band: StartBackBand


class OdiScore(Contract):
    percent: float = Field(ge=0, le=100)
    sections_answered: int = Field(ge=1, le=10)
    band: OdiBand


class NrsScore(Contract):
    back: int | None = None
    back_band: NrsBand | None = None
    limb: int | None = None
    limb_band: NrsBand | None = None


class WaddellScore(Contract):
    positive_categories: int = Field(ge=0, le=5)
    overreaction_assessed: bool
    threshold: int  # 3 of 5, or 2 of the other 4 when overreaction was omitted
    significant: bool  # distress marker, never "malingering", never excludes organic disease


class NdiScore(Contract):
    raw: float = Field(ge=0, le=50)  # prorated over answered items when some are missing
    percent: float = Field(ge=0, le=100)
    items_answered: int = Field(ge=1, le=10)
    band: NdiBand


class Dn4Score(Contract):
    score: int = Field(ge=0, le=10)
    likely_neuropathic: bool


class InstrumentScores(Contract):
    start_back: StartBackScore | None = None
    odi: OdiScore | None = None
    nrs: NrsScore | None = None
    waddell: WaddellScore | None = None
    ndi: NdiScore | None = None
    dn4: Dn4Score | None = None


class TriageResult(Contract):
    urgency: Urgency
    fired_rules: list[FiredRule] = Field(default_factory=list)
    instruments: InstrumentScores = Field(default_factory=InstrumentScores)
    likely_causes: list[LikelyCause] = Field(default_factory=list)
    must_exclude: list[str] = Field(default_factory=list)
    required_teams: list[Team] = Field(default_factory=list)
    optional_teams: list[Team] = Field(default_factory=list)
    emergency_pathway: bool = False  # on-call spine surgeon, not a second-opinion queue
    second_read: SecondRead = Field(default_factory=SecondRead)
    missing_data: list[str] = Field(default_factory=list)  # what the referral lacked
    rule_table_version: str
    surgery_class: SurgeryClass | None = None  # derived per brief section 2; picks the priors
    weeks_since_last_surgery: float | None = None
