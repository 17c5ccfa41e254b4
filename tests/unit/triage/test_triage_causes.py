"""Section 5: features at their boundaries, the naive-Bayes posterior, and explained top 3."""

from __future__ import annotations

import math
from typing import Any

import pytest

from schemas.referral import Referral
from services.triage.engine import rule_table, triage_referral
from services.triage.engine.causes import posterior
from services.triage.engine.features import fired_features
from services.triage.engine.instruments import score_instruments
from services.triage.engine.picture import build_picture, surgery_class_of
from tests.unit.triage.builders import pre_surgery, referral, study


def features_of(r: Referral) -> list[str]:
    t = rule_table().thresholds
    return fired_features(build_picture(r, t), score_instruments(r.instruments, r.symptoms), t)


def surgery(procedure: str, weeks: float = 40, instrumented: bool = False) -> dict[str, Any]:
    return {"procedure": procedure, "weeks_before_referral": weeks, "instrumented": instrumented}


@pytest.mark.parametrize(
    ("surgeries", "expected"),
    [
        ([], "pre_surgery"),
        ([surgery("microdiscectomy")], "discectomy"),
        ([surgery("revision_discectomy")], "discectomy"),
        ([surgery("microdiscectomy"), surgery("foraminotomy")], "decompression"),
        ([surgery("laminectomy_decompression"), surgery("acdf")], "fusion"),
        ([surgery("laminotomy_decompression", instrumented=True)], "fusion"),
        ([surgery("alif")], "fusion"),
    ],
)
def test_surgery_class_derivation(surgeries: list[dict[str, Any]], expected: str) -> None:
    assert surgery_class_of(referral(surgeries=surgeries)) == expected


def test_weeks_since_last_surgery_is_the_smallest() -> None:
    r = referral(surgeries=[surgery("microdiscectomy", 100), surgery("revision_discectomy", 9)])
    assert triage_referral(r).weeks_since_last_surgery == 9


@pytest.mark.parametrize(
    ("onset", "feature"),
    [(5.9, "timing_lt_6w"), (6, "timing_6w_6m"), (26, "timing_6w_6m"), (26.1, "timing_gt_6m")],
)
def test_timing_buckets_6_weeks_and_6_months(onset: float, feature: str) -> None:
    found = [f for f in features_of(referral(timeline={"onset_weeks_after_last_surgery": onset}))
             if f.startswith("timing_")]
    assert found == [feature]


def test_no_timing_features_without_onset_or_surgery() -> None:
    assert not [f for f in features_of(referral()) if f.startswith("timing_")]
    assert not [f for f in features_of(pre_surgery(timeline={"onset_weeks_after_last_surgery": 3}))
                if f.startswith("timing_")]


@pytest.mark.parametrize(
    ("weeks", "trajectory", "window", "unlikely"),
    [
        (12, "improving", True, False),
        (12.5, "improving", False, False),
        (26, "stable", False, False),
        (26.5, "stable", False, True),
        (8, "worsening_gradual", False, True),
    ],
)
def test_recovery_12_and_26_week_boundaries(
    weeks: float, trajectory: str, window: bool, unlikely: bool
) -> None:
    r = referral(surgeries=[surgery("microdiscectomy", weeks)],
                 timeline={"trajectory": trajectory})
    found = features_of(r)
    assert ("recovery_window_improving" in found) is window
    assert ("recovery_unlikely_worsening_or_late" in found) is unlikely


@pytest.mark.parametrize(
    ("interval", "onset", "expected"),
    [
        (0, None, {"pain_free_never"}),
        (25.9, None, set()),
        (26, None, {"pain_free_ge_26w"}),
        (1, 6, {"pain_free_1_12w_onset_6_16w"}),
        (12, 16, {"pain_free_1_12w_onset_6_16w"}),
        (12, 17, set()),
        (13, 14, set()),
    ],
)
def test_pain_free_interval_features(
    interval: float, onset: float | None, expected: set[str]
) -> None:
    found = features_of(referral(timeline={"pain_free_interval_weeks": interval,
                                           "onset_weeks_after_last_surgery": onset}))
    assert {f for f in found if f.startswith("pain_free")} == expected


@pytest.mark.parametrize(
    ("findings", "expected"),
    [
        ({"translation_mm": 2.9}, set()),
        ({"translation_mm": 3}, {"translation_operated_3_to_5mm"}),
        ({"translation_mm": 4.9}, {"translation_operated_3_to_5mm"}),
        ({"translation_mm": 5, "dynamic_level_relation": "operated"},
         {"translation_operated_ge_5mm"}),
        ({"translation_mm": 5, "dynamic_level_relation": "adjacent"}, {"translation_adjacent"}),
    ],
)
def test_translation_3_to_4_vs_5_mm(findings: dict[str, Any], expected: set[str]) -> None:
    found = features_of(referral(imaging=[study("xray_flexion_extension", **findings)]))
    assert {f for f in found if f.startswith("translation")} == expected


@pytest.mark.parametrize(
    ("mm", "expected"),
    [(0.5, set()), (1, {"screw_lucency_1_to_2mm"}), (1.9, {"screw_lucency_1_to_2mm"}),
     (2, {"screw_lucency_ge_2mm"})],
)
def test_screw_lucency_1_vs_2_mm(mm: float, expected: set[str]) -> None:
    found = features_of(referral(imaging=[study("ct", screw_lucency_mm=mm)]))
    assert {f for f in found if f.startswith("screw")} == expected


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        ([{"type": "medial_branch", "relief_pct": 75}], {"medial_branch_block_ge_75"}),
        ([{"type": "medial_branch", "relief_pct": 74}], set()),
        ([{"type": "medial_branch", "relief_pct": 50}], set()),
        ([{"type": "medial_branch", "relief_pct": 49}], {"medial_branch_block_lt_50"}),
        ([{"type": "sij", "relief_pct": 90}], {"sij_block_ge_75"}),
        ([{"type": "sij", "relief_pct": 10}], {"sij_block_lt_50"}),
        # comparative blocks: both must be positive, so the lower relief decides
        ([{"type": "sij", "relief_pct": 90}, {"type": "sij", "relief_pct": 60}], set()),
        ([{"type": "snrb", "relief_pct": 90}], set()),
    ],
)
def test_diagnostic_blocks_75_and_50_percent(
    blocks: list[dict[str, Any]], expected: set[str]
) -> None:
    found = features_of(referral(diagnostic_blocks=blocks))
    assert {f for f in found if "block" in f} == expected


@pytest.mark.parametrize(
    ("tests", "expected"),
    [(0, {"sij_provocation_le_1"}), (1, {"sij_provocation_le_1"}), (2, set()),
     (3, {"sij_provocation_ge_3"}), (5, {"sij_provocation_ge_3"})],
)
def test_sij_provocation_cluster(tests: int, expected: set[str]) -> None:
    found = features_of(referral(neuro_exam={"sij_provocation_positive": tests}))
    assert {f for f in found if f.startswith("sij_provocation")} == expected


@pytest.mark.parametrize(("dn4", "present"), [(3, False), (4, True)])
def test_dn4_feature_at_4(dn4: int, present: bool) -> None:
    r = referral(instruments={"dn4": dn4}, symptoms={"character": ["burning"]})
    found = features_of(r)
    assert ("dn4_ge_4" in found) is present
    assert ("burning_or_electric_with_allodynia_or_dn4" in found) is present


@pytest.mark.parametrize(("esr", "present"), [(40, False), (41, True)])
def test_esr_above_40(esr: float, present: bool) -> None:
    assert ("esr_gt_40" in features_of(referral(red_flags={"esr_mm_h": esr}))) is present


def test_fusion_absent_before_12_months_counts_as_incomplete() -> None:
    def fusion_features(weeks: float) -> set[str]:
        r = referral(surgeries=[surgery("plif", weeks, True)],
                     imaging=[study("ct", fusion_status="absent")])
        return {f for f in features_of(r) if f.startswith("fusion")}
    assert fusion_features(52) == {"fusion_absent_ge_12m"}
    assert fusion_features(40) == {"fusion_incomplete"}


def test_newest_study_decides_fusion_status() -> None:
    r = referral(surgeries=[surgery("plif", 80, True)],
                 imaging=[study("ct", 30, fusion_status="incomplete"),
                          study("ct", 2, fusion_status="solid")])
    assert {f for f in features_of(r) if f.startswith("fusion")} == {"fusion_solid"}


def test_studies_before_the_last_surgery_are_ignored() -> None:
    r = referral(surgeries=[surgery("microdiscectomy", 10)],
                 imaging=[study("mri", 12, disc_herniation="primary")])
    assert "imaging_disc_other_level_or_primary" not in features_of(r)
    assert any(m.startswith("imaging: every study predates") for m in
               triage_referral(r).missing_data)


def test_contrast_findings_only_count_from_the_right_modality() -> None:
    plain = features_of(referral(imaging=[study("mri", scar_vs_disc_indeterminate=True)]))
    contrast = features_of(referral(imaging=[study("mri_contrast",
                                                   scar_vs_disc_indeterminate=True)]))
    assert "noncontrast_scar_vs_disc_indeterminate" in plain
    assert "noncontrast_scar_vs_disc_indeterminate" not in contrast


def test_score_is_log_prior_plus_log_multipliers() -> None:
    table = rule_table()
    post = posterior(["imaging_disc_operated_level"], "discectomy", table).as_dict()
    priors = {c: s.priors["discectomy"] for c, s in table.cause_specs.items()}
    weights = {c: p * table.multipliers["imaging_disc_operated_level"].get(c, 1.0)
               for c, p in priors.items()}
    total = sum(weights.values())
    for cause, weight in weights.items():
        assert post[cause] == pytest.approx(weight / total, abs=1e-12)


def test_zero_prior_stays_impossible_whatever_the_features() -> None:
    post = posterior(["fusion_absent_ge_12m", "hardware_breakage_or_migration"],
                     "discectomy", rule_table()).as_dict()
    assert post["pseudarthrosis"] == 0.0 and post["hardware_failure"] == 0.0
    assert math.fsum(post.values()) == pytest.approx(1.0, abs=1e-9)


def test_top_three_with_factors_that_moved_them() -> None:
    r = referral(symptoms={"dominant": "leg", "pain_distribution": "radicular"},
                 imaging=[study(disc_herniation="operated_level")])
    result = triage_referral(r)
    assert len(result.likely_causes) == 3
    top = result.likely_causes[0]
    assert top.cause == "recurrent_disc_herniation"
    assert [(f.feature, f.multiplier) for f in top.factors] == [
        ("imaging_disc_operated_level", 6.0), ("limb_dominant_radicular", 2.5)]
    probabilities = [c.probability for c in result.likely_causes]
    assert probabilities == sorted(probabilities, reverse=True)


def test_haematoma_and_malignancy_are_separate_causes() -> None:
    causes = rule_table().causes
    assert "epidural_hematoma" in causes and "malignancy" in causes
    early = referral(surgeries=[surgery("microdiscectomy", 0.5)],
                     comorbidities={"anticoagulant": True},
                     neuro_exam={"motor_deficit": "severe", "motor_progressing": True},
                     timeline={"onset_weeks_after_last_surgery": 0.2})
    post = posterior(features_of(early), "discectomy", rule_table()).ranked()
    assert post[0][0] == "epidural_hematoma"
