"""Referral builders for triage unit tests: a plain base case plus deep-merged overrides."""

from __future__ import annotations

import copy
from typing import Any

from schemas.referral import Referral
from schemas.triage import TriageResult
from services.triage.engine import triage_referral

BASE: dict[str, Any] = {
    "referral_id": "t-1",
    "referral_type": "post_surgery",
    "region": "lumbar",
    "age": 45,
    "sex": "F",
    "surgeries": [{"procedure": "microdiscectomy", "levels": ["L4-L5"],
                   "weeks_before_referral": 40}],
}


def merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge nested dicts; lists and scalars in overrides replace the base value."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def referral(**overrides: Any) -> Referral:
    """The base post-discectomy referral with the given sections overridden."""
    return Referral.model_validate(merged(BASE, overrides))


def pre_surgery(**overrides: Any) -> Referral:
    """A pre-surgery referral (no prior surgery) with the given sections overridden."""
    base = {k: v for k, v in BASE.items() if k != "surgeries"}
    base["referral_type"] = "pre_surgery"
    return Referral.model_validate(merged(base, overrides))


def study(modality: str = "mri", weeks_ago: float | None = 2, **findings: Any) -> dict[str, Any]:
    """One imaging study dict with the given structured findings."""
    return {"modality": modality, "weeks_ago": weeks_ago, "findings": findings}


def triage(**overrides: Any) -> TriageResult:
    """Triage the base referral with the given sections overridden."""
    return triage_referral(referral(**overrides))


def fired(result: TriageResult) -> dict[str, str]:
    """rule id -> level of every fired rule."""
    return {r.rule_id: r.level for r in result.fired_rules}
