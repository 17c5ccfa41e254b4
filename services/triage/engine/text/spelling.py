"""Slips of the keyboard and of dictation, mended before the text is read.

Referrals are typed in a hurry and dictated to speech recognition: "incontinance of urine",
"new numbess in perinium", "saddle and aesthesia full stop". The lexicon reads exact words, so a
slip in the one word that matters hides a red flag. Two kinds of mend, both narrow:

- dictation: spoken punctuation ("full stop", "comma", "new paragraph") and a few
  misrecognitions of the red-flag terms (`DICTATION`), and Scots negatives ("cannae", "nae":
  `SCOTS`);
- spelling: a word of five letters or more that the lexicon does not know becomes the one
  lexicon word it is a single slip from (a letter missing, extra, wrong or two swapped), with the
  same first letter. Never a word of English (`spelling_protected.txt`: the English words one
  slip from a lexicon word, listed by scripts/spelling_protected.py so "ladder" never becomes
  "bladder"), never where two lexicon words are equally near.

Calendar dates are rewritten here too, as the relative words they mean on the day the referral
was received (dates.py): "on 12/11/2026" is read "15 days ago"; and forms' tick boxes and short
answers as a label's answer (forms.py): "Saddle anaesthesia ☐ Y ☑ N" is read "…: no".

The reading quotes the referrer's own words: `Respelled.to_old` maps every position of the
mended text back to the text as written.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from services.triage.engine.text.dates import calendar_dates
from services.triage.engine.text.forms import form_answers

PROTECTED_PATH = Path(__file__).with_name("spelling_protected.txt")
MIN_LETTERS = 5
WORD_RE = re.compile(rf"[A-Za-z]{{{MIN_LETTERS},}}")
LEXICON_WORD_RE = re.compile(rf"^[a-z]{{{MIN_LETTERS},}}$")
# (spoken or misheard words, what was meant); case-insensitive, whole words
DICTATION = tuple((re.compile(rf"\b{pattern}\b", re.IGNORECASE), meant) for pattern, meant in (
    (r"full[\s-]+stop", "."),
    (r"new\s+paragraph", "."),
    (r"new\s+line", "."),
    (r"question\s+mark", "?"),
    (r"semi[\s-]?colon", ";"),
    (r"comma", ","),
    (r"(?:sort\s+of\s+a|sort\s+a|cord\s+a|court\s+a|cauda\s+a|quarter|corda)\s+equina",
     "cauda equina"),
    (r"saddle\s+(?:and|an|in)\s+(?:a?esthesia|a?esthetic)", "saddle anaesthesia"),
    # "in continence" alone may be a place ("seen in continence clinic"): only after its noun
    (r"in\s+continents", "incontinence"),
    (r"urinary\s+in\s+continence", "urinary incontinence"),
    (r"(?:faecal|fecal)\s+in\s+continence", "faecal incontinence"),
    (r"in\s+continent\s+of", "incontinent of"),
    (r"sigh\s+attic(?:a)?", "sciatica"),
    (r"boat\s+legs", "both legs"),
    # autocorrect and dictation (blind typos table): "I can't feel my bomb", "reduced power in
    # both lakes"
    (r"(?:(?<=\bmy\s)|(?<=\bher\s)|(?<=\bhis\s))bomb", "bum"),
    (r"both\s+lakes", "both legs"),
    (r"ate(?=\s+(?:out\s+of|over)\s+(?:ten|10)\b)", "eight"),  # "leg pain ate out of ten"
    # text-speak: "ages b4 i can start peeing", "since last nite", "sex wiv my husband"
    (r"b4", "before"),
    (r"2day", "today"),
    (r"2nite", "tonight"),
    (r"nite", "night"),
    (r"wiv", "with"),
))
# A grade said aloud and typed as heard: "ankle plantar flexion four over five", "power for over
# five on Monday, today three over five" (blind typos table); not "for over five years".
SPOKEN_GRADE = re.compile(
    r"\b(zero|one|two|three|four|for|five|[0-5])\s+(over|out\s+of)\s+(?:five|5)\b"
    r"(?!\s*(?:years?|yrs?|months?|weeks?|wks?|days?|hours?|hrs?|minutes?|mins?|times)\b)",
    re.IGNORECASE)
GRADE_DIGITS = {"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "for": "4",
                "five": "5"}
# Scots negatives (blind englishes table): "I cannae feel the paper" is "cannot feel", and "nae
# numbness roond his backside" a denial ("nae" is no English word; whole words only)
SCOTS = tuple((re.compile(rf"\b{pattern}\b", re.IGNORECASE), meant) for pattern, meant in (
    (r"canna(?:e)?", "cannot"),
    (r"couldna(?:e)?", "could not"),
    (r"(?:dinna(?:e)?|dinnae)", "do not"),
    (r"didna(?:e)?", "did not"),
    (r"(?:doesnae|disnae|disna)", "does not"),
    (r"isna(?:e)?", "is not"),
    (r"wasna(?:e)?", "was not"),
    (r"wouldna(?:e)?", "would not"),
    (r"(?:willnae|winnae|wullnae)", "will not"),
    (r"(?:havenae|hivnae|havnae)", "have not"),
    (r"hasna(?:e)?", "has not"),
    (r"nae", "no"),
))
# A negative typed without its apostrophe ("she doesnt have any numbness down below", "DIDNT
# leak"): spaCy splits "doesnt" as "does" + "nt", which no negation rule reads, so a denial in a
# hurried message fired the finding it denied (blind typos table). Written back with it.
NO_APOSTROPHE = re.compile(
    r"\b(don|doesn|didn|can|couldn|wouldn|shouldn|isn|wasn|aren|weren|hasn|haven|hadn|won|"
    r"mustn|needn|ain)t\b", re.IGNORECASE)
# "i.e." and "e.g." end no sentence ("4/5 ... ten days ago, i.e. not progressing")
ABBREVIATIONS = tuple((re.compile(pattern, re.IGNORECASE), meant) for pattern, meant in (
    (r"(?<![\w.])i\.\s?e\.", "ie,"),
    (r"(?<![\w.])e\.\s?g\.", "eg,"),
))

# A decimal comma after a temperature's or a CRP's word, or before a degree: "Fever 38,2", "PCR 3,4
# mg/dL", "Temperature 37,9", "38,6 grades" (blind translated table: the tokenizer split "38 , 2"
# and neither was read). Only there: "4,5 months" and "L4,5" stay as written.
DECIMAL_COMMA = (
    re.compile(r"\b(?:temp(?:erature)?|fever|febrile|tmax|crp|pcr|t)\b[\s:=]*(?:[a-z]+\s+){0,3}?"
               r"(\d{1,3}),(\d{1,2})\b", re.IGNORECASE),
    re.compile(r"\b(\d{2}),(\d)\s*(?=°|º|grades\b|degrees\b|[cC]\b)"),
)


def decimal_commas(text: str) -> list[tuple[int, int, str]]:
    """(start, end, number) for each decimal comma read as a point."""
    return [(m.start(1), m.end(2), f"{m[1]}.{m[2]}")
            for pattern in DECIMAL_COMMA for m in pattern.finditer(text)]


# Clinical words that are not in the English word list but are one slip from a lexicon word
# ("Neuro: intact" is not "neuron"); found by running the speller over the test corpora.
CLINICAL_WORDS = frozenset({
    "neuro", "neuros", "foramina", "foramen", "apyrexial", "afebrile", "atraumatic", "axonal",
    "discal", "sacra", "radicular", "radicle", "dermatomal", "myotomal", "paraspinal",
})


def lexicon_words(concepts: Any, context_rules: Any) -> frozenset[str]:
    """Every word of five letters or more that the lexicon's phrases and patterns name."""
    words: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, str):
            words.update(w for w in re.split(r"[^a-z]+", node.lower()) if LEXICON_WORD_RE.match(w))
        elif isinstance(node, dict):
            for key, value in node.items():
                if key not in ("REGEX", "OP"):
                    walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    for concept in concepts:
        walk(concept.phrases)
        walk(concept.patterns)
    for rule in context_rules:
        walk(rule.get("literal", ""))
        walk(rule.get("pattern", []))
    return frozenset(words)


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def one_slip(a: str, b: str) -> bool:
    """Whether b is a (letter missing, extra, wrong, or two swapped) from a."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


class Speller:
    """The lexicon word a slip stands for (symmetric deletes: a few dict look-ups per word)."""

    def __init__(self, words: frozenset[str], protected: frozenset[str]) -> None:
        self.words, self.protected = words, protected
        # deleted form -> the word, or the words, it comes from: a plain string for the many
        # forms of one word keeps the index at ~1.5 MB (sets made it ~4 MB of triage's RSS)
        index: dict[str, str | tuple[str, ...]] = {}
        for word in words:
            for key in _deletes(word) | {word}:
                known = index.get(key)
                index[key] = word if known is None else (
                    (known, word) if isinstance(known, str) else (*known, word))
        self.index = index

    def near(self, word: str) -> set[str]:
        """Lexicon words one slip from `word`, with its first letter."""
        found: set[str] = set()
        for key in _deletes(word) | {word}:
            known = self.index.get(key)
            if known is not None:
                found.update((known,) if isinstance(known, str) else known)
        return {w for w in found if w[0] == word[0] and one_slip(word, w)}

    def mend(self, word: str) -> str | None:
        lower = word.lower()
        if lower in self.words or lower in self.protected or lower in CLINICAL_WORDS:
            return None
        near = self.near(lower)
        if len(near) != 1:
            return None
        mended = next(iter(near))
        if lower.rstrip("s") == mended.rstrip("s"):
            return None  # a plural or singular of a word the lexicon reads: nothing slipped
        return mended.capitalize() if word[0].isupper() else mended


@dataclass(frozen=True, slots=True)
class Respelled:
    text: str  # what is read
    original: str  # what was written
    edits: tuple[tuple[int, int, int, int], ...] = ()  # (new start, new end, old start, old end)
    dates: tuple[tuple[int, int], ...] = ()  # (new start, new end) of each date made words
    # that only says when ("on 20/11"), not since when

    def to_old(self, position: int) -> int:
        """A position in the read text as a position in the written one."""
        i = bisect_right(self.edits, position, key=lambda edit: edit[0]) - 1
        if i < 0:
            return position
        new_start, new_end, old_start, old_end = self.edits[i]
        if position < new_end:
            return min(old_start + position - new_start, old_end)
        return position - new_end + old_end

    def quote(self, start: int, end: int) -> str:
        return self.original[self.to_old(start):self.to_old(end)]

    def in_date(self, start: int, end: int) -> bool:
        """Whether read text lies inside a date that says when ("7 days ago" for "on 20/11")."""
        i = bisect_right(self.dates, start, key=lambda span: span[0]) - 1
        return i >= 0 and end <= self.dates[i][1]


def respell(text: str, speller: Speller, as_of: date | None = None,
            month_first: bool = False) -> Respelled:
    """The text with its dictation and spelling slips mended, its calendar dates as relative
    words when the day of receipt is known (dates.py), and where each change lies."""
    # (start, rank, end, meant, a date saying when?): dictation and dates first
    found: list[tuple[int, int, int, str, bool]] = []
    for pattern, meant in DICTATION + SCOTS + ABBREVIATIONS:
        found.extend((m.start(), 0, m.end(), meant, False) for m in pattern.finditer(text))
    found.extend((m.start(), 0, m.end(), m.group(1).lower() + "'t", False)
                 for m in NO_APOSTROPHE.finditer(text))
    found.extend((m.start(), 0, m.end(), GRADE_DIGITS.get(m.group(1).lower(), m.group(1)) + "/5",
                  False) for m in SPOKEN_GRADE.finditer(text)
                 if m.group(1).lower() != "for" or m.group(2).lower() == "over")
    found.extend((start, 0, end, words, False) for start, end, words in form_answers(text))
    found.extend((start, 0, end, number, False) for start, end, number in decimal_commas(text))
    if as_of is not None:
        found.extend((start, 0, end, words, not onset)
                     for start, end, words, onset in calendar_dates(text, as_of, month_first))
    for m in WORD_RE.finditer(text):
        mended = speller.mend(m.group())
        if mended is not None:
            found.append((m.start(), 1, m.end(), mended, False))
    if not found:
        return Respelled(text, text)
    found.sort()
    parts, edits, dates, at, shift = [], [], [], 0, 0
    for start, _, end, meant, saying_when in found:
        if start < at:
            continue  # inside an earlier mend
        parts.append(text[at:start])
        edits.append((start + shift, start + shift + len(meant), start, end))
        if saying_when:
            dates.append(edits[-1][:2])
        parts.append(meant)
        shift += len(meant) - (end - start)
        at = end
    parts.append(text[at:])
    return Respelled("".join(parts), text, tuple(edits), tuple(dates))


@cache
def protected_words() -> frozenset[str]:
    return frozenset(PROTECTED_PATH.read_text(encoding="utf-8").split())


@cache
def speller_for(words: frozenset[str]) -> Speller:
    return Speller(words, protected_words())
