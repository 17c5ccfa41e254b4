"""Urgency (brief section 3): red-flag rules and the routine-to-soon modifiers; highest wins."""

from __future__ import annotations

from collections.abc import Callable

from schemas.triage import URGENCY_ORDER, FiredRule, Urgency
from services.triage.engine.picture import ClinicalPicture
from services.triage.engine.rule_table import Thresholds
from services.triage.engine.trusted import trusted

Hit = tuple[Urgency, str] | None
NEW_BLADDER_CHANGE = frozenset({"new_altered_sensation_or_hesitancy", "retention_or_incontinence"})
URGENCY_RANK = {level: rank for rank, level in enumerate(URGENCY_ORDER)}


def _joined(level: Urgency, reasons: list[str]) -> Hit:
    return (level, "; ".join(reasons)) if reasons else None


def rf1_ces_established(p: ClinicalPicture, t: Thresholds) -> Hit:
    flags = p.referral.red_flags
    reasons = []
    if flags.saddle_anaesthesia:
        reasons.append("saddle_anaesthesia")
    if flags.bladder_change in NEW_BLADDER_CHANGE:
        reasons.append(f"bladder_change={flags.bladder_change}")
    if flags.bowel_incontinence:
        reasons.append("bowel_incontinence")
    if flags.sexual_dysfunction_new:
        reasons.append("sexual_dysfunction_new")
    return _joined("emergency", reasons)


def rf2_ces_suspected_bilateral(p: ClinicalPicture, t: Thresholds) -> Hit:
    # Chronic stable bilateral claudication is not this flag: it needs new/worse within 14 days.
    if p.referral.red_flags.bilateral_radicular_new_or_worsening_14d:
        return ("emergency", "bilateral_radicular_new_or_worsening_14d")
    return None


def rf3_progressive_or_severe_deficit(p: ClinicalPicture, t: Thresholds) -> Hit:
    exam = p.referral.neuro_exam
    if exam.motor_progressing:
        return ("emergency", "motor_progressing")
    days = p.referral.timeline.current_episode_days
    if exam.motor_deficit == "severe" and days is not None and days <= t.recent_episode_days:
        return ("emergency", "motor_deficit=severe; current_episode_days<=14")
    return None


def rf4_imaging_neural_compression(p: ClinicalPicture, t: Thresholds) -> Hit:
    compression = p.imaging.cauda_equina_compression
    if compression == "present":
        return ("emergency", "cauda_equina_compression=present")
    if compression != "equivocal":
        return None  # so the CES symptom rules need not run again
    if rf1_ces_established(p, t) or rf2_ces_suspected_bilateral(p, t):
        return ("emergency", "cauda_equina_compression=equivocal with CES symptoms")
    return None


def rf5_postop_infection_systemic(p: ClinicalPicture, t: Thresholds) -> Hit:
    if p.fever and p.infection_signs:
        return ("emergency", "fever>=38.0; " + ", ".join(p.infection_signs))
    return None


def rf6_infection_suspected_non_septic(p: ClinicalPicture, t: Thresholds) -> Hit:
    if p.infection_signs and not p.fever:
        return ("urgent", ", ".join(p.infection_signs) + " without fever")
    weeks = p.weeks_since_surgery
    if p.fever and not p.infection_signs and weeks is not None and weeks <= t.early_postop_weeks:
        return ("urgent", "fever>=38.0 alone within 6 weeks of surgery")
    return None


def rf8_malignancy_suspected(p: ClinicalPicture, t: Thresholds) -> Hit:
    flags = p.referral.red_flags
    reasons = []
    if p.imaging.bone_lesion:
        reasons.append("suspicious_bone_lesion")
    night_or_weight = flags.night_pain_unremitting or flags.weight_loss_unexplained
    if p.referral.comorbidities.cancer_history and night_or_weight:
        reasons.append("cancer_history with night pain or weight loss")
    if flags.weight_loss_unexplained and flags.night_pain_unremitting:
        reasons.append("weight_loss_unexplained with night_pain_unremitting")
    if reasons and p.neuro_deficit:
        return ("emergency", "; ".join([*reasons, "neurological deficit"]))
    return _joined("urgent", reasons)


def rf9_fracture_high_energy(p: ClinicalPicture, t: Thresholds) -> Hit:
    if p.referral.red_flags.trauma == "high_energy":
        return ("emergency", "trauma=high_energy")
    return None


def rf9_fracture_low_energy(p: ClinicalPicture, t: Thresholds) -> Hit:
    r = p.referral
    reasons = []
    at_risk = r.comorbidities.osteoporosis or r.age >= t.fracture_risk_age
    if r.red_flags.trauma == "low_energy" and at_risk:
        reasons.append("trauma=low_energy with osteoporosis or age>=65")
    if p.imaging.new_fracture:
        reasons.append("new_fracture on imaging")
    if reasons and p.neuro_deficit:
        return ("emergency", "; ".join([*reasons, "neurological deficit"]))
    return _joined("urgent", reasons)


def rf10_implant_failure(p: ClinicalPicture, t: Thresholds) -> Hit:
    reasons = []
    if p.imaging.hardware_breakage_or_migration:
        reasons.append("hardware_breakage_or_migration")
    if p.imaging.hardware_malposition:
        reasons.append("hardware_malposition")
    return _joined("urgent", reasons)


def _early_postop(p: ClinicalPicture, t: Thresholds) -> bool:
    return p.weeks_since_surgery is not None and p.weeks_since_surgery <= t.early_postop_weeks


def rf11_early_postop_new_deficit(p: ClinicalPicture, t: Thresholds) -> Hit:
    deficit = p.referral.neuro_exam.motor_deficit
    if _early_postop(p, t) and deficit != "none":
        return ("emergency", f"motor_deficit={deficit} within 6 weeks of surgery")
    return None


def rf11_early_postop_new_radicular_pain(p: ClinicalPicture, t: Thresholds) -> Hit:
    s = p.referral.symptoms
    severe = s.nrs_limb is not None and s.nrs_limb >= t.severe_limb_pain_nrs
    differs = s.vs_preop_pain in ("different", "new_site")
    if _early_postop(p, t) and s.dominant in ("leg", "arm") and severe and differs:
        return ("urgent", "limb-dominant NRS>=7 differing from pre-op pain within 6 weeks")
    return None


def mod_limb_pain_concordant_compression(p: ClinicalPicture, t: Thresholds) -> Hit:
    nrs = p.referral.symptoms.nrs_limb
    if not (p.limb_dominant_radicular and nrs is not None and nrs >= t.severe_limb_pain_nrs):
        return None
    if p.imaging.concordant_compression:
        return ("soon", "limb-dominant NRS>=7 with concordant compression on imaging")
    return None


def mod_new_mild_motor_deficit(p: ClinicalPicture, t: Thresholds) -> Hit:
    exam = p.referral.neuro_exam
    if exam.motor_deficit == "mild" and not exam.motor_progressing:
        return ("soon", "motor_deficit=mild, not progressing")
    return None


def mod_suspected_nonunion(p: ClinicalPicture, t: Thresholds) -> Hit:
    weeks = p.weeks_since_surgery
    late = weeks is not None and weeks >= t.nonunion_weeks
    reasons = []
    if late and p.fusion_status in ("absent", "incomplete"):
        reasons.append(f"fusion_status={p.fusion_status} at >=52 weeks")
    if p.imaging.screw_lucency_mm >= t.screw_lucency_minor_mm:
        reasons.append("screw_lucency_mm>=1")
    return _joined("soon", reasons)


def mod_surgery_within_14_days(p: ClinicalPicture, t: Thresholds) -> Hit:
    proposed = p.referral.proposed_surgery
    days = proposed.days_until_scheduled if proposed else None
    if days is not None and days <= t.pre_surgery_soon_days:
        return ("soon", "proposed surgery scheduled within 14 days")
    return None


# Order of the brief's table; ids are stable and appear on every TriageResult.
URGENCY_RULES: tuple[tuple[str, Callable[[ClinicalPicture, Thresholds], Hit]], ...] = (
    ("RF1_CES_established", rf1_ces_established),
    ("RF2_CES_suspected_bilateral", rf2_ces_suspected_bilateral),
    ("RF3_progressive_or_severe_deficit", rf3_progressive_or_severe_deficit),
    ("RF4_imaging_neural_compression", rf4_imaging_neural_compression),
    ("RF5_postop_infection_systemic", rf5_postop_infection_systemic),
    ("RF6_infection_suspected_non_septic", rf6_infection_suspected_non_septic),
    ("RF8_malignancy_suspected", rf8_malignancy_suspected),
    ("RF9_fracture_high_energy", rf9_fracture_high_energy),
    ("RF9_fracture_low_energy", rf9_fracture_low_energy),
    ("RF10_implant_failure", rf10_implant_failure),
    ("RF11_early_postop_new_deficit", rf11_early_postop_new_deficit),
    ("RF11_early_postop_new_radicular_pain", rf11_early_postop_new_radicular_pain),
    ("MOD_limb_pain_concordant_compression", mod_limb_pain_concordant_compression),
    ("MOD_new_mild_motor_deficit", mod_new_mild_motor_deficit),
    ("MOD_suspected_nonunion", mod_suspected_nonunion),
    ("MOD_surgery_within_14_days", mod_surgery_within_14_days),
)


def fire_urgency_rules(p: ClinicalPicture, t: Thresholds) -> list[FiredRule]:
    """Every rule and modifier that fires, in table order."""
    fired = []
    for rule_id, rule in URGENCY_RULES:
        hit = rule(p, t)
        if hit is not None:
            fired.append(trusted(FiredRule, rule_id=rule_id, level=hit[0], reason=hit[1]))
    return fired


def final_urgency(fired: list[FiredRule]) -> Urgency:
    """The highest level among fired rules; routine when nothing fired."""
    urgency: Urgency = "routine"
    for rule in fired:
        if URGENCY_RANK[rule.level] > URGENCY_RANK[urgency]:
            urgency = rule.level
    return urgency
