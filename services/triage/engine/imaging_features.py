"""Imaging features of the cause model (brief section 5.2, "Imaging"), over current studies."""

from __future__ import annotations

from schemas.referral import ImagingStudy
from services.triage.engine.picture import ClinicalPicture
from services.triage.engine.rule_table import Thresholds

IMAGING_FEATURE_IDS = (
    "imaging_disc_operated_level", "imaging_disc_other_level_or_primary",
    "contrast_rim_enhancing_mass", "contrast_enhancing_scar_only",
    "noncontrast_scar_vs_disc_indeterminate", "noncontrast_scar_encasing_root",
    "foraminal_stenosis_concordant", "central_stenosis_severe", "central_stenosis_moderate",
    "adjacent_pathology_after_fusion", "adjacent_pathology_after_decompression",
    "no_adjacent_pathology_cross_sectional", "translation_operated_ge_5mm",
    "translation_operated_3_to_5mm", "translation_adjacent", "fusion_absent_ge_12m",
    "fusion_incomplete", "fusion_solid", "screw_lucency_ge_2mm", "screw_lucency_1_to_2mm",
    "hardware_breakage_or_migration", "hardware_malposition", "fluid_collection_or_abscess",
    "discitis_present", "discitis_equivocal", "facet_arthropathy_effusion", "sij_degeneration",
    "disc_degeneration_or_modic_operated_level", "arachnoiditis_clumped_roots",
    "new_fracture_present", "new_fracture_equivocal", "bone_lesion_suspicious",
    "bone_lesion_indeterminate", "no_neural_compression",
)
CROSS_SECTIONAL = frozenset({"mri", "mri_contrast", "ct", "ct_myelo"})
ADJACENT_BY_CLASS = {
    "fusion": "adjacent_pathology_after_fusion",
    "decompression": "adjacent_pathology_after_decompression",
}
# none/equivocal/present findings: the feature for each grade but none.
DISCITIS = {"present": "discitis_present", "equivocal": "discitis_equivocal"}
NEW_FRACTURE = {"present": "new_fracture_present", "equivocal": "new_fracture_equivocal"}
BONE_LESION = {"present": "bone_lesion_suspicious", "equivocal": "bone_lesion_indeterminate"}

def _disc_and_scar(study: ImagingStudy, out: list[str]) -> None:
    f = study.findings
    if f.disc_herniation == "operated_level":
        out.append("imaging_disc_operated_level")
    elif f.disc_herniation in ("other_level", "primary"):
        out.append("imaging_disc_other_level_or_primary")
    if f.contrast_pattern == "nonenhancing_mass_rim_enhancement":
        out.append("contrast_rim_enhancing_mass")
    elif f.contrast_pattern == "enhancing_scar_only":
        out.append("contrast_enhancing_scar_only")
    if study.modality != "mri_contrast":
        if f.scar_vs_disc_indeterminate:
            out.append("noncontrast_scar_vs_disc_indeterminate")
        if f.scar_encasing_root:
            out.append("noncontrast_scar_encasing_root")


def _alignment(study: ImagingStudy, p: ClinicalPicture, t: Thresholds, out: list[str]) -> None:
    f = study.findings
    if f.central_stenosis == "severe":
        out.append("central_stenosis_severe")
    elif f.central_stenosis == "moderate":
        out.append("central_stenosis_moderate")
    if f.adjacent_level_pathology is True and p.surgery_class in ADJACENT_BY_CLASS:
        out.append(ADJACENT_BY_CLASS[p.surgery_class])
    elif f.adjacent_level_pathology is False and study.modality in CROSS_SECTIONAL:
        out.append("no_adjacent_pathology_cross_sectional")
    mm = f.translation_mm
    if mm is None or mm < t.translation_equivocal_mm:
        return
    # Unless the report places it at the adjacent level, translation is at the index level.
    if f.dynamic_level_relation == "adjacent":
        out.append("translation_adjacent")
    elif mm >= t.translation_unstable_mm:
        out.append("translation_operated_ge_5mm")
    else:
        out.append("translation_operated_3_to_5mm")


def _screws(study: ImagingStudy, t: Thresholds, out: list[str]) -> None:
    mm = study.findings.screw_lucency_mm
    if mm is not None and mm >= t.screw_lucency_major_mm:
        out.append("screw_lucency_ge_2mm")
    elif mm is not None and mm >= t.screw_lucency_minor_mm:
        out.append("screw_lucency_1_to_2mm")


def _fusion(p: ClinicalPicture, t: Thresholds, out: list[str]) -> None:
    status = p.fusion_status  # newest study that states one
    weeks = p.weeks_since_surgery
    if status == "absent" and weeks is not None and weeks >= t.nonunion_weeks:
        out.append("fusion_absent_ge_12m")
    elif status in ("absent", "incomplete"):
        # Absent before 12 months is not yet nonunion: weighed like an incomplete fusion.
        out.append("fusion_incomplete")
    elif status == "solid":
        out.append("fusion_solid")


def _graded_and_flags(study: ImagingStudy, out: list[str]) -> None:
    f = study.findings
    # Plain attribute reads, not getattr over a (field, feature) table: this runs for every study.
    if f.discitis_osteomyelitis_signs != "none":
        out.append(DISCITIS[f.discitis_osteomyelitis_signs])
    if f.new_fracture != "none":
        out.append(NEW_FRACTURE[f.new_fracture])
    if f.suspicious_bone_lesion != "none":
        out.append(BONE_LESION[f.suspicious_bone_lesion])
    if f.foraminal_stenosis_concordant:
        out.append("foraminal_stenosis_concordant")
    if f.hardware_breakage_or_migration:
        out.append("hardware_breakage_or_migration")
    if f.hardware_malposition:
        out.append("hardware_malposition")
    if f.fluid_collection_or_abscess:
        out.append("fluid_collection_or_abscess")
    if f.facet_arthropathy_effusion:
        out.append("facet_arthropathy_effusion")
    if f.sij_degeneration:
        out.append("sij_degeneration")
    if f.modic_or_disc_degeneration_operated_level:
        out.append("disc_degeneration_or_modic_operated_level")
    if f.arachnoiditis_clumped_roots:
        out.append("arachnoiditis_clumped_roots")
    if f.no_neural_compression:
        out.append("no_neural_compression")


def imaging_features(p: ClinicalPicture, t: Thresholds) -> list[str]:
    """Features shown by any current study (a finding counts once however many studies show it)."""
    out: list[str] = []
    if not p.studies:
        return out  # fusion_status comes from the studies too
    for study in p.studies:
        _disc_and_scar(study, out)
        _alignment(study, p, t, out)
        _screws(study, t, out)
        _graded_and_flags(study, out)
    _fusion(p, t, out)
    return out
