"""Red flags read from free text alone (issue 9): each rule in clinical and lay wording.

Every case is a post-discectomy referral (40 weeks ago) with no structured red flags, so any
rule that fires was raised by the text.
"""

from __future__ import annotations

import pytest

from schemas.triage import FROM_FREE_TEXT
from tests.unit.triage.builders import fired, triage


def said(text: str, **overrides: object):  # type: ignore[no-untyped-def]
    return triage(clinical_question=text, **overrides)


# The issue's table, word for word.
ISSUE_TABLE = [
    ("Woke up unable to feel the toilet paper when wiping and has wet herself twice today; "
     "pain down both legs.", "emergency", "RF1_CES_established"),
    ("Both legs painful since the weekend and new difficulty starting to pee.", "emergency",
     "RF1_CES_established"),
    ("Right foot now drags and slaps when she walks; she could lift it fine last week.",
     "emergency", "RF3_progressive_or_severe_deficit"),
    ("Wound is hot, red and leaking pus; temperature 38.9 and shaking episodes overnight.",
     "emergency", "RF5_postop_infection_systemic"),
    ("On chemotherapy; new ooze from the wound and night sweats this week.", "urgent",
     "RF6_infection_suspected_non_septic"),
]


@pytest.mark.parametrize(("text", "urgency", "rule"), ISSUE_TABLE)
def test_the_issue_examples_come_out_as_the_issue_says(text: str, urgency: str, rule: str) -> None:
    result = said(text)
    assert result.urgency == urgency
    assert rule in fired(result)
    assert result.emergency_pathway == (urgency == "emergency")


def test_the_negated_example_stays_routine_and_says_what_was_set_aside() -> None:
    result = said("Denies any numbness in the saddle area; bladder and bowels normal.")
    assert result.urgency == "routine"
    assert result.fired_rules == []
    assert [(s.concept, s.reason) for s in result.set_aside] == [("saddle_anaesthesia", "negated")]
    assert result.text_evidence[0].ref == result.set_aside[0].id


RULE_WORDINGS = [
    # RF1: clinical and lay
    ("Saddle anaesthesia since yesterday.", "RF1_CES_established", "emergency"),
    ("Painless urinary retention, residual 600 ml.", "RF1_CES_established", "emergency"),
    ("Her husband says she has wet herself twice.", "RF1_CES_established", "emergency"),
    ("He can't pee properly since Tuesday.", "RF1_CES_established", "emergency"),
    ("Faecal incontinence this morning.", "RF1_CES_established", "emergency"),
    ("He soiled himself last night without noticing.", "RF1_CES_established", "emergency"),
    ("New erectile dysfunction with the back pain.", "RF1_CES_established", "emergency"),
    ("Numb bum and can't feel when she is wiping.", "RF1_CES_established", "emergency"),
    ("Reduced anal tone on PR.", "RF1_CES_established", "emergency"),
    ("Query cauda equina syndrome.", "RF1_CES_established", "emergency"),
    ("Urgent MRI to exclude cauda equina please.", "RF1_CES_established", "emergency"),
    # RF2
    ("New bilateral sciatica over the last five days.", "RF2_CES_suspected_bilateral",
     "emergency"),
    ("Pain shooting down both legs since Friday.", "RF2_CES_suspected_bilateral", "emergency"),
    # RF3
    ("Progressive weakness of ankle dorsiflexion.", "RF3_progressive_or_severe_deficit",
     "emergency"),
    ("Her left leg is getting weaker by the day.", "RF3_progressive_or_severe_deficit",
     "emergency"),
    ("New foot drop this week.", "RF3_progressive_or_severe_deficit", "emergency"),
    # RF5 (fever + wound) and RF6 (wound alone)
    ("Febrile at 39C with pus from the wound.", "RF5_postop_infection_systemic", "emergency"),
    ("Temp 101.5 F and the scar is red and swollen.", "RF5_postop_infection_systemic",
     "emergency"),
    ("Discharge from the wound but no fever.", "RF6_infection_suspected_non_septic", "urgent"),
    ("Scar is red and hot to touch.", "RF6_infection_suspected_non_septic", "urgent"),
    ("MRI shows discitis at L4-5.", "RF6_infection_suspected_non_septic", "urgent"),
    # RF8
    ("History of breast cancer, now night pain and weight loss.", "RF8_malignancy_suspected",
     "urgent"),
    ("Lost 8 kg without trying and the pain wakes him at night.", "RF8_malignancy_suspected",
     "urgent"),
    # RF9
    ("Back pain since a car crash on Saturday.", "RF9_fracture_high_energy", "emergency"),
    ("Fell from a ladder at work last week.", "RF9_fracture_high_energy", "emergency"),
    ("Osteoporosis; had a fall at home on Monday.", "RF9_fracture_low_energy", "urgent"),
    # RF10
    ("X-ray shows a broken rod on the left.", "RF10_implant_failure", "urgent"),
    ("The screws have loosened according to the CT.", "RF10_implant_failure", "urgent"),
]


@pytest.mark.parametrize(("text", "rule", "level"), RULE_WORDINGS)
def test_each_rule_fires_from_text_alone(text: str, rule: str, level: str) -> None:
    result = said(text)
    assert fired(result).get(rule) == level, [r.rule_id for r in result.fired_rules]
    text_rule = next(r for r in result.fired_rules if r.rule_id == rule)
    assert FROM_FREE_TEXT in text_rule.reason
    assert any(rule in f.rules for f in result.text_findings)


def test_fired_reason_names_finding_ids_never_patient_text() -> None:
    result = said("Woke up unable to feel the toilet paper when wiping.")
    reason = result.fired_rules[0].reason
    assert "toilet" not in reason and "tf1" in reason
    assert "feel the toilet" in result.text_evidence[0].span
    assert "toilet paper" in result.text_evidence[0].sentence


def test_a_temperature_below_38_is_set_aside_not_a_fever() -> None:
    result = said("Temperature 37.4 and the wound is leaking.")
    assert fired(result) == {"RF6_infection_suspected_non_septic": "urgent"}
    assert ("fever", "below_threshold") in [(s.concept, s.reason) for s in result.set_aside]


@pytest.mark.parametrize(("text", "urgency"), [
    ("Post-void residual 199 ml.", "routine"),
    ("Post-void residual 200 ml.", "emergency"),  # the rule table's 200 mL counts
    ("Post-void residual 1,200 ml.", "emergency"),  # a thousands comma, not 1.2 mL
])
def test_a_written_residual_volume_is_retention_from_the_rule_tables_threshold(
    text: str, urgency: str
) -> None:
    result = said(text)
    assert result.urgency == urgency
    if urgency == "routine":
        assert ("post_void_residual", "below_threshold") in [
            (s.concept, s.reason) for s in result.set_aside]
    else:
        assert fired(result) == {"RF1_CES_established": "emergency"}
        assert result.text_findings[0].value == "retention_or_incontinence"


def test_a_decimal_comma_temperature_is_a_fever() -> None:
    result = said("Temp 38,5 and the wound is leaking.")
    assert fired(result) == {"RF5_postop_infection_systemic": "emergency"}


def test_fluid_retention_is_neither_urinary_retention_nor_a_finding() -> None:
    result = said("Fluid retention in the ankles since starting amlodipine.")
    assert result.urgency == "routine"
    assert result.text_findings == [] and result.set_aside == []


def test_a_walking_distance_is_explained_not_paralysis() -> None:
    result = said("Unable to walk far because of leg pain.")
    assert result.urgency == "routine"
    assert ("paralysis", "explained") in [(s.concept, s.reason) for s in result.set_aside]


def test_early_postop_weakness_from_text_uses_the_structured_timing_rule() -> None:
    result = said("New weakness of the right leg.",
                  surgeries=[{"procedure": "microdiscectomy", "weeks_before_referral": 3}])
    assert fired(result)["RF11_early_postop_new_deficit"] == "emergency"


def test_a_text_flag_never_lowers_what_the_structured_flags_raised() -> None:
    result = said("Denies saddle numbness.", red_flags={"saddle_anaesthesia": True})
    assert result.urgency == "emergency"
    assert FROM_FREE_TEXT not in result.fired_rules[0].reason


def test_cause_features_fill_only_absent_structured_fields() -> None:
    text = "Mainly leg pain, worse on sitting. Never got better after surgery."
    result = said(text)
    concepts = {f.concept for f in result.text_findings}
    assert {"leg_dominant_pain", "pain_on_sitting", "never_relieved_by_surgery"} <= concepts
    coded = said(text, symptoms={"dominant": "back", "aggravators": ["standing_walking"]})
    assert not {"leg_dominant_pain", "pain_on_sitting"} & {f.concept for f in coded.text_findings}


@pytest.mark.parametrize(("report", "size"), [
    ("The lucency around the right S1 screw has increased to 2 mm.", 2.0),
    ("2.5 mm lucency surrounding both L4 screws.", 2.5),
    ("Haloing around the left L4 pedicle screw measuring 1.5 mm.", 1.5),
    ("Periscrew lucency at L5.", 1.0),  # no size: the least the brief counts
])
def test_a_screw_lucency_is_read_in_millimetres_never_from_a_level(report: str,
                                                                    size: float) -> None:
    result = triage(imaging=[{"modality": "ct", "weeks_ago": 1, "report_text": report}])
    assert [(f.field, f.value) for f in result.text_findings] == [
        ("imaging.screw_lucency_mm", size)]
    assert fired(result) == {"MOD_suspected_nonunion": "soon"}
