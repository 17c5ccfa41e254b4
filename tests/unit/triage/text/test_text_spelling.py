"""Slips of the keyboard and of dictation are mended before reading (spelling.py), never toward a
word the writer may have meant as written, and the evidence still quotes the referrer."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.referral import Referral
from scripts.spelling_protected import main as protected_check
from services.triage.engine import triage_referral
from services.triage.engine.text.lexicon import lexicon
from services.triage.engine.text.spelling import Speller, one_slip, respell, speller_for

POST = {"referral_id": "n-1", "referral_type": "post_surgery", "region": "lumbar", "age": 50,
        "sex": "F", "surgeries": [{"procedure": "discectomy", "weeks_before_referral": 20}]}


def triage(text: str) -> Any:
    return triage_referral(Referral.model_validate({**POST, "clinical_question": text}))


def mended(text: str) -> str:
    return respell(text, speller_for(lexicon().words)).text


@pytest.mark.parametrize(("written", "read"), [
    ("incontinance of urine", "incontinence of urine"),
    ("new numbess in perinium", "new numbness in perineum"),
    ("Blader and bowel ok", "Bladder and bowel ok"),
    ("siatica both legs", "sciatica both legs"),
    ("started yestreday", "started yesterday"),  # two letters swapped
    ("saddle and aesthesia full stop", "saddle anaesthesia ."),
    ("sort of a equina syndrome comma new paragraph", "cauda equina syndrome , ."),
    ("two episodes of urinary in continents", "two episodes of urinary incontinence"),
    ("4/5 ten days ago, i.e. not progressing", "4/5 ten days ago, ie, not progressing"),
])
def test_slips_are_mended(written: str, read: str) -> None:
    assert mended(written) == read


@pytest.mark.parametrize("written", [
    "She fell off a ladder.",  # English, one slip from "bladder": never mended
    "Neuro: intact, afebrile, atraumatic.",  # clinical words the English list lacks
    "The bowl was on the floor; he dried the towels.",
    "Pedicles intact, foramina patent.",  # plurals and singulars are no slip
    "Numb, weak, sore.",  # words under five letters are left alone
])
def test_words_as_written_are_left(written: str) -> None:
    assert mended(written) == written


def test_a_slip_near_two_lexicon_words_is_left() -> None:
    speller = Speller(frozenset({"bleeds", "bleeps"}), frozenset())
    assert speller.mend("bleeks") is None


@pytest.mark.parametrize(("a", "b", "slip"), [
    ("numbess", "numbness", True), ("recurent", "recurrent", True), ("abcess", "abscess", True),
    ("yestreday", "yesterday", True), ("perinium", "perineum", True),
    ("numbness", "numbness", False), ("ladder", "bladder", True), ("sadle", "saddle", True),
    ("numbes", "numbness", False), ("abcd", "badc", False),
])
def test_one_slip(a: str, b: str, slip: bool) -> None:
    assert one_slip(a, b) is slip and one_slip(b, a) is slip


def test_positions_map_back_to_the_text_as_written() -> None:
    written = "Pt c/o incontinance full stop sadle numbess since yest."
    respelled = respell(written, speller_for(lexicon().words))
    start = respelled.text.index("saddle numbness")
    end = start + len("saddle numbness")
    assert respelled.quote(start, end) == "sadle numbess"
    assert respelled.to_old(len(respelled.text)) == len(written)
    assert respelled.to_old(0) == 0


@pytest.mark.parametrize("text", [
    "pt c/o new numbess in perinium and buttoks since 2 days, also 1 episode incontinance of "
    "urine last nite which she didnt feel.",
    "Re colon possible sort of a equina syndrome full stop she describes saddle and aesthesia "
    "since yesterday evening full stop",
    "new siatica both legs since 4 days, L>R, worse than before her op. no blader problems yet.",
    "temp 38.7, MRI shows collecton at operated level, ?abcess, wound looks ok.",
])
def test_red_flags_behind_slips_are_emergencies(text: str) -> None:
    result = triage(text)
    assert result.urgency == "emergency"
    # the evidence quotes what the referrer wrote, not the mended words
    assert all(e.span in text and e.sentence in text for e in result.text_evidence)


def test_a_denial_behind_slips_stays_a_denial() -> None:
    assert triage("no numbess in sadle, blader and bowel ok, power 5/5.").urgency == "routine"


@pytest.mark.parametrize("text", [
    "She can pass urine normally.", "He can pee fine.", "She can hold her urine.",
    "She can feel when her bladder is full.", "He can control his bowels.",
    "She can feel her bottom when she wipes.", "He can get an erection normally.",
    "\"I can feel my bottom fine on the toilet and my waterworks are normal\"",
    "She cannot have children.",
])
def test_what_a_patient_can_do_is_no_red_flag(text: str) -> None:
    assert triage(text).urgency == "routine", triage(text).fired_rules


@pytest.mark.parametrize("text", [
    "She can't pass urine.", "He cannot pee since this morning.",
    "She is unable to hold her urine.", "She can no longer feel when her bladder is full.",
    "He can't control his bowels.", "She can't feel her bottom when she wipes.",
    "He can't get an erection since Monday.", "She cannot reach orgasm since last week, new.",
    "She can't feel the seat when she sits on the commode, started yesterday.",
])
def test_what_a_patient_cannot_do_is_still_read(text: str) -> None:
    assert triage(text).urgency == "emergency"


def test_the_protected_list_is_current() -> None:
    # pyspellchecker is a development dependency (requirements-dev.lock): a lexicon change that
    # gives an English word a lexicon neighbour must list it, or it would be "mended"
    assert protected_check(["--check"]) == 0, "run: python -m scripts.spelling_protected"
