"""Section 3.1: one test per red-flag rule, with the boundaries the brief names."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.referral import Referral
from services.triage.engine import triage_referral
from tests.unit.triage.builders import fired, referral, study, triage


def early(weeks: float, **overrides: Any) -> Referral:
    return referral(surgeries=[{"procedure": "microdiscectomy", "weeks_before_referral": weeks}],
                    **overrides)


def test_nothing_fires_on_a_plain_referral() -> None:
    result = triage()
    assert result.urgency == "routine"
    assert result.fired_rules == []
    assert result.emergency_pathway is False


@pytest.mark.parametrize(
    "red_flags",
    [
        {"saddle_anaesthesia": True},
        {"bladder_change": "new_altered_sensation_or_hesitancy"},
        {"bladder_change": "retention_or_incontinence"},
        {"bowel_incontinence": True},
        {"sexual_dysfunction_new": True},
    ],
)
def test_rf1_ces_established_is_emergency(red_flags: dict[str, Any]) -> None:
    result = triage(red_flags=red_flags)
    assert fired(result)["RF1_CES_established"] == "emergency"
    assert result.urgency == "emergency" and result.emergency_pathway
    assert result.required_teams == ["emergency_department", "spine_surgery"]
    assert result.optional_teams == []
    assert "cauda_equina_syndrome" in result.must_exclude


def test_rf1_longstanding_unchanged_bladder_does_not_fire() -> None:
    result = triage(red_flags={"bladder_change": "longstanding_unchanged"})
    assert "RF1_CES_established" not in fired(result)
    assert result.urgency == "routine"


def test_rf2_new_bilateral_radicular_is_emergency() -> None:
    result = triage(red_flags={"bilateral_radicular_new_or_worsening_14d": True})
    assert fired(result)["RF2_CES_suspected_bilateral"] == "emergency"


def test_rf2_chronic_stable_bilateral_claudication_does_not_fire() -> None:
    result = triage(
        symptoms={"limb_side": "bilateral", "character": ["claudicant"], "dominant": "leg"},
        timeline={"trajectory": "stable", "current_episode_days": 400},
        neuro_exam={"bilateral_deficit": False},
    )
    assert "RF2_CES_suspected_bilateral" not in fired(result)
    assert result.urgency == "routine"


def test_rf3_progressing_motor_deficit_is_emergency() -> None:
    result = triage(neuro_exam={"motor_deficit": "mild", "motor_progressing": True})
    assert fired(result)["RF3_progressive_or_severe_deficit"] == "emergency"


@pytest.mark.parametrize(("days", "fires"), [(14, True), (15, False), (0, True)])
def test_rf3_severe_deficit_episode_14_day_boundary(days: int, fires: bool) -> None:
    result = triage(neuro_exam={"motor_deficit": "severe"},
                    timeline={"current_episode_days": days})
    assert ("RF3_progressive_or_severe_deficit" in fired(result)) is fires


def test_rf3_severe_deficit_unknown_duration_is_reported_missing() -> None:
    result = triage(neuro_exam={"motor_deficit": "severe"})
    assert "RF3_progressive_or_severe_deficit" not in fired(result)
    assert any(m.startswith("timeline.current_episode_days") for m in result.missing_data)


def test_rf4_imaging_compression_present_is_emergency() -> None:
    result = triage(imaging=[study(cauda_equina_compression="present")])
    assert fired(result)["RF4_imaging_neural_compression"] == "emergency"


def test_rf4_equivocal_compression_needs_ces_symptoms() -> None:
    alone = triage(imaging=[study(cauda_equina_compression="equivocal")])
    assert "RF4_imaging_neural_compression" not in fired(alone)
    with_flag = triage(imaging=[study(cauda_equina_compression="equivocal")],
                       red_flags={"bilateral_radicular_new_or_worsening_14d": True})
    assert "RF4_imaging_neural_compression" in fired(with_flag)


@pytest.mark.parametrize(
    ("red_flags", "imaging"),
    [
        ({"wound_drainage": True}, []),
        ({"wound_erythema": True}, []),
        ({"crp_mg_l": 40}, []),
        ({}, [study(discitis_osteomyelitis_signs="equivocal")]),
        ({}, [study(fluid_collection_or_abscess=True)]),
    ],
)
def test_rf5_fever_plus_infection_sign_is_emergency(
    red_flags: dict[str, Any], imaging: list[dict[str, Any]]
) -> None:
    result = triage(red_flags={"fever_c": 38.0, **red_flags}, imaging=imaging)
    assert fired(result)["RF5_postop_infection_systemic"] == "emergency"
    assert "infection" in result.must_exclude


def test_rf5_fever_below_38_is_not_fever() -> None:
    result = triage(red_flags={"fever_c": 37.9, "wound_drainage": True})
    assert "RF5_postop_infection_systemic" not in fired(result)
    assert fired(result)["RF6_infection_suspected_non_septic"] == "urgent"


def test_rf6_infection_sign_without_fever_is_urgent() -> None:
    result = triage(red_flags={"wound_erythema": True})
    assert fired(result) == {"RF6_infection_suspected_non_septic": "urgent"}
    assert result.urgency == "urgent"
    assert {"spine_surgery", "infectious_disease"} <= set(result.required_teams)


@pytest.mark.parametrize(("weeks", "fires"), [(6, True), (6.5, False)])
def test_rf6_fever_alone_only_within_6_weeks(weeks: float, fires: bool) -> None:
    result = triage_referral(early(weeks, red_flags={"fever_c": 38.5}))
    assert ("RF6_infection_suspected_non_septic" in fired(result)) is fires


@pytest.mark.parametrize(
    ("weeks", "crp", "abnormal"),
    [
        (2, 100, False),  # <= 2 weeks: only > 100 counts
        (2, 101, True),
        (2.2, 11, True),  # > 2 weeks: > 10 counts
        (3, 10, False),
        (30, 10.5, True),
    ],
)
def test_crp_abnormal_for_postop_day(weeks: float, crp: float, abnormal: bool) -> None:
    result = triage_referral(early(weeks, red_flags={"crp_mg_l": crp}))
    assert ("RF6_infection_suspected_non_septic" in fired(result)) is abnormal


@pytest.mark.parametrize(("weeks", "abnormal"), [(3 / 7, False), (4 / 7, True)])
def test_rising_crp_counts_after_postop_day_3(weeks: float, abnormal: bool) -> None:
    result = triage_referral(early(weeks, red_flags={"crp_mg_l": 60, "crp_trend": "rising"}))
    assert ("RF6_infection_suspected_non_septic" in fired(result)) is abnormal


@pytest.mark.parametrize(
    ("comorbidities", "red_flags", "imaging"),
    [
        ({}, {}, [study(suspicious_bone_lesion="equivocal")]),
        ({"cancer_history": True}, {"night_pain_unremitting": True}, []),
        ({"cancer_history": True}, {"weight_loss_unexplained": True}, []),
        ({}, {"weight_loss_unexplained": True, "night_pain_unremitting": True}, []),
    ],
)
def test_rf8_malignancy_suspected_is_urgent(
    comorbidities: dict[str, Any], red_flags: dict[str, Any], imaging: list[dict[str, Any]]
) -> None:
    result = triage(comorbidities=comorbidities, red_flags=red_flags, imaging=imaging)
    assert fired(result)["RF8_malignancy_suspected"] == "urgent"
    assert "malignancy" in result.must_exclude
    assert {"oncology", "spine_radiology", "spine_surgery"} <= set(result.required_teams)


def test_rf8_cancer_history_alone_does_not_fire() -> None:
    assert "RF8_malignancy_suspected" not in fired(triage(comorbidities={"cancer_history": True}))


@pytest.mark.parametrize("exam", [{"motor_deficit": "mild"}, {"myelopathy_signs": True}])
def test_rf8_with_deficit_is_emergency(exam: dict[str, Any]) -> None:
    result = triage(imaging=[study(suspicious_bone_lesion="present")], neuro_exam=exam)
    assert fired(result)["RF8_malignancy_suspected"] == "emergency"


def test_rf9_high_energy_trauma_is_emergency() -> None:
    result = triage(red_flags={"trauma": "high_energy"})
    assert fired(result)["RF9_fracture_high_energy"] == "emergency"


@pytest.mark.parametrize(
    ("age", "osteoporosis", "fires"),
    [(65, False, True), (64, False, False), (40, True, True)],
)
def test_rf9_low_energy_needs_osteoporosis_or_age_65(
    age: int, osteoporosis: bool, fires: bool
) -> None:
    result = triage(age=age, comorbidities={"osteoporosis": osteoporosis},
                    red_flags={"trauma": "low_energy"})
    assert ("RF9_fracture_low_energy" in fired(result)) is fires


def test_rf9_new_fracture_on_imaging_urgent_and_emergency_with_deficit() -> None:
    assert fired(triage(imaging=[study(new_fracture="equivocal")]))[
        "RF9_fracture_low_energy"] == "urgent"
    with_deficit = triage(imaging=[study(new_fracture="present")],
                          neuro_exam={"motor_deficit": "mild"})
    assert fired(with_deficit)["RF9_fracture_low_energy"] == "emergency"


@pytest.mark.parametrize("finding", ["hardware_breakage_or_migration", "hardware_malposition"])
def test_rf10_implant_failure_is_urgent(finding: str) -> None:
    result = triage(imaging=[study("ct", **{finding: True})])
    assert fired(result) == {"RF10_implant_failure": "urgent"}
    assert result.must_exclude == ["hardware_failure"]


@pytest.mark.parametrize(("weeks", "fires"), [(6, True), (6.1, False)])
def test_rf11_early_postop_deficit_6_week_boundary(weeks: float, fires: bool) -> None:
    result = triage_referral(early(weeks, neuro_exam={"motor_deficit": "mild"}))
    assert ("RF11_early_postop_new_deficit" in fired(result)) is fires
    assert (result.urgency == "emergency") is fires


def test_rf11_early_postop_deficit_names_haematoma_to_exclude() -> None:
    result = triage_referral(early(2, neuro_exam={"motor_deficit": "mild"}))
    assert result.must_exclude == ["epidural_hematoma", "recurrent_disc_herniation"]


@pytest.mark.parametrize(
    ("nrs", "vs_preop", "fires"),
    [(7, "different", True), (6, "different", False), (9, "same", False), (8, "new_site", True)],
)
def test_rf11_early_postop_radicular_pain(nrs: int, vs_preop: str, fires: bool) -> None:
    result = triage_referral(early(3, symptoms={"dominant": "leg", "nrs_limb": nrs,
                                                "vs_preop_pain": vs_preop}))
    assert ("RF11_early_postop_new_radicular_pain" in fired(result)) is fires


def test_highest_level_wins() -> None:
    result = triage(red_flags={"wound_erythema": True, "saddle_anaesthesia": True},
                    neuro_exam={"motor_deficit": "mild"})
    assert set(fired(result).values()) == {"emergency", "urgent", "soon"}
    assert result.urgency == "emergency"


def test_psychosocial_flags_never_lower_a_progressive_deficit() -> None:
    result = triage(
        neuro_exam={"motor_deficit": "severe", "motor_progressing": True},
        instruments={"waddell": {"tenderness": True, "simulation": True, "distraction": True,
                                 "regional": True, "overreaction": True},
                     "start_back": {"q5_not_safe_active": True, "q6_worrying_thoughts": True,
                                    "q7_terrible_never_better": True, "q8_not_enjoyed": True,
                                    "q9_bothersomeness": "extremely"}},
        symptoms={"pain_distribution": "diffuse_widespread"},
    )
    assert result.urgency == "emergency"
    assert result.likely_causes[0].cause == "psychosocial_chronic_pain"
    assert result.required_teams == ["emergency_department", "spine_surgery"]
