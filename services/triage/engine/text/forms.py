"""Tick boxes and short answers of referral forms, as the words the reading understands.

Forms reach us flattened to text: "Saddle anaesthesia  ☐ Y  ☑ N", "Retention: Yes [ ] No [x]",
"saddle (-) retention (-)", "Bladder N, Bowel N", "☐ Night pain ☐ Weight loss ☑ Fever". The
lexicon reads a form's answer after its label ("saddle anaesthesia: no", "retention: yes"), so
each answer is written that way before reading (spelling.respell keeps the quote as written):

- a pair of options with a box each gives the ticked one (": yes" / ": no"), or ": not
  answered" when neither is ticked (a question is not a finding);
- a box before an item: ticked, the item stands; empty, it reads "| no item" (an unticked
  entry of a "tick any that apply" list is not present, and "|" keeps its "no" to itself);
- a box, a tick or a cross right after a label, "(+)" / "(-)", "+ve" / "-ve", and a capital
  "Y" / "N" closing a field, are that label's answer;
- a screen's question and its one-word answer: "Night pain? No." is "night pain: no", "Cancer?
  Yes - breast 2010" is "cancer: yes - breast 2010" (a "?" before a term, "?CES", is a query and
  stays as written);
- a conversation's question and the short answer opening the next turn (dialogue.py).

Boxes across table columns ("| Saddle anaesthesia |   | X |") are left as written: which
column is "yes" is in a header the reading does not follow.
"""

from __future__ import annotations

import re

from services.triage.engine.text.dialogue import dialogue_answers

TICKED = r"(?:☑|☒|✅|\[\s*[xX✓✔]\s*\]|\(\s*[xX✓✔]\s*\))"
EMPTY = r"(?:☐|□|\[\s?\]|\(\s?\))"
BOX = rf"(?:{TICKED}|{EMPTY})"
OPTION = r"(?i:yes|no|y|n|present|absent)\b"
# two options, each with its box before or after it: "☐ Y ☑ N", "Yes [ ] No [x]", "Y[ ] N[x]"
PAIRS = (
    re.compile(rf"(?P<b1>{BOX})\s*(?P<o1>{OPTION})[\s:]*(?P<b2>{BOX})\s*(?P<o2>{OPTION})"),
    re.compile(rf"\b(?P<o1>{OPTION})\s*:?\s*(?P<b1>{BOX})[\s,/]*(?P<o2>{OPTION})\s*:?\s*"
               rf"(?P<b2>{BOX})"),
)
BEFORE_ITEM = re.compile(rf"(?P<box>{BOX})\s*(?=[A-Za-z])")
# what closes a field after its answer: a separator, two spaces, the end
CLOSE = r"(?=\s*(?:[|,;.]|\s\s|$))"
# a box or a capital Y/N answers the label before it only where the field closes after it; a
# sign or a tick says which it is wherever it stands ("saddle (-) retention (-)")
AFTER_LABEL = (
    re.compile(rf"(?<=[A-Za-z)])\s*:?\s*(?P<answer>{BOX}|\b[YN]\b){CLOSE}"),
    re.compile(r"(?<=[A-Za-z)])\s*:?\s*(?P<answer>[✓✔✗✘]|\(\s?[+-]\s?\)|[+-]ve\b)"),
)
YES_MARKS = ("✓", "✔", "+", "Y")
# "Night pain? No.", "Saddle? N", "Fever? Nil": a one-word answer closing its field
QUESTION = re.compile(r"(?<=[A-Za-z)])\s*\?\s*(?P<answer>(?i:yes|no|nil|none|negative|neg|denies"
                      r"|denied|y|n))\b(?=\s*(?:[|,;.\-\u2013]|\s\s|$))")
# A long form has a hundred boxes; the words are longer than a box ("☐ x" is "| no x"), so past
# this many the text is read as written and stays bounded (as dates.MAX_DATES).
MAX_ANSWERS = 200


def _ticked(box: str) -> bool:
    return re.fullmatch(TICKED, box) is not None


def _yes(option: str) -> bool:
    return option.lower() in ("yes", "y", "present")


def _pair(m: re.Match[str]) -> str | None:
    o1, o2 = _yes(m.group("o1")), _yes(m.group("o2"))
    if o1 == o2:
        return None  # "Yes [ ] Yes [x]": not a yes/no question
    t1, t2 = _ticked(m.group("b1")), _ticked(m.group("b2"))
    if t1 and t2:
        return None  # both ticked: left as written
    if not (t1 or t2):
        return ": not answered"
    return ": yes" if (o1 if t1 else o2) else ": no"


def _answer(mark: str) -> str:
    if re.fullmatch(BOX, mark):
        return ": yes" if _ticked(mark) else ": no"
    return ": yes" if any(sign in mark for sign in YES_MARKS) else ": no"


def form_answers(text: str) -> list[tuple[int, int, str]]:
    """(start, end, words) for the first `MAX_ANSWERS` tick boxes and short answers, in text
    order, none overlapping (a pair's boxes are not read again as single boxes)."""
    found: list[tuple[int, int, str]] = []
    for pattern in PAIRS:
        for m in pattern.finditer(text):
            words = _pair(m)
            if words is not None:
                found.append((m.start(), m.end(), words))
    for m in BEFORE_ITEM.finditer(text):
        found.append((m.start(), m.end(), "; " if _ticked(m.group("box")) else " | no "))
    for m in (m for pattern in AFTER_LABEL for m in pattern.finditer(text)):
        found.append((m.start(), m.end(), _answer(m.group("answer"))))
    for m in QUESTION.finditer(text):
        found.append((m.start(), m.end(), ": yes" if m.group("answer").lower() in ("yes", "y")
                      else ": no"))
    found.extend(dialogue_answers(text))
    kept: list[tuple[int, int, str]] = []
    for start, end, words in sorted(found, key=lambda f: (f[0], -f[1])):  # the longest first
        if not kept or start >= kept[-1][1]:
            kept.append((start, end, words))
            if len(kept) == MAX_ANSWERS:
                break
    return kept
