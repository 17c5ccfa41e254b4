"""How many days ahead a scheduled operation is, from the relative words a letter uses.

Triage has no calendar date for the referral (every time in a referral is relative to it), so
only relative words are read: "in ten days", "in 2 weeks' time", "next Tuesday", "a week on
Friday", "tomorrow". A weekday is read at its latest ("next Tuesday" is at most 13 days away,
"this Monday" at most 6): the 3.2 modifier asks whether it is within 14 days, and every such
phrase is. A calendar date ("on 3 December") is not read: without today's date it says nothing.
"""

from __future__ import annotations

import re

WORD_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "twenty": 20, "thirty": 30, "couple": 2, "few": 3,
}
UNIT_DAYS = {"day": 1, "week": 7, "wk": 7, "fortnight": 14, "month": 30}
WEEKDAY = (r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday"
           r"|mon|tue|tues|weds|wed|thu|thur|thurs|fri|sat|sun)")
COUNT_RE = re.compile(
    r"\b(\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
    r"fourteen|fifteen|twenty|thirty|couple|few)(?:\s+of)?\s+(day|week|wk|fortnight|month)s?\b",
    re.IGNORECASE)
# (pattern, days at the latest): the first four before a counted span ("in 10 days"), the rest
# after it
PHRASES = (
    (re.compile(rf"\ba\s+week\s+(?:on|from)\s+{WEEKDAY}\b|\b{WEEKDAY}\s+week\b", re.I), 13),
    (re.compile(r"\b(?:tomorrow|tmrw)\s+week\b|\ba\s+week\s+(?:today|tomorrow)\b", re.I), 8),
    (re.compile(r"\bweek\s+after\s+next\b", re.I), 14),
    (re.compile(r"\bday\s+after\s+tomorrow\b", re.I), 2),
    (re.compile(r"\b(?:tomorrow|tmrw)\b", re.I), 1),
    (re.compile(r"\btoday\b", re.I), 0),
    (re.compile(rf"\bnext\s+(?:week|{WEEKDAY})\b", re.I), 13),
    (re.compile(rf"\bthis\s+(?:coming\s+)?(?:week|weekend|{WEEKDAY})\b|\bon\s+{WEEKDAY}\b", re.I),
     6),
    (re.compile(r"\bfortnight\b", re.I), 14),
    (re.compile(r"\bnext\s+month\b", re.I), 30),
)


def _counted_days(text: str) -> int | None:
    """The days a counted span names ("ten days", "2 weeks", "a couple of weeks")."""
    counted = COUNT_RE.search(text)
    if counted is None:
        return None
    count, unit = counted.group(1).lower(), counted.group(2).lower()
    number = WORD_NUMBERS.get(count)
    return (number if number is not None else int(count)) * UNIT_DAYS[unit]


def days_ahead(text: str) -> float | None:
    """Days until the time the words name, at the latest; None when they name no such time."""
    for pattern, days in PHRASES[:4]:  # "a week on Friday" before "a week"
        if pattern.search(text):
            return float(days)
    counted = _counted_days(text)
    if counted is not None:
        return float(counted)
    for pattern, days in PHRASES[4:]:
        if pattern.search(text):
            return float(days)
    return None


# "12/7" (days), "4/52" (weeks), "3/12" (months): the clinical shorthand for a time ago
SHORTHAND_RE = re.compile(r"\b(\d{1,3})\s*/\s*(7|52|12)\b(?!\s*/\s*\d)")  # not a date
SHORTHAND_DAYS = {"7": 1, "52": 7, "12": 30}
LAST_RE = re.compile(rf"\blast\s+(?:week|weekend|{WEEKDAY})\b", re.IGNORECASE)
# "since Saturday": the latest such day, at most a week back ("since last Saturday" is LAST_RE)
SINCE_WEEKDAY_RE = re.compile(rf"\bsince\s+{WEEKDAY}\b", re.IGNORECASE)
# "noticed on Wednesday": a weekday named for a past onset is the latest such day, a week back at
# most (the lexicon reads it only after a word of onset)
ON_WEEKDAY_RE = re.compile(rf"\bon\s+{WEEKDAY}\b", re.IGNORECASE)
YESTERDAY_RE = re.compile(r"\byesterday\b", re.IGNORECASE)


def days_ago(text: str) -> int | None:
    """How many days back the words put an event ("two weeks ago", "12/7 ago", "last week"),
    at the earliest the words allow; None when they name no such time."""
    if shorthand := SHORTHAND_RE.search(text):
        return int(shorthand.group(1)) * SHORTHAND_DAYS[shorthand.group(2)]
    if (counted := _counted_days(text)) is not None:
        return counted
    if LAST_RE.search(text):
        return 13  # "last week", "last Tuesday": at most 13 days back
    if SINCE_WEEKDAY_RE.search(text) or ON_WEEKDAY_RE.search(text):
        return 7
    if YESTERDAY_RE.search(text):
        return 1
    return None


def weeks_ago(text: str) -> float | None:
    """`days_ago` in weeks, to a tenth."""
    days = days_ago(text)
    return None if days is None else round(days / 7, 1)
