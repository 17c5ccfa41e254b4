"""An operation the text dates after every coded one (a revision, a return to theatre): the
brief's early post-operative rules (3.1: RF11, RF6's fever alone) count from the LAST operation,
so a letter that names "a revision two weeks ago" is read from it. Counting from it never lowers
a rule that fired without it, and text that names no operation done (listed for, someone else's)
adds none."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.referral import Referral
from services.triage.engine import triage_referral
from services.triage.engine.text.days import weeks_ago

POST = {"referral_id": "n-1", "referral_type": "post_surgery", "region": "lumbar", "age": 50,
        "sex": "F", "surgeries": [{"procedure": "discectomy", "weeks_before_referral": 20}]}


def triage(text: str, **fields: Any) -> Any:
    return triage_referral(Referral.model_validate({**POST, **fields, "clinical_question": text}))


@pytest.mark.parametrize(("words", "weeks"), [
    ("two weeks ago", 2.0), ("12/7 ago", 1.7), ("4/52 ago", 4.0), ("3/12 ago", 12.9),
    ("ten days ago", 1.4), ("a fortnight ago", 2.0), ("a couple of weeks ago", 2.0),
    ("last week", 1.9), ("yesterday", 0.1), ("on 12/7/2026", None), ("L4/5", None),
])
def test_times_gone_by_are_weeks(words: str, weeks: float | None) -> None:
    assert weeks_ago(words) == weeks


@pytest.mark.parametrize("text", [
    "She had a revision discectomy privately two weeks ago. Yesterday her temperature was 38.2.",
    "Had redo microD L5/S1 12/7 ago. Now T 38.3, wound clean + dry.",
    "Returned to theatre ten days ago for a haematoma. Today T 38.1, wound dry.",
    "She is now 2/52 post revision. T 38.4, wound fine.",
    "Three weeks since the revision; temperature 38.5 last night, nothing else.",
    "Revision surgery last week. Temp 38.2 this morning.",
])
def test_fever_alone_after_a_revision_in_the_text_is_urgent(text: str) -> None:
    result = triage(text)
    assert result.urgency == "urgent"
    assert [r.rule_id for r in result.fired_rules] == ["RF6_infection_suspected_non_septic"]
    assert result.weeks_since_last_surgery is not None and result.weeks_since_last_surgery <= 3
    assert [d.field for d in result.discordances] == ["surgeries.weeks_before_referral"]


@pytest.mark.parametrize("text", [
    "She was listed for revision surgery three weeks ago. T 38.2.",
    "Her husband had a revision two weeks ago. T 38.2, her wound is fine.",
    "Three weeks after surgery the pain came back. T 38.2.",
    "Her operation went well and two weeks ago she had a fever of 38.2 with a cold.",
    "The revision was cancelled two weeks ago. T 38.2.",
    "Discectomy 20 weeks ago. T 38.2 with a cold.",  # the coded operation itself
])
def test_no_operation_done_lately_adds_none(text: str) -> None:
    result = triage(text)
    assert result.urgency == "routine", result.fired_rules
    assert result.weeks_since_last_surgery == 20


def test_a_new_deficit_after_a_return_to_theatre_is_an_emergency() -> None:
    result = triage("Returned to theatre 10 days ago for a haematoma. O/E L EHL 4/5 today.")
    assert result.urgency == "emergency"
    assert "RF11_early_postop_new_deficit" in [r.rule_id for r in result.fired_rules]


def test_counting_from_the_newer_operation_never_lowers_a_rule() -> None:
    # CRP 60 is abnormal 20 weeks after surgery (>10) but not 10 days after one (only >100
    # counts): the rule that fired on the coded operation stands.
    result = triage("Revision 10 days ago. CRP 60, wound dry, apyrexial.")
    assert result.urgency == "urgent"
    assert [r.rule_id for r in result.fired_rules] == ["RF6_infection_suspected_non_septic"]


def test_an_operation_older_than_the_coded_one_changes_nothing() -> None:
    result = triage("She had a revision 30 weeks ago. T 38.2 with a cold.")
    assert result.urgency == "routine"
    assert result.discordances == [] and result.weeks_since_last_surgery == 20


def test_a_pre_surgery_referral_gains_no_operation() -> None:
    pre = {"referral_id": "p-1", "referral_type": "pre_surgery", "region": "lumbar", "age": 50,
           "sex": "F", "clinical_question": "She had a discectomy 2 weeks ago. T 38.2."}
    result = triage_referral(Referral.model_validate(pre))
    assert result.weeks_since_last_surgery is None
    assert result.urgency == "routine"


@pytest.mark.parametrize(("text", "urgency"), [
    ("Leg pain 8/10, much worse than her back, completely different from the calf pain she had "
     "before the operation.", "urgent"),
    ("Leg pain 8/10, much worse than her back, unlike her pre-op sciatica.", "urgent"),
    ("Leg pain 8/10, much worse than her back, not the same pain as before the operation.",
     "urgent"),
    ("Leg pain 8/10, much worse than her back.", "routine"),  # no comparison: RF11 cannot say
    ("Leg pain 8/10, much worse than her back, the same pain as before the operation.",
     "routine"),
])
def test_limb_pain_unlike_before_an_early_operation(text: str, urgency: str) -> None:
    early = {"surgeries": [{"procedure": "discectomy", "weeks_before_referral": 3}]}
    assert triage(text, **early).urgency == urgency
