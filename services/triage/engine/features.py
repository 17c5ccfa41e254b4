"""Cause-model features (brief section 5.2) from history, pain pattern, exam, labs and blocks."""

from __future__ import annotations

from schemas.triage import InstrumentScores
from services.triage.engine.imaging_features import IMAGING_FEATURE_IDS, imaging_features
from services.triage.engine.picture import ClinicalPicture
from services.triage.engine.rule_table import Thresholds

CLINICAL_FEATURE_IDS = (
    "timing_lt_6w", "timing_6w_6m", "timing_gt_6m", "recovery_window_improving",
    "recovery_unlikely_worsening_or_late", "pain_free_never", "pain_free_ge_26w",
    "pain_free_1_12w_onset_6_16w", "limb_dominant_radicular", "neurogenic_claudication",
    "back_dominant_axial", "no_limb_pain", "buttock_groin_distribution",
    "diffuse_widespread_distribution", "burning_or_electric_with_allodynia_or_dn4", "dn4_ge_4",
    "aggravated_flexion_sitting", "extension_rotation_or_facet_loading", "sij_provocation_ge_3",
    "sij_provocation_le_1", "pain_sit_to_stand", "transitional_catching_pain",
    "axial_pain_differs_from_preop", "constant_nonmechanical_or_night_pain", "radicular_signs",
    "allodynia", "waddell_significant", "start_back_high", "start_back_low", "fever_ge_38",
    "wound_drainage_or_erythema", "crp_abnormal", "esr_gt_40", "diabetes_or_immunosuppressed",
    "cancer_history", "weight_loss_unexplained", "trauma_high_energy",
    "trauma_low_energy_at_risk", "trauma_recent_onset_le_14d",
    "progressive_deficit_le_1w_postop", "anticoagulated_progressive_deficit_le_1w_postop",
    "medial_branch_block_ge_75", "medial_branch_block_lt_50", "sij_block_ge_75",
    "sij_block_lt_50",
)
FEATURE_IDS = CLINICAL_FEATURE_IDS + IMAGING_FEATURE_IDS
WORSENING = frozenset({"worsening_gradual", "worsening_rapid"})
NEUROPATHIC_QUALITY = frozenset({"burning", "electric_shock"})
CONSTANT_OR_NIGHT = frozenset({"constant_nonmechanical", "night_rest_pain"})
AXIAL_DISTRIBUTIONS = frozenset({"axial", "buttock_groin"})
# block type -> (feature when positive, feature when negative)
BLOCK_FEATURES = {
    "medial_branch": ("medial_branch_block_ge_75", "medial_branch_block_lt_50"),
    "sij": ("sij_block_ge_75", "sij_block_lt_50"),
}


def _timing(p: ClinicalPicture, t: Thresholds, out: list[str]) -> None:
    weeks = p.weeks_since_surgery
    if weeks is None:
        return  # timing, recovery and pain-free interval only mean something after surgery
    timeline = p.referral.timeline
    onset = timeline.onset_weeks_after_last_surgery
    if onset is not None:
        if onset < t.timing_early_weeks:
            out.append("timing_lt_6w")
        elif onset <= t.timing_late_weeks:
            out.append("timing_6w_6m")
        else:
            out.append("timing_gt_6m")
    if weeks <= t.recovery_window_weeks and timeline.trajectory == "improving":
        out.append("recovery_window_improving")
    if timeline.trajectory in WORSENING or weeks > t.recovery_unlikely_weeks:
        out.append("recovery_unlikely_worsening_or_late")
    pain_free = timeline.pain_free_interval_weeks
    if pain_free is None:
        return
    if pain_free == 0:
        out.append("pain_free_never")
    elif pain_free >= t.pain_free_long_weeks:
        out.append("pain_free_ge_26w")
    short = t.pain_free_short_min_weeks <= pain_free <= t.pain_free_short_max_weeks
    if short and onset is not None and t.scar_onset_min_weeks <= onset <= t.scar_onset_max_weeks:
        out.append("pain_free_1_12w_onset_6_16w")


def _pattern(p: ClinicalPicture, scores: InstrumentScores, t: Thresholds, out: list[str]) -> None:
    s = p.referral.symptoms
    exam = p.referral.neuro_exam
    if p.limb_dominant_radicular:
        out.append("limb_dominant_radicular")
    if p.claudicant:
        out.append("neurogenic_claudication")
    if p.back_dominant_axial:
        out.append("back_dominant_axial")
    if s.nrs_limb == 0:
        out.append("no_limb_pain")
    if s.pain_distribution == "buttock_groin":
        out.append("buttock_groin_distribution")
    elif s.pain_distribution == "diffuse_widespread":
        out.append("diffuse_widespread_distribution")
    dn4_positive = scores.dn4 is not None and scores.dn4.likely_neuropathic
    if NEUROPATHIC_QUALITY.intersection(s.character) and (exam.allodynia or dn4_positive):
        out.append("burning_or_electric_with_allodynia_or_dn4")
    if dn4_positive:
        out.append("dn4_ge_4")
    if "flexion_sitting" in s.aggravators:
        out.append("aggravated_flexion_sitting")
    if "extension_rotation" in s.aggravators or exam.facet_loading_positive:
        out.append("extension_rotation_or_facet_loading")
    sij = exam.sij_provocation_positive
    if sij is not None and sij >= t.sij_tests_positive:
        out.append("sij_provocation_ge_3")
    elif sij is not None and sij <= t.sij_tests_negative:
        out.append("sij_provocation_le_1")
    if "sit_to_stand" in s.aggravators:
        out.append("pain_sit_to_stand")
    if "transitional_movement" in s.aggravators:
        out.append("transitional_catching_pain")
    axial = p.back_dominant_axial or s.pain_distribution in AXIAL_DISTRIBUTIONS
    if axial and s.vs_preop_pain in ("different", "new_site") and p.weeks_since_surgery is not None:
        out.append("axial_pain_differs_from_preop")
    if CONSTANT_OR_NIGHT.intersection(s.character) or p.referral.red_flags.night_pain_unremitting:
        out.append("constant_nonmechanical_or_night_pain")


def _exam(p: ClinicalPicture, scores: InstrumentScores, out: list[str]) -> None:
    if p.radicular_signs:
        out.append("radicular_signs")
    if p.referral.neuro_exam.allodynia:
        out.append("allodynia")
    if scores.waddell is not None and scores.waddell.significant:
        out.append("waddell_significant")
    if scores.start_back is not None and scores.start_back.band == "high":
        out.append("start_back_high")
    elif scores.start_back is not None and scores.start_back.band == "low":
        out.append("start_back_low")


def _labs_and_history(p: ClinicalPicture, t: Thresholds, out: list[str]) -> None:
    r = p.referral
    flags, history = r.red_flags, r.comorbidities
    if p.fever:
        out.append("fever_ge_38")
    if flags.wound_drainage or flags.wound_erythema:
        out.append("wound_drainage_or_erythema")
    if p.crp_abnormal:
        out.append("crp_abnormal")
    if flags.esr_mm_h is not None and flags.esr_mm_h > t.esr_high_mm_h:
        out.append("esr_gt_40")
    if history.diabetes or history.immunosuppressed:
        out.append("diabetes_or_immunosuppressed")
    if history.cancer_history:
        out.append("cancer_history")
    if flags.weight_loss_unexplained:
        out.append("weight_loss_unexplained")
    if flags.trauma == "high_energy":
        out.append("trauma_high_energy")
    elif flags.trauma == "low_energy" and (history.osteoporosis or r.age >= t.fracture_risk_age):
        out.append("trauma_low_energy_at_risk")
    days = r.timeline.current_episode_days
    if flags.trauma != "none" and days is not None and days <= t.trauma_recent_days:
        out.append("trauma_recent_onset_le_14d")
    weeks = p.weeks_since_surgery
    if weeks is not None and weeks <= t.haematoma_window_weeks and r.neuro_exam.motor_progressing:
        out.append("progressive_deficit_le_1w_postop")
        if history.anticoagulant:
            out.append("anticoagulated_progressive_deficit_le_1w_postop")


def _blocks(p: ClinicalPicture, t: Thresholds, out: list[str]) -> None:
    # Comparative blocks must all be positive, so the lowest relief of a type decides.
    lowest: dict[str, int] = {}
    for block in p.referral.diagnostic_blocks:
        if block.type in BLOCK_FEATURES:
            lowest[block.type] = min(block.relief_pct, lowest.get(block.type, block.relief_pct))
    for block_type, (positive, negative) in BLOCK_FEATURES.items():
        relief = lowest.get(block_type)
        if relief is not None and relief >= t.block_positive_pct:
            out.append(positive)
        elif relief is not None and relief < t.block_negative_pct:
            out.append(negative)


def fired_features(p: ClinicalPicture, scores: InstrumentScores, t: Thresholds) -> list[str]:
    """Ids of every feature present, each once, in a stable order."""
    out: list[str] = []
    _timing(p, t, out)
    _pattern(p, scores, t, out)
    _exam(p, scores, out)
    _labs_and_history(p, t, out)
    out.extend(imaging_features(p, t))
    if p.referral.diagnostic_blocks:
        _blocks(p, t, out)
    return list(dict.fromkeys(out))
