"""Derived values (brief section 2) computed once per referral and shared by every rule."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from schemas.referral import ImagingStudy, Referral
from schemas.triage import SurgeryClass
from services.triage.engine.rule_table import Thresholds

FUSION_PROCEDURES = frozenset(
    {"fusion_instrumented", "fusion_noninstrumented", "tlif", "plif", "alif", "acdf"}
)
DECOMPRESSION_PROCEDURES = frozenset(
    {"laminectomy_decompression", "laminotomy_decompression", "foraminotomy"}
)
LIMB_DOMINANT = frozenset({"leg", "arm"})
AXIAL_DOMINANT = frozenset({"back", "neck"})
RADICULAR_DISTRIBUTIONS = frozenset({"radicular", "axial_and_radicular", None})
DAYS_PER_WEEK = 7
GRADE_RANK = {"none": 0, "equivocal": 1, "present": 2}


@dataclass(slots=True)
class ImagingSummary:
    """What any current study shows, gathered in one pass so rules need not rescan studies."""

    cauda_equina_compression: str = "none"  # strongest grade reported
    bone_lesion: bool = False
    new_fracture: bool = False
    hardware_breakage_or_migration: bool = False
    hardware_malposition: bool = False
    concordant_compression: bool = False  # disc, concordant foraminal or severe central
    any_compression: bool = False  # the above, moderate central or cauda equina compression
    no_neural_compression: bool = False
    screw_lucency_mm: float = 0.0  # largest reported
    discitis_signs: bool = False
    fluid_collection: bool = False
    fusion_status: str = "none"  # from the newest study that states one


def summarise_imaging(studies: tuple[ImagingStudy, ...]) -> ImagingSummary:
    """Fold the findings of every current study into one summary (one pass: hot path)."""
    if not studies:
        return NO_IMAGING
    cauda, lucency, fusion = "none", 0.0, "none"
    bone = fracture = breakage = malposition = concordant = False
    no_compression = discitis = fluid = moderate_central = False
    for study in studies:
        f = study.findings
        if GRADE_RANK[f.cauda_equina_compression] > GRADE_RANK[cauda]:
            cauda = f.cauda_equina_compression
        lucency = max(lucency, f.screw_lucency_mm or 0.0)
        moderate_central = moderate_central or f.central_stenosis == "moderate"
        bone = bone or f.suspicious_bone_lesion != "none"
        fracture = fracture or f.new_fracture != "none"
        breakage = breakage or f.hardware_breakage_or_migration
        malposition = malposition or f.hardware_malposition
        concordant = concordant or (
            f.disc_herniation != "none" or f.foraminal_stenosis_concordant
            or f.central_stenosis == "severe"
        )
        no_compression = no_compression or f.no_neural_compression
        discitis = discitis or f.discitis_osteomyelitis_signs != "none"
        fluid = fluid or f.fluid_collection_or_abscess
        if fusion == "none":  # studies come newest first
            fusion = f.fusion_status
    return ImagingSummary(
        cauda_equina_compression=cauda, bone_lesion=bone, new_fracture=fracture,
        hardware_breakage_or_migration=breakage, hardware_malposition=malposition,
        concordant_compression=concordant,
        any_compression=concordant or moderate_central or cauda == "present",
        no_neural_compression=no_compression, screw_lucency_mm=lucency,
        discitis_signs=discitis, fluid_collection=fluid, fusion_status=fusion,
    )


NO_IMAGING = ImagingSummary()


@dataclass(slots=True)
class ClinicalPicture:
    """A referral plus the derived facts that several rules and features read."""

    referral: Referral
    surgery_class: SurgeryClass
    weeks_since_surgery: float | None  # smallest weeks_before_referral; None before surgery
    studies: tuple[ImagingStudy, ...]  # studies not predating the last surgery, newest first
    imaging: ImagingSummary
    fusion_status: str  # from the newest study that states one, or the text's worse reading
    limb_dominant_radicular: bool  # limb-dominant, radicular distribution, not claudicant
    back_dominant_axial: bool
    claudicant: bool
    radicular_signs: bool
    neuro_deficit: bool  # any motor deficit or myelopathy
    fever: bool
    crp_abnormal: bool
    infection_signs: tuple[str, ...]  # names of the infection signs present, fever aside


def surgery_class_of(referral: Referral) -> SurgeryClass:
    """fusion > decompression > discectomy; pre_surgery when no surgery is recorded."""
    if not referral.surgeries:
        return "pre_surgery"
    decompression = False
    for s in referral.surgeries:  # a loop, not any(): most referrals list one surgery
        if s.procedure in FUSION_PROCEDURES or s.instrumented:
            return "fusion"
        decompression = decompression or s.procedure in DECOMPRESSION_PROCEDURES
    return "decompression" if decompression else "discectomy"


def weeks_since_last_surgery(referral: Referral) -> float | None:
    """The smallest weeks_before_referral, or None without surgery."""
    surgeries = referral.surgeries
    if len(surgeries) == 1:
        return surgeries[0].weeks_before_referral
    return min([s.weeks_before_referral for s in surgeries], default=None)


def current_studies(referral: Referral, weeks_since: float | None) -> tuple[ImagingStudy, ...]:
    """Drop studies done before the last surgery (they show the pre-op anatomy); newest first."""
    if not referral.imaging:
        return ()
    kept = [
        s for s in referral.imaging
        if weeks_since is None or s.weeks_ago is None or s.weeks_ago <= weeks_since
    ]
    if len(kept) > 1:  # undated studies sort last: we cannot tell how recent they are
        kept.sort(key=lambda s: (s.weeks_ago is None, s.weeks_ago or 0.0))
    return tuple(kept)


def crp_is_abnormal(referral: Referral, weeks_since: float | None, t: Thresholds) -> bool:
    """CRP abnormal for the post-op day: rising after day 3, or above the day-dependent limit."""
    flags = referral.red_flags
    after_early_rise = weeks_since is None or weeks_since * DAYS_PER_WEEK > (
        t.crp_rising_after_postop_days
    )
    rising = flags.crp_trend == "rising" and after_early_rise
    if flags.crp_mg_l is None:
        return rising
    early = weeks_since is not None and weeks_since <= t.crp_early_window_weeks
    limit = t.crp_early_abnormal_mg_l if early else t.crp_late_abnormal_mg_l
    return rising or flags.crp_mg_l > limit


def _infection_signs(referral: Referral, imaging: ImagingSummary, crp: bool) -> tuple[str, ...]:
    flags = referral.red_flags
    signs = []
    if flags.wound_drainage:
        signs.append("wound_drainage")
    if flags.wound_erythema:
        signs.append("wound_erythema")
    if crp:
        signs.append("crp_abnormal")
    if imaging.discitis_signs:
        signs.append("discitis_signs")
    if imaging.fluid_collection:
        signs.append("fluid_collection")
    return tuple(signs)


def with_imaging(p: ClinicalPicture, overlay: dict[str, object]) -> ClinicalPicture:
    """The picture with imaging findings read from text laid over the current-imaging summary."""
    if not overlay:
        return p
    imaging = dataclasses.replace(p.imaging, **overlay)  # type: ignore[arg-type]
    imaging.any_compression = imaging.any_compression or imaging.cauda_equina_compression == (
        "present"
    )
    return dataclasses.replace(
        p, imaging=imaging, fusion_status=imaging.fusion_status,
        infection_signs=_infection_signs(p.referral, imaging, p.crp_abnormal),
    )


def build_picture(referral: Referral, t: Thresholds) -> ClinicalPicture:
    """Compute the derived values once per referral."""
    weeks = weeks_since_last_surgery(referral)
    studies = current_studies(referral, weeks)
    imaging = summarise_imaging(studies)
    symptoms = referral.symptoms
    exam = referral.neuro_exam
    claudicant = "claudicant" in symptoms.character
    limb_dominant = symptoms.dominant in LIMB_DOMINANT or (
        symptoms.dominant is None and symptoms.pain_distribution == "radicular"
    )
    axial = symptoms.dominant in AXIAL_DOMINANT or (
        symptoms.dominant is None and symptoms.pain_distribution == "axial"
    )
    crp = crp_is_abnormal(referral, weeks, t)
    fever_c = referral.red_flags.fever_c
    return ClinicalPicture(
        referral=referral,
        surgery_class=surgery_class_of(referral),
        weeks_since_surgery=weeks,
        studies=studies,
        imaging=imaging,
        fusion_status=imaging.fusion_status,
        limb_dominant_radicular=(
            limb_dominant and not claudicant
            and symptoms.pain_distribution in RADICULAR_DISTRIBUTIONS
        ),
        back_dominant_axial=axial,
        claudicant=claudicant,
        radicular_signs=(
            exam.sensory_deficit_dermatomal or exam.reflex_change
            or exam.nerve_tension_sign != "none" or exam.motor_deficit != "none"
        ),
        neuro_deficit=exam.motor_deficit != "none" or exam.myelopathy_signs,
        fever=fever_c is not None and fever_c >= t.fever_c,
        crp_abnormal=crp,
        infection_signs=_infection_signs(referral, imaging, crp),
    )
