"""Calendar dates in letters, read against the day the referral was received (text/dates.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from schemas.referral import Referral
from services.triage.engine import triage_referral
from services.triage.engine.text.dates import MAX_DATES, calendar_dates, writes_month_first
from tests.unit.triage.text.test_text_blind_narratives import PRE_SURGERY
from tests.unit.triage.text.test_text_narratives import BASE

RECEIVED = date(2026, 11, 27)  # a Friday


def dates(text: str) -> list[tuple[str, str]]:
    return [(text[start:end], words) for start, end, words, _ in calendar_dates(text, RECEIVED)]


@pytest.mark.parametrize(("text", "expected"), [
    ("revision on 12/11/2026", [("on 12/11/2026", "15 days ago")]),
    ("DOS 12.11.26", [("DOS 12.11.26", "DOS 15 days ago")]),
    ("TCI 04-12-2026", [("TCI 04-12-2026", "TCI in 7 days")]),
    ("Date of surgery: 04/12", [("Date of surgery: 04/12", "Date of surgery: in 7 days")]),
    ("operated on the 12th of November", [("on the 12th of November", "15 days ago")]),
    ("Nov 12th 2026 and Dec. 3rd", [("Nov 12th 2026", "15 days ago"), ("Dec. 3rd", "in 6 days")]),
    ("booked for 3 December. Back pain", [("3 December", "in 6 days")]),  # the full stop stays
    ("since 21/11 new foot drop", [("since 21/11", "since 6 days ago")]),
    ("clinic on 26/11", [("on 26/11", "1 day ago")]),
    ("seen on 27/11/2026", [("on 27/11/2026", "today")]),
    # a weekday between the word and the date, or alone before it
    ("woke up on Fri 20/11 unable", [("on Fri 20/11", "7 days ago")]),
    ("since Tues 24/11, numb", [("since Tues 24/11", "since 3 days ago")]),
    ("Wednesday 25/11: fell", [("Wednesday 25/11", "2 days ago")]),
    ("on Friday 20 November", [("on Friday 20 November", "7 days ago")]),
])
def test_dates_become_the_relative_words_a_letter_would_use(
    text: str, expected: list[tuple[str, str]]
) -> None:
    assert dates(text) == expected


@pytest.mark.parametrize("text", [
    "redo microD 12/7 ago",  # twelve days, UK shorthand
    "she is 2/52 post revision",  # two weeks
    "power 4/5 and EHL 3/5",  # grades
    "L4/5 disc, 21/11 (12/11)",  # a year-less number with nothing introducing it as a date
    "power fell from 5/5 to 3/5 (4/5 on the left)",  # grades
    "pain down from 8/10 since 3/10",  # scores
    "Duration: 3/12. PHQ-9: 7/12",  # months, a questionnaire's score
    "pain from 7-8 down to 3-4",  # a range
    "DOB 03/04/1976",  # more than a year away: no rule counts it
    "next review 12/11/2028",
    "30/02/2026 on 31/11",  # no such days
    "she may 12 times a day",  # a verb, not the month
])
def test_counts_grades_far_and_impossible_dates_are_left_as_written(text: str) -> None:
    assert dates(text) == []


def test_a_date_without_a_year_is_the_nearest_such_day() -> None:
    assert dates("since 20/11") == [("since 20/11", "since 7 days ago")]
    assert dates("on 2 January") == [("on 2 January", "in 36 days")]  # not 329 days ago


def triage(base: dict[str, Any], text: str, received: date | None = RECEIVED) -> Any:
    return triage_referral(Referral.model_validate({**base, "clinical_question": text}),
                           as_of=received)


def rules(result: Any) -> list[str]:
    return [r.rule_id for r in result.fired_rules]


def test_a_revision_dated_twelve_days_back_counts_for_the_early_post_operative_rules() -> None:
    text = ("Redo microdiscectomy L5/S1 on 16th November 2026. Since then ankle dorsiflexion is "
            "4/5 on the right.")
    dated = triage(BASE, text)
    assert dated.urgency == "emergency" and "RF11_early_postop_new_deficit" in rules(dated)
    assert dated.text_evidence[0].span == "Redo microdiscectomy L5/S1 on 16th November 2026"
    assert dated.weeks_since_last_surgery == pytest.approx(11 / 7, abs=0.05)  # one decimal
    # the same letter without the day of receipt, and dated months back: the coded operation
    # (20 weeks) is the last one, and a mild new deficit is soon
    assert triage(BASE, text, received=None).urgency == "soon"
    assert triage(BASE, text.replace("16th November", "16th June")).urgency == "soon"


def test_fever_after_a_dated_revision_is_within_six_weeks_only_when_the_date_says_so() -> None:
    text = "Revision decompression 09.11.26. Temperature 38.2 last night, wound clean and dry."
    assert rules(triage(BASE, text)) == ["RF6_infection_suspected_non_septic"]
    assert triage(BASE, text.replace("09.11.26", "09.08.26")).urgency == "routine"


@pytest.mark.parametrize(("text", "expected"), [
    ("Her fusion is booked for 3 December. Back pain 6/10, bladder normal.", "soon"),
    ("She is on the list for 08/12/2026 for an L4/5 decompression.", "soon"),
    ("Her fusion is booked for 15 January 2027. Back pain 6/10.", "routine"),
    ("His fusion was booked for 3 December but has been cancelled.", "routine"),
])
def test_a_scheduled_operation_within_fourteen_days_of_receipt_is_soon(
    text: str, expected: str
) -> None:
    assert triage(PRE_SURGERY, text).urgency == expected
    assert triage(PRE_SURGERY, text, received=None).urgency == "routine"


def test_only_the_first_dates_of_a_text_become_words() -> None:
    # the words are longer than the dates: hostile text must not grow past the reading limit
    text = "since 21/11 " * (MAX_DATES + 10)
    found = calendar_dates(text, RECEIVED)
    assert len(found) == MAX_DATES and found[-1][2] == "since 6 days ago"


@pytest.mark.parametrize(("text", "expected"), [
    # a visit's date says when, not that anything worsens: a long-standing mild deficit stays soon
    ("Seen in clinic on 20/11/2026: mild EHL weakness 4/5 on the left, which she has had since "
     "her operation in July.", "soon"),
    ("On 23/11/2026 she saw her GP, who found mild weakness of ankle dorsiflexion 4/5, "
     "long-standing since 2024.", "soon"),
    ("Physio review 25/11/2026: walking 2 miles, leg pain 3/10, power full.", "routine"),
    # "since" dates an onset: a severe deficit since five days ago is progressing (RF3)
    ("Redo in June 2024. Since 22/11/2026 right EHL 3/5 and the foot slaps when walking.",
     "emergency"),
    ("On 25/11 he developed weakness of both legs, now 3/5 on the right.", "emergency"),
])
def test_a_date_that_says_when_is_no_worsening_and_one_that_says_since_when_is(
    text: str, expected: str
) -> None:
    assert triage(BASE, text).urgency == expected


def test_only_since_and_from_date_an_onset() -> None:
    text = "seen on 20/11; since 21/11 worse; from 22/11 off work; DOS 12/11/2026"
    assert [onset for *_, onset in calendar_dates(text, RECEIVED)] == [False, True, True, False]


@pytest.mark.parametrize(("jurisdiction", "expected"), [
    ("US-TX", True), ("us", True), ("PR", True), ("PH-00", True),
    ("GB-ENG", False), ("CA-ON", False), ("", False), (None, False),
])
def test_month_first_jurisdictions(jurisdiction: str | None, expected: bool) -> None:
    assert writes_month_first(jurisdiction) is expected


@pytest.mark.parametrize(("text", "day_first", "month_first"), [
    ("since 10/11 new foot drop", "since 17 days ago", "since 47 days ago"),
    ("on 11/20/2026", None, "7 days ago"),  # no 20th month: a US date only
    ("since 11/20", None, "since 7 days ago"),
    ("TCI 12/04/2026", "TCI 229 days ago", "TCI in 7 days"),
    ("since Tues 11/24, numb", None, "since 3 days ago"),
])
def test_a_us_referral_reads_numeric_dates_month_first(
    text: str, day_first: str | None, month_first: str | None
) -> None:
    def read(first: bool) -> str | None:
        found = calendar_dates(text, RECEIVED, month_first=first)
        return found[0][2] if found else None
    assert (read(False), read(True)) == (day_first, month_first)


@pytest.mark.parametrize("text", [
    "power 4/5 and EHL 3/5", "pain down from 8/10 since 3/10", "power fell from 5/5 to 3/5",
])
def test_month_first_grades_and_scores_stay_grades_and_scores(text: str) -> None:
    assert calendar_dates(text, RECEIVED, month_first=True) == []


def test_a_us_referral_s_operation_date_is_read_month_first() -> None:
    text = "Fusion L4-5 booked, TCI 12/04/2026 with Dr Ruiz. Leg pain 6/10."

    def urgency(jurisdiction: str) -> str:
        fields = {**PRE_SURGERY, "patient": {"jurisdiction": jurisdiction},
                  "clinical_question": text}
        return triage_referral(Referral.model_validate(fields), as_of=RECEIVED).urgency
    # 4 December in Texas (within 14 days: 3.2's soon); 12 April, long past, in England
    assert (urgency("US-TX"), urgency("GB-ENG")) == ("soon", "routine")
