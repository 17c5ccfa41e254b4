"""The number a mention's words give, by the concept's value kind (lexicon `value:`)."""

from __future__ import annotations

import re

from services.triage.engine.text.days import days_ago, days_ahead, weeks_ago
from services.triage.engine.text.scores import pain_score

NUMBER_RE = re.compile(r"\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:[.,]\d+)?")
THOUSANDS_RE = re.compile(r"\d{1,3}(?:,\d{3})+")
MM_RE = re.compile(r"(?<![\d.,])(\d{1,2}(?:[.,]\d)?)\s*mm\b", re.IGNORECASE)


def number(text: str) -> float | None:
    # The span's text, not token by token: the tokenizer splits "1,200" into 1 , 200.
    found = NUMBER_RE.search(text)
    if found is None:
        return None
    words = found.group()  # "1,200 ml" is twelve hundred; "38,5" is a decimal comma
    return float(words.replace(",", "") if THOUSANDS_RE.fullmatch(words)
                 else words.replace(",", "."))


def millimetres(text: str) -> float | None:
    """The largest "N mm" in a span: "from 1 mm to 2 mm" is 2, and "S1" is not a number."""
    sizes = [float(n.replace(",", ".")) for n in MM_RE.findall(text)]
    return max(sizes) if sizes else None


# value kind -> how its words give the number (every other kind: the first number in them)
READERS = {"length_mm": millimetres, "days_until": days_ahead, "weeks_ago": weeks_ago,
           "days_ago": days_ago, "pain_score": pain_score}


def value_of(kind: str | None, text: str) -> float | None:
    """The number the words of a mention give for its concept's value kind; None without one."""
    if kind is None:
        return None
    return READERS.get(kind, number)(text)
