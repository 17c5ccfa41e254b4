"""Referrals written in the United States (blind US table, 2026-11-29): a review of systems'
denials, discharge precautions, lay words for bowels, bladder and erections, CRP in mg/dL after a
month-first date, and symptoms dated or unchanged since the surgery."""

from __future__ import annotations

from datetime import date

import pytest

from schemas.referral import Referral
from services.triage.engine import triage_referral
from tests.unit.triage.text.test_text_blind_narratives import US


def rules(text: str) -> set[str]:
    result = triage_referral(Referral.model_validate({**US, "clinical_question": text}),
                             as_of=date(2026, 11, 27))
    return {r.rule_id for r in result.fired_rules}


@pytest.mark.parametrize(("text", "rule"), [
    ("For the last 2 days I've been pooping my pants and I don't feel it happen.",
     "RF1_CES_established"),
    ("Can't get it up since the weekend, first time in my life.", "RF1_CES_established"),
    ("Lost control of my bladder at work yesterday, completely soaked my pants.",
     "RF1_CES_established"),
    ("Rear-ended on I-35 Tuesday, my truck was totaled and the airbags went off.",
     "RF9_fracture_high_energy"),
    ("LabCorp 11/23: C-Reactive Protein 18 mg/L (ref 0-10) H. No fever, incision healed.",
     "RF6_infection_suspected_non_septic"),
    ("Outside labs: | CRP 11/10/26: 1.6 mg/dL (H) | Temp < 99 F. Wound healed.",  # 16 mg/L
     "RF6_infection_suspected_non_septic"),
    ("Tmax 100.3 F yesterday. My wife says my scar is a lot redder than last week.",
     "RF6_infection_suspected_non_septic"),
    ("CT 11/20: R L4 screw malpositioned laterally with partial pullout.", "RF10_implant_failure"),
])
def test_us_words_for_red_flags_are_read(text: str, rule: str) -> None:
    assert rule in rules(text)


@pytest.mark.parametrize("text", [
    "ROS: Denies fever, chills, saddle anesthesia, bowel/bladder incontinence, urinary retention, "
    "new weakness. | PE: Incision well healed.",
    "Discharge instructions given: Call 911 or go to the ER for new numbness in the groin or "
    "buttocks, loss of bladder or bowel control, fever over 101 F, redness or drainage from the "
    "incision, or weakness in the legs. | Pt verbalized understanding.",
    "Patient with persistent bilateral buttock pain, worse with sit-to-stand, 3/5 positive "
    "provocation tests bilaterally. No red flag symptoms.",
    "Erectile dysfunction since my diabetes diagnosis in 2019, on Cialis, no change after "
    "surgery. Bladder normal.",
    "Tingling in both feet since 10/11, same every day since, not spreading. No weakness.",
    "I'm fine, but my neighbor who had the same surgery ended up with a foot drop and trouble "
    "peeing, which scares me.",
    "Exam: R EHL 4/5 since early Nov, unchanged on repeat exam today; sensation intact.",
])
def test_us_denials_precautions_and_old_or_other_people_s_symptoms_fire_no_emergency(
    text: str
) -> None:
    assert not rules(text) & {"RF1_CES_established", "RF2_CES_suspected_bilateral",
                              "RF3_progressive_or_severe_deficit", "RF5_postop_infection_systemic"}


def test_new_bilateral_tingling_within_fourteen_days_still_fires() -> None:
    assert "RF2_CES_suspected_bilateral" in rules(
        "Tingling in both feet since 11/20, worse every day. No weakness.")


def test_an_osteophyte_compressing_the_root_is_concordant_compression() -> None:
    text = ("A&P: R L5 radiculopathy, leg >> back (leg 8/10, back 2/10), constant burning lateral "
            "shin and top of foot, not claudicant. CT myelogram 11/17: R L5-S1 foraminal "
            "osteophyte compressing the exiting R L5 root.")
    assert "MOD_limb_pain_concordant_compression" in rules(text)


def test_a_question_about_loose_screws_is_no_finding_of_them() -> None:
    text = ('"there\'s a 2 mm halo around the L4 screws" is what the radiologist told me. I want '
            "a second opinion on whether the screws are loose. No fever, legs fine.")
    assert "RF10_implant_failure" not in rules(text)


@pytest.mark.parametrize("text", [  # review 22: a denial reached the positives after it
    "ROS: denies fever/chills, positive for saddle anesthesia and urinary retention x2 days.",
    "ROS: Denies fever, chills, endorses saddle anesthesia and urinary retention since yesterday.",
    "ROS: Denies fever, chills, weight loss, + saddle anesthesia, + urinary retention.",
    "Both legs weak since 10/01, not getting better, worse over the last 3 days.",
])
def test_a_review_of_systems_positive_or_a_worsening_is_read(text: str) -> None:
    assert rules(text) & {"RF1_CES_established", "RF2_CES_suspected_bilateral"}


def test_a_crp_in_mg_per_decilitre_before_a_full_stop_is_ten_times_the_number() -> None:
    # 12.4 mg/dL is 124 mg/L: with the fever, RF5
    assert "RF5_postop_infection_systemic" in rules(
        "C-Reactive Protein 12.4 mg/dL. Tmax 101.3 F. Wound oozing.")


def test_a_field_answered_denies_denies_its_own_label_only() -> None:
    # second review of review 22 (wrong at f15936a too): the answer reached back over the comma
    # to the finding before it
    assert "RF1_CES_established" in rules(
        "Urinary retention, saddle anaesthesia - denies; bowels normal.")
    assert "RF1_CES_established" not in rules(
        "Red flags discussed: saddle anaesthesia - denies; bladder - normal; bowel - normal.")
