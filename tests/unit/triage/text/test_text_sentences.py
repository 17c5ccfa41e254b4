"""PyRuSH's boundaries with its rules tried only where one may match (text/sentences.py): the
same FastCNER matches as its full walk on letters from every table, on hostile and odd text,
and the sentences the reader has always had on abbreviations, numbers, dates, forms and lists."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.triage.engine.text.lexicon import lexicon
from services.triage.engine.text.pipeline import pipeline

HERE = Path(__file__).parent
# Shapes the filter must not lose a match on: repeats that FastCNER caps (50), '+' that its walk
# reads as a rule's repeat mark, a backslash (its wildcard mark: the full walk), tabs, no-break
# spaces, characters past U+00FF (dashes, quotes, boxes, the rules' own bullet), digits that are
# not ASCII, text that starts or ends on a rule's edge.
ODD = ["Pain ++ at night.  +ve SLR.+", "a" * 120 + ".\n\n\n" + " " * 80 + "Next.",
       "Path\\to\\file. Next sentence.", "Bladder OK.\tBowels OK.\u00a0Saddle OK.",
       "Pt c/o pain \u2013 worse at night\u2026 \u201cSeen\u201d in A&E.",
       "\u2022 leg pain\n\u2022 numb",
       "\u2610 saddle \u2611 N\n\u2610 retention", "Power \u0664/\u0665 and 4\u00b2. \u00c9tat OK.",
       "(1) Leg pain. (2) Numb.", ". Leading stop", "Trailing stop.", "x", "Dr.",
       "\n\n\nTITLE:\n\n  Body text here. And more", "\u00c0BC. \u00e0bc. \u00aa. \u00b5g."]
HOSTILE = ["cannot " * 400, "no saddle anaesthesia, " * 150, "leg pain , " * 300,
           "revision on 12/11/2026 " * 100, "\u2610 saddle " * 300, ". " * 500, "\n" * 300]


def texts() -> Iterator[str]:
    for table in sorted(HERE.glob("*.txt")):
        rows = [line.split(" || ", 1)[1] for line in table.read_text("utf-8").splitlines()
                if " || " in line and not line.startswith("#")]
        yield from rows[::5]  # every fifth row of every table: about five hundred letters
    yield from ODD
    yield from HOSTILE


def fastner() -> Any:
    return pipeline(lexicon()).get_pipe("medspacy_pyrush").rush.fastner


def matches(process: Any, text: str) -> dict[str, list[tuple[int, int, int]]]:
    found: dict[str, list[Any]] = {"stbegin": [], "stend": []}
    process(text, 0, found)
    return {key: [(s.begin, s.end, s.rule_id) for s in spans] for key, spans in found.items()}


def test_the_filtered_walk_finds_fastcners_matches() -> None:
    cner = fastner()
    checked = 0
    for text in texts():
        assert matches(cner.process, text) == matches(cner.full_process, text), text[:80]
        checked += 1
    assert checked > 450


# Pieces of what PyRuSH's rules look for, run together at random (seeded), repeated past its
# repeat cap: a wrong stand-in for characters past U+00FF fails here on about a quarter of them.
PIECES = [" ", "  ", "\n", "\n\n", "\t", "\u00a0", "\u2003", ".", ". ", ":", "-", "*", "+", "(",
          ")", '"', "'", "?", "!", ";", ",", "/", "a", "pain", "He ", "The ", "Dr", "e.g.", "A",
          "MRI", "1", "12", "38.1", "\u2022", "\u2013", "\u00e9", "\u0394", "\u0101", "\u0664",
          "\u2610", "REASON FOR", "Age:", "and", "mL", "week"]


def test_the_filtered_walk_finds_fastcners_matches_on_random_text() -> None:
    cner = fastner()
    rng = random.Random(7)
    for _ in range(150):
        text = "".join(rng.choice(PIECES) * rng.choice([1, 1, 1, 2, 3, 60])
                       for _ in range(rng.randint(1, 40)))
        assert matches(cner.process, text) == matches(cner.full_process, text), repr(text[:80])


def test_the_filtered_walk_skips_most_positions() -> None:
    from services.triage.engine.text.sentences import Starts

    starts = Starts(fastner().rule_map, 50)
    letter = ("Thank you for seeing this lady who had an L4-5 microdiscectomy last year. Her leg "
              "pain settled for six months and has returned, worse on sitting. She denies any "
              "saddle numbness and her bladder and bowels are normal. Temp. 37.6 today.")
    positions = starts.positions(letter)
    assert positions is not None and 0 < len(positions) < len(letter) // 5
    assert starts.positions("C:\\letters\\a.doc. Numb.") is None  # a backslash: the full walk


SENTENCES = [
    ("Seen by Dr. Smith today. No saddle numbness.",
     ["Seen by Dr. Smith today.", "No saddle numbness."]),
    ("Red flags e.g. bladder change were discussed. She is well.",
     ["Red flags e.g. bladder change were discussed.", "She is well."]),
    ("Febrile, T 38.1 today. Wound red.", ["Febrile, T 38.1 today.", "Wound red."]),
    ("L5/S1 discectomy in May. Power 4/5 in EHL.",
     ["L5/S1 discectomy in May.", "Power 4/5 in EHL."]),
    ("Operation on 27/11/2026. Pain since then.",
     ["Operation on 27/11/2026.", "Pain since then."]),
    ("Reason: leg pain | PMH: renal cell carcinoma | Meds: none",
     ["Reason: leg pain |", "PMH: renal cell carcinoma |", "Meds: none"]),
    ("no full stops here just leg pain and numbness in both feet getting worse",
     ["no full stops here just leg pain and numbness in both feet getting worse"]),
    ("Symptoms:\n- leg pain\n- numb feet\n- no bladder change",
     ["Symptoms:", "\n", "- leg pain", "\n", "- numb feet", "\n", "- no bladder change"]),
    ("1. Leg pain. 2. Back pain. 3. Numbness.",
     ["1.", "Leg pain.", "2. Back pain.", "3. Numbness."]),
    ("Pain ++ at night. CRP 96 mg/L. Temp. 38.5",
     ["Pain ++ at night.", "CRP 96 mg/L. Temp. 38.5"]),
    ("Pt c/o pain \u2013 worse at night\u2026 Seen in A&E.",
     ["Pt c/o pain \u2013 worse at night\u2026 Seen in A&E."]),
]


@pytest.mark.parametrize(("text", "expected"), SENTENCES, ids=[t[:30] for t, _ in SENTENCES])
def test_the_reader_gets_pyrushs_sentences(text: str, expected: list[str]) -> None:
    assert [s.text for s in pipeline(lexicon())(text).sents] == expected
