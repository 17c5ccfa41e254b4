"""Property tests: red flags only raise urgency, posterior sums to 1, triage is deterministic."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.referral import Referral
from schemas.triage import URGENCY_ORDER, TriageResult
from services.triage.engine import rule_table, triage_referral
from services.triage.engine.causes import posterior
from services.triage.engine.features import FEATURE_IDS, fired_features
from services.triage.engine.instruments import score_instruments
from services.triage.engine.picture import build_picture
from tests.unit.triage.builders import merged
from tests.unit.triage.strategies import referrals

RANK = {level: i for i, level in enumerate(URGENCY_ORDER)}
NEW_STUDY = {"modality": "mri", "weeks_ago": 0}


def _with_study(**findings: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def add(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "imaging": [*data.get("imaging", []), {**NEW_STUDY, "findings": findings}]}
    return add


def _set(section: str, **values: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda data: merged(data, {section: values})


RED_FLAG_ADDITIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "saddle_anaesthesia": _set("red_flags", saddle_anaesthesia=True),
    "bladder_retention": _set("red_flags", bladder_change="retention_or_incontinence"),
    "bowel_incontinence": _set("red_flags", bowel_incontinence=True),
    "sexual_dysfunction": _set("red_flags", sexual_dysfunction_new=True),
    "bilateral_radicular": _set("red_flags", bilateral_radicular_new_or_worsening_14d=True),
    "fever": _set("red_flags", fever_c=39.0),
    "wound_drainage": _set("red_flags", wound_drainage=True),
    "wound_erythema": _set("red_flags", wound_erythema=True),
    "weight_loss": _set("red_flags", weight_loss_unexplained=True),
    "night_pain": _set("red_flags", night_pain_unremitting=True),
    "high_energy_trauma": _set("red_flags", trauma="high_energy"),
    "motor_progressing": _set("neuro_exam", motor_progressing=True),
    "cancer_history": _set("comorbidities", cancer_history=True),
    "cauda_equina_on_imaging": _with_study(cauda_equina_compression="present"),
    "bone_lesion": _with_study(suspicious_bone_lesion="present"),
    "new_fracture": _with_study(new_fracture="present"),
    "hardware_breakage": _with_study(hardware_breakage_or_migration=True),
    "abscess": _with_study(fluid_collection_or_abscess=True),
    "discitis": _with_study(discitis_osteomyelitis_signs="present"),
}


@settings(max_examples=300, deadline=None)
@given(referrals(), st.sampled_from(sorted(RED_FLAG_ADDITIONS)))
def test_adding_a_red_flag_never_lowers_urgency(referral: Referral, flag: str) -> None:
    before = triage_referral(referral)
    data = referral.model_dump(exclude_unset=True)
    after = triage_referral(Referral.model_validate(RED_FLAG_ADDITIONS[flag](data)))
    assert RANK[after.urgency] >= RANK[before.urgency]
    assert len(after.fired_rules) >= 1 or flag in ("cancer_history", "weight_loss",
                                                   "night_pain", "fever")


@settings(max_examples=300, deadline=None)
@given(referrals())
def test_posterior_over_all_causes_sums_to_one(referral: Referral) -> None:
    table = rule_table()
    t = table.thresholds
    picture = build_picture(referral, t)
    features = fired_features(picture, score_instruments(referral.instruments,
                                                          referral.symptoms), t)
    assert set(features) <= set(FEATURE_IDS)
    post = posterior(features, picture.surgery_class, table)
    assert abs(math.fsum(post.probabilities) - 1.0) <= 1e-9
    assert all(0.0 <= p <= 1.0 for p in post.probabilities)
    result = triage_referral(referral)
    top = [(c.cause, c.probability) for c in result.likely_causes]
    assert top == post.ranked(len(top))


@settings(max_examples=200, deadline=None)
@given(referrals())
def test_triage_is_deterministic(referral: Referral) -> None:
    first = triage_referral(referral).model_dump_json()
    again = triage_referral(referral).model_dump_json()
    # As on the wire: every default serialised, then parsed again.
    reparsed = triage_referral(Referral.model_validate_json(referral.model_dump_json())
                               ).model_dump_json()
    assert first == again == reparsed


@settings(max_examples=200, deadline=None)
@given(referrals())
def test_emergency_means_emergency_pathway_only(referral: Referral) -> None:
    result = triage_referral(referral)
    assert result.emergency_pathway is (result.urgency == "emergency")
    if result.emergency_pathway:
        assert result.required_teams == ["emergency_department", "spine_surgery"]
        assert result.optional_teams == []
    else:
        assert result.required_teams
        assert not set(result.required_teams) & set(result.optional_teams)


@settings(max_examples=300, deadline=None)
@given(referrals())
def test_every_result_passes_the_contract_the_engine_skips(referral: Referral) -> None:
    # The engine builds results without validation (engine/trusted.py); the contract must agree.
    result = triage_referral(referral)
    assert TriageResult.model_validate(result.model_dump()) == result
    printed = result.model_dump_json()
    assert TriageResult.model_validate_json(printed).model_dump_json() == printed
