"""Calendar dates in a letter, as the relative words the reading understands.

Clinic letters date things: "revision on 12/11/2026", "DOS 12.11.26", "since 21/11 she has
had…", "her fusion is booked for 3 December". Every structured time in a referral counts from
the day it was received (`weeks_before_referral`, `current_episode_days`), so with that day
(`as_of`, the day intake received the referral, UTC) a date becomes what it means for the
rules: "on 12/11/2026" reads as "15 days ago", "on 3 December" as "in 6 days". The reading then
goes through the same patterns and context rules as a letter that wrote the relative words
(spelling.py keeps the quote as written).

Dates are day first (UK), except for a patient whose jurisdiction writes them month first (the
United States and its territories, the Philippines: `month_first`): "since 10/11" is 11 October
there, 10 November here. A date without a year is the nearest such day; a numeric one without
a year is a date only after a word that introduces one ("on 12/11", "since 21/11", "TCI
04/12", "Date of surgery: 04/12"), never a count's "/7" or "/12" before "ago", "post" or "after"
("12/7 ago" and "3/12 post-op" are counts of days and months) and never over 5 or 10 ("from
5/5 to 3/5" is a power grade, "from 8/10" a pain score). Dates more than a year away are left
as written: no rule counts them.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8,
          "sep": 9, "oct": 10, "nov": 11, "dec": 12}
# "May" and "Mar" only capitalised: "she may 12…" is a verb
MONTH = (r"(?P<month>(?i:jan(?:uary)?|feb(?:ruary)?|apr(?:il)?|june?|july?|aug(?:ust)?"
         r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|march)|May|MAY|Mar|MAR)")
DAY = r"(?P<day>[0-3]?\d)(?i:st|nd|rd|th)?"
YEAR = r"(?:,?\s+(?P<year>(?:19|20)\d\d))?"
# the words that introduce a date; "on" and "dated" go with it ("on 12/11" is "15 days ago")
# a weekday between ("on Fri 20/11", "since Tues 24/11") or alone ("Fri 20/11") leads a date too
WEEKDAY = (r"(?:\b(?i:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues?|weds?"
           r"|thu(?:rs?)?|fri|sat|sun)\b\.?,?\s+)")
LEAD = (r"(?P<lead>(?P<head>\b(?P<word>(?i:on|dated|since|from|until|till|by|dos|tci|date))\b"
        rf"(?:\s+(?i:of)\s+[A-Za-z]+)?\s*:?\s*(?:(?i:the)\s+)?){WEEKDAY}?|{WEEKDAY})?")
NAMED = (re.compile(rf"{LEAD}\b{DAY}(?:\s+(?i:of))?\s+{MONTH}{YEAR}(?!\w)"),
         re.compile(rf"{LEAD}\b{MONTH}\.?\s+{DAY}\b{YEAR}(?!\w)"))
NUMERIC = re.compile(
    rf"{LEAD}(?<![\w/.\-])(?P<day>[0-3]?\d)(?P<sep>[/.\-])(?P<month>[01]?\d)"
    r"(?:(?P=sep)(?P<year>(?:19|20)?\d\d))?(?![\w/]|[.\-]\d)")
NUMERIC_MONTH_FIRST = re.compile(
    rf"{LEAD}(?<![\w/.\-])(?P<month>[01]?\d)(?P<sep>[/.\-])(?P<day>[0-3]?\d)"
    r"(?:(?P=sep)(?P<year>(?:19|20)?\d\d))?(?![\w/]|[.\-]\d)")
# ISO 3166 countries (the part of `Patient.jurisdiction` before "-") that write month first
MONTH_FIRST_COUNTRIES = frozenset({"US", "PR", "GU", "VI", "AS", "MP", "UM", "PH"})
COUNT_AFTER = re.compile(r"\s*(?i:ago|post|after|p/?o\b|postop)")
# year-less "N/5" and "N/10" are a power grade and a pain score ("from 5/5 to 3/5", "(4/5)")
SCORE_DENOMINATORS = (5, 10)
# "12/7 ago", "3/12 post-op": a count of days or months before "ago" or "post" has one of these
# second numbers ("/52" is no month); "on Fri 13/11 after a training session" is a date
COUNT_DENOMINATORS = (7, 12)
WINDOW = timedelta(days=366)
# A letter dates a few dozen things at most; the words are longer than the date ("since 1/11"
# is "since 26 days ago"), so past this many the text is read as written and stays bounded.
MAX_DATES = 64
ONSET_WORDS = ("since", "from")


def writes_month_first(jurisdiction: str | None) -> bool:
    """Whether referrals from this jurisdiction ("US-TX", "GB-ENG") write numeric dates month
    first."""
    return (jurisdiction or "").split("-", 1)[0].strip().upper() in MONTH_FIRST_COUNTRIES


def _year(written: str | None) -> int | None:
    if written is None:
        return None
    return int(written) + (2000 if len(written) == 2 else 0)


def _day(year: int | None, month: int, day: int, as_of: date) -> date | None:
    """The date meant; without a year, the one nearest the day of receipt."""
    years = [year] if year is not None else [as_of.year - 1, as_of.year, as_of.year + 1]
    days = []
    for y in years:
        try:
            days.append(date(y, month, day))
        except ValueError:
            continue
    if not days:
        return None
    return min(days, key=lambda d: abs((d - as_of).days))


def relative(when: date, as_of: date) -> str:
    """A date as the relative words a letter would use."""
    gone = (as_of - when).days
    if gone == 0:
        return "today"
    if gone > 0:
        return f"{gone} day{'s' if gone > 1 else ''} ago"
    return f"in {-gone} day{'s' if gone < -1 else ''}"


def _kept_lead(head: str | None, word: str | None) -> str:
    """"since 21/11" keeps its "since", "TCI: 04/12" its "TCI: "; "on", "dated" and a weekday
    go ("on Fri 20/11" is "7 days ago")."""
    return "" if head is None or (word or "").lower() in ("on", "dated") else head


def _found(text: str, as_of: date, month_first: bool = False
           ) -> list[tuple[int, int, str | None, str | None, date]]:
    """(start, end, the words before, their first word, the date) of every date written."""
    found = []
    for m in (m for pattern in NAMED for m in pattern.finditer(text)):
        month = MONTHS[m.group("month")[:3].lower()]
        when = _day(_year(m.group("year")), month, int(m.group("day")), as_of)
        if when is not None:
            found.append((m.start(), m.end(), m.group("head"), m.group("word"), when))
    for m in (NUMERIC_MONTH_FIRST if month_first else NUMERIC).finditer(text):
        year = _year(m.group("year"))
        month = int(m.group("month"))
        # the second number of "4/5" or "8/10" is a grade's or a score's whichever comes first
        second = int(m.group("day" if month_first else "month"))
        count = second in COUNT_DENOMINATORS and COUNT_AFTER.match(text, m.end())
        if year is None and (m.group("lead") is None or second in SCORE_DENOMINATORS
                             or m.group("sep") == "-" or count):
            continue  # "12/7 ago", "4/5", "from 7-8": a count, a grade or a range, not a date
        when = _day(year, month, int(m.group("day")), as_of)
        if when is not None:
            found.append((m.start(), m.end(), m.group("head"), m.group("word"), when))
    return sorted(found)


def calendar_dates(text: str, as_of: date,
                   month_first: bool = False) -> list[tuple[int, int, str, bool]]:
    """(start, end, relative words, whether it dates an onset) for the first `MAX_DATES`
    calendar dates within a year of `as_of`. "since 22/11" and "from 22/11" date an onset; "on
    20/11", "DOS 12/11" only say when something happened (reading.py: no worsening cue)."""
    dated: list[tuple[int, int, str, bool]] = []
    for start, end, lead, word, when in _found(text, as_of, month_first):
        if abs(when - as_of) > WINDOW or (dated and start < dated[-1][1]):
            continue
        onset = (word or "").lower() in ONSET_WORDS
        dated.append((start, end, _kept_lead(lead, word) + relative(when, as_of), onset))
        if len(dated) == MAX_DATES:
            break
    return dated
