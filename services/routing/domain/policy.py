"""Routing policy: relaxation order and skill hints as data; deadlines from schemas.sla_policy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType

from schemas.sla_policy import DEFAULT_SLA_POLICY, SlaPolicy
from schemas.triage import URGENCY_ORDER, Urgency

# Preferences that are strict at first and dropped in this order when nobody is left.
LANGUAGE, SKILLS, CONTINUITY, DEADLINE_FIT = "language", "skills", "continuity", "deadline_fit"
PREFERENCES: tuple[str, ...] = (LANGUAGE, SKILLS, CONTINUITY, DEADLINE_FIT)

# Likely cause -> team -> skills that make a reviewer a better fit (matched against
# Specialist.skills). Region (lumbar/cervical/thoracic) is added for surgery and radiology.
DEFAULT_CAUSE_SKILLS: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType({
    "recurrent_disc_herniation": {"spine_surgery": ("revision_surgery",),
                                  "spine_radiology": ("contrast_mri",)},
    "epidural_fibrosis": {"spine_radiology": ("contrast_mri",),
                          "pain_medicine": ("neuromodulation",)},
    "neuropathic_pain": {"pain_medicine": ("neuromodulation",)},
    "adjacent_segment_disease": {"spine_surgery": ("revision_surgery",)},
    "instability": {"spine_surgery": ("instrumentation",)},
    "pseudarthrosis": {"spine_surgery": ("revision_surgery", "instrumentation"),
                       "spine_radiology": ("ct",)},
    "hardware_failure": {"spine_surgery": ("revision_surgery", "instrumentation"),
                         "spine_radiology": ("ct",)},
    "infection": {"spine_surgery": ("revision_surgery",),
                  "infectious_disease": ("bone_and_joint_infection",)},
    "malignancy": {"oncology": ("spinal_metastases",), "spine_radiology": ("oncologic_imaging",)},
    "facet_joint_pain": {"pain_medicine": ("interventional_blocks",)},
    "sacroiliac_joint_pain": {"pain_medicine": ("interventional_blocks",)},
    "psychosocial_chronic_pain": {"psychology": ("pain_psychology",),
                                  "physio_rehab": ("cognitive_functional_therapy",)},
})
# A case closes its offers on its tick (every few seconds); an offer its case never closed is
# lapsed this long after the longest offer window (a routing outage shorter than this closes
# them the usual way when it ends).
OFFER_LAPSE_GRACE = timedelta(hours=1)
REGION_SKILL_TEAMS: frozenset[str] = frozenset({"spine_surgery", "spine_radiology"})


@dataclass(frozen=True)
class RoutingPolicy:
    """Every tunable of routing in one place; services build it from the environment."""

    # Offer windows and review deadlines: the one policy notify's clocks read too.
    sla: SlaPolicy = DEFAULT_SLA_POLICY
    relaxation_order: tuple[str, ...] = PREFERENCES
    review_hours_per_case: float = 8.0  # wall-clock hours one queued case takes a reviewer
    min_cause_probability: float = 0.15  # causes below this do not shape skill preferences
    cause_skills: Mapping[str, Mapping[str, tuple[str, ...]]] = field(
        default_factory=lambda: dict(DEFAULT_CAUSE_SKILLS))
    # Routing's API as reviewers reach it (offer links). This default serves tests and
    # development only: outside development mode settings.public_url_from_env requires https.
    public_url: str = "http://127.0.0.1:8003"

    def offer_timeout(self, urgency: Urgency) -> timedelta:
        """How long an offer stays open at this urgency."""
        return self.sla.offer_window(urgency)

    def offer_hold_limit(self) -> timedelta:
        """How long a specialist's load may hold an offer before it lapses (domain/load.py)."""
        return max(self.offer_timeout(u) for u in URGENCY_ORDER) + OFFER_LAPSE_GRACE

    def review_time(self, queued_cases: int) -> timedelta:
        """Estimated time until a reviewer with `queued_cases` ahead finishes one more."""
        return timedelta(hours=self.review_hours_per_case * (queued_cases + 1))
