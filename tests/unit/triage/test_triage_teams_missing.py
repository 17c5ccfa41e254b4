"""Section 5.3 teams and must_exclude, and missing_data degrading gracefully."""

from __future__ import annotations

from typing import Any

from schemas.referral import Referral
from services.triage.engine import triage_referral
from tests.unit.triage.builders import pre_surgery, referral, study

LOW_BACK = {"dominant": "back", "pain_distribution": "axial", "nrs_limb": 0}


def test_must_exclude_is_apart_from_the_ranking() -> None:
    result = triage_referral(referral(red_flags={"weight_loss_unexplained": True,
                                                 "night_pain_unremitting": True}))
    assert result.must_exclude == ["malignancy"]
    assert "malignancy" not in [c.cause for c in result.likely_causes]


def test_facet_pain_goes_to_pain_medicine_and_physio() -> None:
    result = triage_referral(referral(
        symptoms={**LOW_BACK, "aggravators": ["extension_rotation"]},
        diagnostic_blocks=[{"type": "medial_branch", "relief_pct": 85}]))
    assert result.likely_causes[0].cause == "facet_joint_pain"
    assert result.required_teams == ["pain_medicine", "physio_rehab"]
    assert "spine_surgery" in result.optional_teams


def test_fibrosis_with_distress_needs_psychology_rather_than_physio() -> None:
    def teams(**instruments: Any) -> list[str]:
        return triage_referral(referral(
            imaging=[study("mri_contrast", contrast_pattern="enhancing_scar_only")],
            symptoms={"dominant": "leg", "pain_distribution": "radicular"},
            instruments=instruments)).required_teams
    assert "physio_rehab" in teams()
    distressed = teams(waddell={"tenderness": True, "regional": True})
    assert "psychology" in distressed and "pain_medicine" in distressed


def test_required_teams_never_empty_and_never_also_optional() -> None:
    for r in (referral(), pre_surgery(), referral(symptoms=LOW_BACK)):
        result = triage_referral(r)
        assert result.required_teams
        assert not set(result.required_teams) & set(result.optional_teams)


def test_minimal_referral_lists_what_is_missing_without_crashing() -> None:
    r = Referral.model_validate({"referral_id": "m", "referral_type": "post_surgery",
                                 "region": "lumbar", "age": 50, "sex": "X"})
    result = triage_referral(r)
    assert result.surgery_class == "pre_surgery"
    heads = {m.split(":")[0] for m in result.missing_data}
    assert {"neuro_exam", "red_flags", "symptoms", "surgeries", "imaging",
            "instruments.start_back", "instruments.odi_sections"} <= heads
    assert result.likely_causes and result.required_teams


def test_missing_timeline_named_after_surgery() -> None:
    result = triage_referral(referral())
    assert any(m.startswith("timeline: nothing recorded") for m in result.missing_data)
    given = triage_referral(referral(timeline={"trajectory": "stable"}))
    heads = [m.split(":")[0] for m in given.missing_data]
    assert "timeline.onset_weeks_after_last_surgery" in heads
    assert "timeline.trajectory" not in heads


def test_cervical_asks_for_ndi_not_odi() -> None:
    result = triage_referral(referral(region="cervical"))
    assert "instruments.ndi_sections" in result.missing_data
    assert "instruments.odi_sections" not in result.missing_data


def test_infection_signs_without_crp_are_reported() -> None:
    result = triage_referral(referral(red_flags={"wound_drainage": True}))
    assert any(m.startswith("red_flags.crp_mg_l") for m in result.missing_data)


def test_imaging_without_report_text_is_reported() -> None:
    result = triage_referral(referral(imaging=[study()]))
    assert any(m.startswith("imaging.report_text") for m in result.missing_data)


def test_unanswered_odi_is_missing_not_a_crash() -> None:
    result = triage_referral(referral(instruments={"odi_sections": [None] * 10}))
    assert result.instruments.odi is None
    assert "instruments.odi_sections" in result.missing_data


def test_missing_data_survives_the_wire_format() -> None:
    # Intake sends every default on the wire: a defaulted section must still read as missing.
    sparse = referral(symptoms={"nrs_back": 4})
    over_the_wire = Referral.model_validate_json(sparse.model_dump_json())
    assert triage_referral(over_the_wire).missing_data == triage_referral(sparse).missing_data
    assert any(m.startswith("neuro_exam:") for m in triage_referral(over_the_wire).missing_data)
