"""Years after a fusion (blind late table, 2026-11-29): a nonunion written in a report or a
letter, lucencies given as a bound, a weekday after "since", and a night slept through."""

from __future__ import annotations

from datetime import date

from services.triage.engine import triage_referral
from services.triage.engine.text.days import days_ago
from services.triage.engine.text.values import millimetres
from tests.unit.triage.builders import fired, referral, study

FUSED = [{"procedure": "tlif", "levels": ["L4-L5"], "weeks_before_referral": 150}]


def late(text: str, weeks: float = 150, **sections: object):  # type: ignore[no-untyped-def]
    surgeries = [{**FUSED[0], "weeks_before_referral": weeks}]
    return triage_referral(referral(surgeries=surgeries, clinical_question=text, **sections),
                           as_of=date(2026, 11, 27))


def test_a_nonunion_in_the_text_is_the_brief_s_suspected_nonunion_a_year_on() -> None:
    for text in ('CT 02/11/2026: "features in keeping with non-union (pseudarthrosis)".',
                 "Fine-cut CT shows failed fusion at L4/5 with no bridging trabecular bone.",
                 "CT 14/10/2026: incomplete fusion at L4/5, bridging bone on the left only."):
        result = late(text)
        assert (result.urgency, fired(result)) == ("soon", {"MOD_suspected_nonunion": "soon"})


def test_the_text_s_nonunion_waits_for_the_year_and_overrides_a_coded_solid_fusion() -> None:
    # Before 52 weeks an absent fusion is not yet a nonunion (brief 3.2).
    assert late("CT: non-union at L4/5.", weeks=30).urgency == "routine"
    # The referrer coded an older study as solid; the text's worse reading counts.
    coded = {"imaging": [study("ct", weeks_ago=40, fusion_status="solid")]}
    assert late("New CT last week: pseudarthrosis at L4/5.", **coded).urgency == "soon"
    assert late("No new imaging.", **coded).urgency == "routine"
    # Incomplete or absent is the same to the rule: the referrer's grade stands (the cause
    # model weighs the two apart), and nothing is reported as read.
    graded = {"imaging": [{**study("ct", weeks_ago=2, fusion_status="incomplete"),
                           "report_text": "Incomplete bridging; possible pseudarthrosis."}]}
    result = late("Second opinion please.", **graded)
    assert result.urgency == "soon" and result.text_findings == []
    assert "fusion_incomplete" in [f.feature for c in result.likely_causes for f in c.factors]
    # Between the text's own readings the worse wins, in either order.
    for text in ("CT: incomplete fusion at L4/5; non-union.", "CT: non-union at L4/5; incomplete "
                 "fusion."):
        with_study = {"imaging": [study("ct", weeks_ago=2)]}  # features read a current study
        features = [f.feature for c in late(text, **with_study).likely_causes
                    for f in c.factors]
        assert "fusion_absent_ge_12m" in features, text


def test_a_lucency_given_as_a_bound_stays_on_its_side_of_the_threshold() -> None:
    assert millimetres("lucency of less than 1 mm") == 0.9
    assert millimetres("lucency under 2 mm") == 1.9
    assert late('CT: "Thin lucency of less than 1 mm around the left L4 screw. Solid fusion."'
                ).urgency == "routine"
    assert late('X-ray: "Lucency of 1-2 mm around the right L4 screw."').urgency == "soon"


def test_a_weekday_after_since_dates_a_severe_deficit_to_this_week() -> None:
    assert days_ago("since Saturday") == 7
    assert days_ago("since last Saturday") == 13
    result = late("My foot flops. Since Saturday my right foot slaps down when I walk and I "
                  "can't lift my toes or the front of the foot up at all.")
    assert result.urgency == "emergency"
    # Undated, the same deficit is named but not dated: urgent, not the 14-day emergency.
    assert late("My right foot slaps down and I can't lift my toes at all.").urgency == "urgent"


def test_a_night_slept_through_is_no_night_pain() -> None:
    text = "I've lost about 6 kg since the summer, not sure why. I sleep through the night fine."
    assert late(text).urgency == "routine"
    assert late("I've lost about 6 kg since the summer, not sure why. The pain keeps me up "
                "through the night.").urgency == "urgent"


def test_a_patient_s_fear_of_the_name_is_no_suspicion_but_a_clinician_s_worry_is() -> None:
    assert late("I'm terrified it's cauda equina. No numbness, bladder and bowels are normal."
                ).urgency == "routine"
    assert late("I'm scared because I can't feel the loo paper when I wipe.").urgency == (
        "emergency")
    assert late("I am worried this may be the start of a cauda equina problem.").urgency == (
        "emergency")
