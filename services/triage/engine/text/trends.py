"""A CRP written as a series ("CRP POD4 41 -> POD6 77", "CRP trend: POD2 96, POD4 55, POD5 68,
POD6 81", "CRP 89 (2 days ago: 62)"): whether it is rising now.

The brief counts a CRP as abnormal when it rises after the third post-operative day, whatever
its level. Ward notes give the values, not the word "rising", so the lexicon's `crp_series`
cue takes the whole series and `crp_rise` below says by how much the latest value is above the
one before it; a series that rises is read as the lexicon's `crp_rising`. The latest value is
the one with the highest post-operative day, or the fewest days ago, or (without such labels)
the one outside the brackets ("89 (was 62)"), or else the last one written: ward notes list a
trend oldest first. A rise that ends by day 3 is the expected peak and is not counted.
"""

from __future__ import annotations

import re
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
# the stretches of a series between its separators: "POD2 96", "31 on 10 days ago", "62"
STRETCH_RE = re.compile(r"[^,;()→>]+")
VALUE_RE = re.compile(r"(?<![\w/.])\d{1,3}(?:\.\d)?(?![\w/]|\.\d)")


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


def _ordered(text: str) -> tuple[list[tuple[float | None, int, float]], bool]:
    """The series' values oldest first as (day, position, value), and whether the days are
    post-operative days. A value takes the one day label of its stretch between separators
    ("POD2 96", "31 on 10 days ago", "2 days ago: 62"), else the last label before it."""
    labels, pod, blanked = _labels(text)
    values = [(m.start(), float(m.group())) for m in VALUE_RE.finditer(blanked)][:MAX_VALUES]
    stretches = [(m.start(), m.end()) for m in STRETCH_RE.finditer(text)]
    dated = []
    for position, value in values:
        stretch = next(((a, b) for a, b in stretches if a <= position < b), (position, position))
        own = [day for start, end, day in labels if stretch[0] <= start and end <= stretch[1]]
        before = [day for start, end, day in labels if end <= position]
        day = own[0] if len(own) == 1 else (before[-1] if before else None)
        dated.append((day, position, value))
    if labels and all(day is not None for day, _, _ in dated):
        return sorted(dated, key=lambda d: (d[0] or 0.0, d[1])), pod
    # "89 (62 two days ago)", "89 (was 62)": what stands in brackets is the earlier value
    inside = [_in_brackets(text, position) for _, position, _ in dated]
    return ([d for d, i in zip(dated, inside, strict=True) if i]
            + [d for d, i in zip(dated, inside, strict=True) if not i]), pod


def crp_rise(text: str) -> float | None:
    """How much the latest CRP of a written series is above the one before it (negative when
    it fell); None for fewer than two values, or a rise that ended by post-operative day 3."""
    ordered, pod = _ordered(text)
    if len(ordered) < 2:
        return None
    (_, _, before), (day_last, _, last) = ordered[-2], ordered[-1]
    if pod and day_last is not None and day_last <= EARLY_PEAK_DAY:
        return None
    return round(last - before, 1)


def crp_latest(text: str) -> float | None:
    """The latest CRP of a written series (None without a value)."""
    ordered, _ = _ordered(text)
    return ordered[-1][2] if ordered else None


def _in_brackets(text: str, position: int) -> bool:
    return text.rfind("(", 0, position) > text.rfind(")", 0, position)


def from_series(mentions: list[Mention], concepts: AbstractSet[str]) -> list[Mention]:
    """What each counted series says: its latest value as the CRP (in place of the values read
    inside it: "CRP 182 POD2, 150 POD3, 88 POD5" is 88 now, not 182), and `crp_rising` when it
    rises. The twin cue `crp_series_latest` (the same patterns) carries the latest value, read
    from the words as the reader saw them. Returns the mentions to keep."""
    if not {SERIES, LATEST, RISING, VALUE} <= concepts:
        return mentions
    series = [m for m in mentions if m.concept == SERIES and m.reason is None]
    if not series:
        return mentions
    latest = {(m.text_index, m.start, m.span): m.number for m in mentions if m.concept == LATEST}
    inside = {(s.text_index, s.start, s.start + len(s.span)) for s in series}
    kept = [m for m in mentions if not (m.concept == VALUE and any(
        index == m.text_index and start <= m.start < end for index, start, end in inside))]
    for m in series:
        value = latest.get((m.text_index, m.start, m.span))
        if value is not None:
            kept.append(replace(m, concept=VALUE, number=value))
        if m.number is not None and m.number > 0:
            kept.append(replace(m, concept=RISING, number=None))
    return kept
