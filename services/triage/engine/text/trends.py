"""A CRP written as a series ("CRP POD4 41 -> POD6 77", "CRP trend: POD2 96, POD4 55, POD5 68,
POD6 81", "CRP 89 (2 days ago: 62)"): whether it is rising now, and which value is the latest.

The brief counts a CRP as abnormal when it rises after the third post-operative day, whatever
its level. Ward notes give the values, not the word "rising", so the lexicon's `crp_series`
cue takes the whole series and `crp_rise` says by how much the latest value is above the one
before it; a series that rises is read as `crp_rising`. The order: each value's own day label
(the one post-operative day or "N days ago" between its separators), else what marks a value
as the earlier one ("(was 62)", "up from 60", "previously 40"), else the order written (ward
notes list a trend oldest first). A rise that ends by day 3 is the expected peak.

Reading a series may only ever add: the latest value replaces the values read inside the
series only when every value has its own label (review 22: "CRP 150 POD6, 60 POD4" and "CRP 150,
up from 60" had read as 60, a sepsis emergency as urgent). Otherwise the highest value stands,
as for any CRP the text gives.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_right
from collections.abc import Set as AbstractSet
from dataclasses import replace

from services.triage.engine.text.mention import Mention

SERIES, LATEST = "crp_series", "crp_series_latest"
RISING, VALUE = "crp_rising", "crp_value"
EARLY_PEAK_DAY = 3  # brief 3.1: "CRP rising after postoperative day 3"
MAX_VALUES = 24  # the lexicon's pattern takes at most this many tokens
# "POD2", "POD 2", "D4", "day 5", "post-op day 6"; "3 days ago", "today", "yesterday"
POD_RE = re.compile(r"\b(?:pod|post-?op(?:erative)?\s+day|day|d)\s*(\d{1,2})\b", re.IGNORECASE)
AGO_RE = re.compile(r"\b(\d{1,3})\s+days?\s+ago\b|\b(today|yesterday)\b", re.IGNORECASE)
# what separates the stretches of a series: "POD2 96, POD4 55", "31 on 10 days ago, 9 ...",
# "150 today and 60 yesterday"
SEPARATOR_RE = re.compile(r"[,;()→>]|\b(?:and|then)\b", re.IGNORECASE)
# a value written as the earlier one: "was 62", "up from 60", "previously 40", "prev 30"
EARLIER_RE = re.compile(r"\b(?:was|were|from|previously|prev|before|last)\b[^,;()→>\d]*$",
                        re.IGNORECASE)
VALUE_RE = re.compile(r"(?<![\w/.])\d{1,3}(?:\.\d{1,2})?(?![\w/]|\.\d)")


def _labels(text: str) -> tuple[list[tuple[int, int, float]], bool, str]:
    """(start, end, day) of each day label, whether they are post-operative days, and the text
    with the labels blanked out (their digits are no values). An "ago" day is negative: the
    fewer, the later. A mix of kinds ("POD2 ... 3 days ago") orders nothing."""
    found = []
    for m in POD_RE.finditer(text):
        found.append((m.start(), m.end(), float(m.group(1)), "pod"))
    for m in AGO_RE.finditer(text):
        word = (m.group(2) or "").lower()
        ago = 0 if word == "today" else 1 if word == "yesterday" else int(m.group(1))
        found.append((m.start(), m.end(), float(-ago), "ago"))
    blanked = list(text)
    for start, end, _, _ in found:
        blanked[start:end] = " " * (end - start)
    kinds = {kind for *_, kind in found}
    labels = [(s, e, day) for s, e, day, _ in found] if len(kinds) == 1 else []
    return sorted(labels), kinds == {"pod"}, "".join(blanked)


def _stretches(text: str) -> list[tuple[int, int]]:
    bounds = [0, *(x for m in SEPARATOR_RE.finditer(text) for x in (m.start(), m.end())), len(text)]
    return [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds) - 1, 2)]


def _ordered(text: str) -> tuple[list[tuple[float | None, int, float]], bool, bool]:
    """The series' values oldest first as (day, position, value); whether the days are
    post-operative days; and whether every value had its own day label (the order is then
    certain)."""
    labels, pod, blanked = _labels(text)
    values = [(m.start(), float(m.group())) for m in VALUE_RE.finditer(blanked)][:MAX_VALUES]
    stretches = _stretches(text)
    dated: list[tuple[float | None, int, float]] = []
    for position, value in values:
        stretch = next(((a, b) for a, b in stretches if a <= position < b), (position, position))
        own = [day for start, end, day in labels if stretch[0] <= start and end <= stretch[1]]
        dated.append((own[0] if len(own) == 1 else None, position, value))
    if dated and all(day is not None for day, _, _ in dated):
        return sorted(dated, key=lambda d: (d[0] or 0.0, d[1])), pod, True
    # "89 (62 two days ago)", "89 (was 62)", "150, up from 60": the earlier values first
    earlier = [_in_brackets(text, position) or _marked_earlier(stretches, text, position)
               for _, position, _ in dated]
    return ([d for d, e in zip(dated, earlier, strict=True) if e]
            + [d for d, e in zip(dated, earlier, strict=True) if not e]), pod, False


def _marked_earlier(stretches: list[tuple[int, int]], text: str, position: int) -> bool:
    """Whether a word marking the earlier value stands before it in its own stretch ("was 62",
    "up from 60"; not "CRP was 150, 60 today")."""
    stretch = next(((a, b) for a, b in stretches if a <= position < b), (position, position))
    return EARLIER_RE.search(text[stretch[0]:position]) is not None


def crp_rise(text: str) -> float | None:
    """How much the latest CRP of a written series is above the one before it (negative when
    it fell); None for fewer than two values, or a rise that ended by post-operative day 3."""
    ordered, pod, _ = _ordered(text)
    if len(ordered) < 2:
        return None
    (_, _, before), (day_last, _, last) = ordered[-2], ordered[-1]
    if pod and day_last is not None and day_last <= EARLY_PEAK_DAY:
        return None
    return round(last - before, 1)


def crp_latest(text: str) -> float | None:
    """The latest CRP of a written series, when every value has its own day label; None
    otherwise (the highest value read then stands)."""
    ordered, _, certain = _ordered(text)
    return ordered[-1][2] if ordered and certain else None


def _inside(stretches: list[tuple[int, int, int]], m: Mention) -> bool:
    """Whether the mention starts within one of the sorted (text, start, end) stretches: the
    nearest stretch starting at or before it (a bisection, not every pair: hostile text)."""
    at = bisect_right(stretches, (m.text_index, m.start, sys.maxsize)) - 1
    if at < 0:
        return False
    index, start, end = stretches[at]  # a concept's spans never overlap (one per stretch)
    return index == m.text_index and start <= m.start < end


def _in_brackets(text: str, position: int) -> bool:
    return text.rfind("(", 0, position) > text.rfind(")", 0, position)


def from_series(mentions: list[Mention], concepts: AbstractSet[str]) -> list[Mention]:
    """What each counted series says: its latest value as the CRP (in place of the values read
    inside it: "CRP 182 POD2, 150 POD3, 88 POD5" is 88 now, not 182), and `crp_rising` when it
    rises. The twin cue `crp_series_latest` (the same patterns) carries the latest value, read
    from the words as the reader saw them, and only where every value has its own day label.
    Returns the mentions to keep."""
    if not {SERIES, LATEST, RISING, VALUE} <= concepts:
        return mentions
    series = [m for m in mentions if m.concept == SERIES and m.reason is None]
    if not series:
        return mentions
    latest = {(m.text_index, m.start, m.span): m.number for m in mentions if m.concept == LATEST}
    known = [m for m in series if latest.get((m.text_index, m.start, m.span)) is not None]
    # only a series whose order is certain replaces the values read inside it
    stretches = sorted((s.text_index, s.start, s.start + len(s.span)) for s in known)
    kept = [m for m in mentions if not (m.concept == VALUE and _inside(stretches, m))]
    for m in known:
        kept.append(replace(m, concept=VALUE, number=latest[(m.text_index, m.start, m.span)]))
    for m in series:
        if m.number is not None and m.number > 0:
            kept.append(replace(m, concept=RISING, number=None))
    return kept
