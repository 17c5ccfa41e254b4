"""The native referral contract: section 2 of the triage brief, plus who sent it and who to exclude.

Conventions from the brief: booleans default to false, enums to "none", unknown values are null.
Patient-identifying fields (name, birth date, identifiers, free text) may travel here but must
never be logged; services log the case id only.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field

from schemas.envelope import Contract

Score0to5 = Annotated[int, Field(ge=0, le=5)]
Nrs = Annotated[int, Field(ge=0, le=10)]
Weeks = Annotated[float, Field(ge=0, le=5200)]
# Every list and string is bounded here, not only by the 1 MiB body: the referral is copied into
# events, case rows and Tasks, and a FHIR sender's lists arrive unchecked from its bundle.
# Directory ids (conflict of interest) as long as routing's directory allows (schemas/directory);
# a longer one could never name anyone to exclude.
DirectoryId = Annotated[str, Field(max_length=64)]
Label = Annotated[str, Field(max_length=200)]  # a level or myotome, as coded or as displayed
MAX_LEVELS = 30  # a long fusion spans about 17 levels
MAX_PATIENT_IDENTIFIERS = 10  # NHS number, hospital and local ids: one to three in practice
MAX_CHOICES = 20  # each list of fixed choices (character, aggravators) has fewer values than this

Procedure = Literal[
    "discectomy", "microdiscectomy", "revision_discectomy", "laminectomy_decompression",
    "laminotomy_decompression", "foraminotomy", "fusion_instrumented", "fusion_noninstrumented",
    "tlif", "plif", "alif", "acdf",
]
Character = Literal[
    "mechanical", "aching", "burning", "electric_shock", "claudicant",
    "constant_nonmechanical", "night_rest_pain",
]
Aggravator = Literal[
    "flexion_sitting", "extension_rotation", "standing_walking", "sit_to_stand",
    "transitional_movement", "coughing_sneezing",
]
Modality = Literal["mri", "mri_contrast", "ct", "ct_myelo", "xray", "xray_flexion_extension"]
NoneEquivocalPresent = Literal["none", "equivocal", "present"]


class Comorbidities(Contract):
    diabetes: bool = False
    immunosuppressed: bool = False
    cancer_history: bool = False
    osteoporosis: bool = False
    anticoagulant: bool = False
    smoker: bool = False
    iv_drug_use: bool = False


class Surgery(Contract):
    procedure: Procedure
    levels: list[Label] = Field(default_factory=list, max_length=MAX_LEVELS)
    instrumented: bool = False
    weeks_before_referral: Weeks
    # Conflict of interest: routing never offers the case to these people or bodies.
    surgeon_id: DirectoryId | None = None
    institution_id: DirectoryId | None = None
    group_id: DirectoryId | None = None


class ProposedSurgery(Contract):
    procedure: str = Field(min_length=1, max_length=200)
    levels: list[Label] = Field(default_factory=list, max_length=MAX_LEVELS)
    days_until_scheduled: int | None = Field(default=None, ge=0, le=3650)
    surgeon_id: DirectoryId | None = None
    institution_id: DirectoryId | None = None
    group_id: DirectoryId | None = None


class Symptoms(Contract):
    pain_distribution: (
        Literal["axial", "radicular", "axial_and_radicular", "buttock_groin", "diffuse_widespread"]
        | None
    ) = None
    dominant: Literal["back", "leg", "arm", "neck", "equal"] | None = None
    limb_side: Literal["none", "left", "right", "bilateral"] = "none"
    character: list[Character] = Field(default_factory=list, max_length=MAX_CHOICES)
    aggravators: list[Aggravator] = Field(default_factory=list, max_length=MAX_CHOICES)
    relief_lying: bool = False
    nrs_back: Nrs | None = None
    nrs_limb: Nrs | None = None
    vs_preop_pain: Literal["same", "different", "new_site"] | None = None


class Timeline(Contract):
    pain_free_interval_weeks: Weeks | None = None  # 0 = never relieved
    onset_weeks_after_last_surgery: Weeks | None = None
    trajectory: Literal["improving", "stable", "worsening_gradual", "worsening_rapid"] | None = None
    current_episode_days: int | None = Field(default=None, ge=0, le=36500)


class NeuroExam(Contract):
    motor_deficit: Literal["none", "mild", "severe"] = "none"  # mild = 4/5, severe = <=3/5
    motor_deficit_myotome: Label | None = None
    motor_progressing: bool = False
    bilateral_deficit: bool = False
    sensory_deficit_dermatomal: bool = False
    reflex_change: bool = False
    nerve_tension_sign: Literal["none", "left", "right", "bilateral"] = "none"
    allodynia: bool = False
    facet_loading_positive: bool = False
    sij_provocation_positive: Score0to5 | None = None
    myelopathy_signs: bool = False


class RedFlags(Contract):
    saddle_anaesthesia: bool = False
    bladder_change: Literal[
        "none", "longstanding_unchanged", "new_altered_sensation_or_hesitancy",
        "retention_or_incontinence",
    ] = "none"
    bowel_incontinence: bool = False
    sexual_dysfunction_new: bool = False
    bilateral_radicular_new_or_worsening_14d: bool = False
    fever_c: float | None = Field(default=None, ge=30, le=45)
    wound_drainage: bool = False
    wound_erythema: bool = False
    crp_mg_l: float | None = Field(default=None, ge=0, le=1000)
    crp_trend: Literal["rising", "falling", "unknown"] = "unknown"
    esr_mm_h: float | None = Field(default=None, ge=0, le=200)
    weight_loss_unexplained: bool = False
    night_pain_unremitting: bool = False
    trauma: Literal["none", "low_energy", "high_energy"] = "none"


Bothersomeness = Literal["not_at_all", "slightly", "moderately", "very_much", "extremely"]


class StartBack(Contract):
    q1_leg_pain: bool = False
    q2_shoulder_neck_pain: bool = False
    q3_walk_short_distances: bool = False
    q4_dressed_slowly: bool = False
    q5_not_safe_active: bool = False
    q6_worrying_thoughts: bool = False
    q7_terrible_never_better: bool = False
    q8_not_enjoyed: bool = False
    q9_bothersomeness: Bothersomeness


class Waddell(Contract):
    tenderness: bool = False
    simulation: bool = False
    distraction: bool = False
    regional: bool = False
    overreaction: bool | None = None  # null = not assessed (observer bias), changes the cut-off


class Instruments(Contract):
    start_back: StartBack | None = None
    odi_sections: list[Score0to5 | None] | None = Field(default=None, min_length=10, max_length=10)
    ndi_sections: list[Score0to5 | None] | None = Field(default=None, min_length=10, max_length=10)
    waddell: Waddell | None = None
    dn4: Annotated[int, Field(ge=0, le=10)] | None = None


class ImagingFindings(Contract):
    disc_herniation: Literal["none", "operated_level", "other_level", "primary"] = "none"
    contrast_pattern: (
        Literal["none", "nonenhancing_mass_rim_enhancement", "enhancing_scar_only"]
    ) = "none"
    scar_vs_disc_indeterminate: bool = False
    scar_encasing_root: bool = False
    foraminal_stenosis_concordant: bool = False
    central_stenosis: Literal["none", "mild", "moderate", "severe"] = "none"
    adjacent_level_pathology: bool | None = None  # null = not commented on
    translation_mm: float | None = Field(default=None, ge=0, le=50)
    dynamic_level_relation: Literal["none", "operated", "adjacent"] = "none"
    fusion_status: Literal["none", "solid", "incomplete", "absent"] = "none"
    screw_lucency_mm: float | None = Field(default=None, ge=0, le=20)
    hardware_breakage_or_migration: bool = False
    hardware_malposition: bool = False
    fluid_collection_or_abscess: bool = False
    discitis_osteomyelitis_signs: NoneEquivocalPresent = "none"
    facet_arthropathy_effusion: bool = False
    sij_degeneration: bool = False
    modic_or_disc_degeneration_operated_level: bool = False
    arachnoiditis_clumped_roots: bool = False
    new_fracture: NoneEquivocalPresent = "none"
    suspicious_bone_lesion: NoneEquivocalPresent = "none"
    cauda_equina_compression: NoneEquivocalPresent = "none"
    no_neural_compression: bool = False


class ImagingStudy(Contract):
    modality: Modality
    weeks_ago: Weeks | None = None
    report_text: str | None = Field(default=None, max_length=20_000)
    findings: ImagingFindings = Field(default_factory=ImagingFindings)
    # DICOM study instance UID, for the second reader (DICOM's UI type is at most 64 characters)
    study_uid: str | None = Field(default=None, max_length=64)
    reporting_radiologist_id: DirectoryId | None = None  # conflict of interest, second read
    institution_id: DirectoryId | None = None


class DiagnosticBlock(Contract):
    type: Literal["medial_branch", "sij", "snrb"]
    level: Label | None = None
    relief_pct: Annotated[int, Field(ge=0, le=100)]


class Referrer(Contract):
    """The referring system or clinician; `id` is the authenticated client id at intake."""

    id: str = Field(min_length=1, max_length=100)
    organisation: str | None = Field(default=None, max_length=200)
    contact_name: str | None = Field(default=None, max_length=200)


class PatientIdentifier(Contract):
    system: str = Field(min_length=1, max_length=200)
    value: str = Field(min_length=1, max_length=100)


class Patient(Contract):
    """Who the case is about. Only `pseudonym` may ever appear outside the case record."""

    pseudonym: str | None = Field(default=None, max_length=100)
    jurisdiction: str | None = Field(default=None, max_length=20)  # e.g. GB-ENG, US-CA
    preferred_language: str | None = Field(default=None, max_length=20)  # BCP 47, e.g. en, de
    name: str | None = Field(default=None, max_length=200)
    birth_date: date | None = None
    identifiers: list[PatientIdentifier] = Field(default_factory=list,
                                                  max_length=MAX_PATIENT_IDENTIFIERS)


class Narrative(Contract):
    """One piece of the referrer's free text and where it came from (triage reads it)."""

    source: str = Field(min_length=1, max_length=200)  # e.g. ServiceRequest.note, a letter
    text: str = Field(min_length=1, max_length=20_000)  # free text: never log


# The referrer's own priority (FHIR ServiceRequest.priority): a floor on urgency, never a ceiling.
ReferrerPriority = Literal["routine", "urgent", "asap", "stat"]


class Referral(Contract):
    """One second-opinion referral as referral systems post it (JSON) or intake maps it (FHIR)."""

    referral_id: str = Field(min_length=1, max_length=100)
    referral_type: Literal["post_surgery", "pre_surgery"]
    region: Literal["lumbar", "cervical", "thoracic"]
    age: int = Field(ge=0, le=120)
    sex: Literal["F", "M", "X"]
    referrer: Referrer | None = None
    patient: Patient = Field(default_factory=Patient)
    comorbidities: Comorbidities = Field(default_factory=Comorbidities)
    surgeries: list[Surgery] = Field(default_factory=list, max_length=30)
    proposed_surgery: ProposedSurgery | None = None
    symptoms: Symptoms = Field(default_factory=Symptoms)
    timeline: Timeline = Field(default_factory=Timeline)
    neuro_exam: NeuroExam = Field(default_factory=NeuroExam)
    red_flags: RedFlags = Field(default_factory=RedFlags)
    instruments: Instruments = Field(default_factory=Instruments)
    imaging: list[ImagingStudy] = Field(default_factory=list, max_length=50)
    diagnostic_blocks: list[DiagnosticBlock] = Field(default_factory=list, max_length=30)
    related_case_ids: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=20)
    clinical_question: str | None = Field(default=None, max_length=5_000)  # free text: never log
    # Further free text (letters, notes, reason text); triage reads every one. Never log.
    narratives: list[Narrative] = Field(default_factory=list, max_length=20)
    referrer_priority: ReferrerPriority | None = None
