"""A pre-surgery letter's operation date (brief 3.2: within 14 days is soon), read from the
relative words referrers and patients write; a coded date is never overruled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.referral import Referral
from services.triage.engine import triage_referral
from services.triage.engine.text.days import days_ahead
from services.triage.engine.text.lexicon import LEXICON_PATH, load_lexicon
from services.triage.engine.urgency import URGENCY_RULES

PRE = {"referral_id": "p-1", "referral_type": "pre_surgery", "region": "lumbar", "age": 50,
       "sex": "F"}


def triage(text: str, **fields: Any) -> Any:
    return triage_referral(Referral.model_validate({**PRE, **fields, "clinical_question": text}))


@pytest.mark.parametrize(("words", "days"), [
    ("in ten days", 10), ("in 2 weeks' time", 14), ("within a fortnight", 14),
    ("in a couple of weeks", 14), ("in 3 weeks", 21), ("next Tuesday", 13),
    ("this coming Monday", 6), ("on Friday", 6), ("a week on Friday", 13), ("Thursday week", 13),
    ("tomorrow week", 8), ("tomorrow", 1), ("next month", 30), ("on 3 December", None),
    ("the day after tomorrow", 2), ("the week after next", 14),
])
def test_relative_words_are_days_at_the_latest(words: str, days: int | None) -> None:
    assert days_ahead(words) == days


@pytest.mark.parametrize("text", [
    "My operation is next Thursday and I would like a second opinion first.",
    "She is listed for L4/5 decompression in 10 days.",
    "Her fusion is booked for a week on Friday.",
    "Surgery date: in 2 weeks' time.",
    "Next Tuesday I have my operation.",
    "In ten days she is having her fusion.",
    "The op is tomorrow, she is very anxious.",
    "Surgery next Tuesday, and the MRI was cancelled.",  # not the operation that was cancelled
    "I am booked for the 12th, which is in nine days. Procedure: laminectomy.",
    "My surgeon has booked me in tomorrow week for the back op.",
    "The surgery is scheduled for the day after tomorrow.",
    "Her laminectomy is set for Thursday next week.",
    "My slot is the week after next.",
])
def test_surgery_within_14_days_in_the_text_is_soon(text: str) -> None:
    result = triage(text)
    assert result.urgency == "soon"
    assert [r.rule_id for r in result.fired_rules] == ["MOD_surgery_within_14_days"]
    assert result.text_findings[0].field == "proposed_surgery.days_until_scheduled"
    # what is still unknown stays unknown: the procedure was not coded
    assert any(m.startswith("proposed_surgery") for m in result.missing_data)


@pytest.mark.parametrize("text", [
    "Surgery in 3 weeks.",
    "Operation planned for 3 December.",  # a calendar date: today's date is not known here
    "He had surgery 10 days ago.",
    "My husband's operation is next week.",
    "Clinic appointment next Tuesday, surgery date not set.",
    "Her operation was booked for next week but has been cancelled.",
    "Her fusion next week has been postponed.",
    "The L4/5 decompression booked for next Tuesday has unfortunately been cancelled.",
    "I was offered surgery a fortnight ago and said I would think about it.",
    "I was booked for an MRI next week.",
])
def test_no_date_within_14_days_stays_routine(text: str) -> None:
    assert triage(text).urgency == "routine"


def test_a_coded_date_is_not_overruled_by_the_text() -> None:
    coded = {"proposed_surgery": {"procedure": "L4/5 fusion", "days_until_scheduled": 40}}
    result = triage("Surgery next week.", **coded)
    assert result.urgency == "routine"
    assert not result.text_findings


def test_the_family_and_cancelled_contexts_do_not_touch_red_flags() -> None:
    assert triage("He has urinary retention; his physio appointment was cancelled."
                  ).urgency == "emergency"
    assert triage("My husband's noticed I wet myself twice this week.").urgency == "emergency"


def test_a_context_rule_naming_an_unknown_concept_is_refused(tmp_path: Path) -> None:
    raw = yaml.safe_load(LEXICON_PATH.read_text(encoding="utf-8"))
    raw["context_rules"].append({"literal": "x", "category": "FAMILY", "direction": "FORWARD",
                                 "allowed_types": ["surgery_schedule"]})
    path = tmp_path / "lexicon.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ValueError, match="surgery_schedule"):
        load_lexicon(path, {rule_id for rule_id, _ in URGENCY_RULES})
