"""What the referral lacked, and what the engine therefore did not assess (never guess silently)."""

from __future__ import annotations

from pydantic import BaseModel

from schemas.referral import NeuroExam, RedFlags, Referral, Symptoms, Timeline
from schemas.triage import InstrumentScores
from services.triage.engine.picture import ClinicalPicture

# A section equal to its defaults recorded nothing. (Whether it was sent cannot be told: the
# wire format carries every default, so pydantic's fields_set is no help after intake.)
SECTION_DEFAULTS: dict[str, BaseModel] = {
    "symptoms": Symptoms(), "neuro_exam": NeuroExam(), "red_flags": RedFlags(),
    "timeline": Timeline(),
}
SECTION_NOTES = {
    "symptoms": "symptoms: no pain description; pain-pattern features not applied",
    "neuro_exam": "neuro_exam: nothing recorded (normal or not examined); deficits cannot be "
                  "excluded",
    "red_flags": "red_flags: none recorded (absent or not screened); no red flag fired, which "
                 "is not reassurance",
}
# field -> the missing_data item when it is unset
SYMPTOM_ITEMS = {name: f"symptoms.{name}" for name in (
    "pain_distribution", "dominant", "nrs_back", "nrs_limb")}
TIMELINE_ITEMS = {
    "onset_weeks_after_last_surgery":
        "timeline.onset_weeks_after_last_surgery: timing multipliers not applied",
    "pain_free_interval_weeks":
        "timeline.pain_free_interval_weeks: pain-free interval multipliers not applied",
    "trajectory": "timeline.trajectory: cannot tell improving from worsening",
}


def _sections(r: Referral, given: set[str], out: list[str]) -> None:
    for section, note in SECTION_NOTES.items():
        if section not in given:
            out.append(note)
    if r.referral_type == "post_surgery" and not r.surgeries:
        out.append("surgeries: post-surgery referral without a surgery; pre-surgery priors used")
    if r.referral_type == "pre_surgery" and r.proposed_surgery is None:
        out.append("proposed_surgery: pre-surgery referral without the proposed procedure")


def _history(p: ClinicalPicture, given: set[str], out: list[str]) -> None:
    r = p.referral
    if "symptoms" in given:
        for name, item in SYMPTOM_ITEMS.items():
            if getattr(r.symptoms, name) is None:
                out.append(item)
    if p.weeks_since_surgery is not None:
        if "timeline" not in given:
            out.append("timeline: nothing recorded; timing and pain-free interval not applied")
        else:
            for name, item in TIMELINE_ITEMS.items():
                if getattr(r.timeline, name) is None:
                    out.append(item)
    if r.neuro_exam.motor_deficit == "severe" and r.timeline.current_episode_days is None:
        out.append("timeline.current_episode_days: severe deficit of unknown duration; "
                   "RF3 acute criterion not assessable")
    if (p.fever or p.infection_signs) and r.red_flags.crp_mg_l is None:
        out.append("red_flags.crp_mg_l: infection signs without a CRP value")


def _imaging(p: ClinicalPicture, out: list[str]) -> None:
    r = p.referral
    if not r.imaging:
        out.append("imaging: no imaging study; imaging features and second read not assessed")
        return
    if not p.studies:
        out.append("imaging: every study predates the last surgery and was not used")
        return
    if not any(s.report_text for s in p.studies):
        out.append("imaging.report_text: no report text; second-read lexicon not applied")
    if p.weeks_since_surgery is not None and any(s.weeks_ago is None for s in p.studies):
        out.append("imaging.weeks_ago: study date unknown; assumed after the last surgery")
    if p.surgery_class == "fusion" and p.fusion_status == "none":
        out.append("imaging.findings.fusion_status: fusion not assessed (fine-cut CT is the "
                   "reference test)")


def _instruments(r: Referral, scores: InstrumentScores, out: list[str]) -> None:
    if scores.start_back is None:
        out.append("instruments.start_back")
    if r.region == "cervical" and scores.ndi is None:
        out.append("instruments.ndi_sections")
    if r.region != "cervical" and scores.odi is None:
        out.append("instruments.odi_sections")


def missing_data(p: ClinicalPicture, scores: InstrumentScores) -> list[str]:
    """Each gap as "field.path: consequence", in a stable order."""
    r = p.referral
    given = {
        name for name, default in SECTION_DEFAULTS.items()
        if getattr(r, name).__dict__ != default.__dict__  # plain field comparison: hot path
    }
    out: list[str] = []
    _sections(r, given, out)
    _history(p, given, out)
    _imaging(p, out)
    _instruments(r, scores, out)
    return out
