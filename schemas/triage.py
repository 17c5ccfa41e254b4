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


FROM_FREE_TEXT = "from free text — confirm"
SetAsideReason = Literal[
    "negated", "hypothetical", "historical", "family", "ruled_out", "longstanding_or_stable",
    "explained", "below_threshold",
]


class TextFinding(Contract):
    """A red flag or feature read from free text. No patient text: that is in `text_evidence`."""

    id: str  # e.g. tf1; FiredRule.reason and text_evidence refer to it
    concept: str  # lexicon concept, e.g. saddle_anaesthesia
    field: str | None = None  # the structured field it stands for, e.g. red_flags.fever_c
    value: str | float | bool | None = None  # the value read (a code, a flag, a number)
    source: str  # where the text came from, e.g. clinical_question, ServiceRequest.note
    uncertain: bool = False  # "possible", "query", "?": still counts (safer reading)
    rules: list[str] = Field(default_factory=list)  # rules it raised (only with the text)
    status: str = FROM_FREE_TEXT


class SetAsideMention(Contract):
    """A red-flag mention that did not fire, and why (negated, hypothetical, family...)."""

    id: str  # e.g. sa1
    concept: str
    source: str
    reason: SetAsideReason


class Discordance(Contract):
    """Structured data said no, the text said yes: the safer (text) reading was used."""

    field: str
    structured_value: str | float | bool | None = None
    text_value: str | float | bool | None = None
    finding_id: str
    resolution: str = "safer reading (free text) used"


class TextEvidence(Contract):
    """Patient free text quoted to justify a finding or a set-aside mention.

    The only field of a TriageResult that holds patient free text: erase or withhold it with
    the referral's free text (never log it).
    """

    ref: str  # a TextFinding.id or SetAsideMention.id
    source: str
    span: str = Field(max_length=500)
    sentence: str = Field(max_length=1_000)


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
    text_findings: list[TextFinding] = Field(default_factory=list)
    set_aside: list[SetAsideMention] = Field(default_factory=list)
    discordances: list[Discordance] = Field(default_factory=list)
    text_evidence: list[TextEvidence] = Field(default_factory=list)  # patient free text


CONFIRM_LEVELS = frozenset({"emergency", "urgent"})


def text_flags_to_confirm(result: TriageResult) -> list[dict[str, str]]:
    """Emergency/urgent rules raised by free text, each with the sentence that raised it.

    For the referrer who wrote the text (status webhook), so a human confirms quickly. Holds
    patient free text: send it only to that referrer, never log it.
    """
    levels = {rule.rule_id: rule.level for rule in result.fired_rules}
    quotes = {e.ref: e for e in result.text_evidence}
    flags = []
    for finding in result.text_findings:
        for rule_id in finding.rules:
            level = levels.get(rule_id)
            quote = quotes.get(finding.id)
            if level in CONFIRM_LEVELS and quote is not None:
                flags.append({
                    "rule_id": rule_id, "level": str(level), "finding_id": finding.id,
                    "concept": finding.concept, "source": quote.source,
                    "sentence": quote.sentence, "status": finding.status,
                })
    return flags
