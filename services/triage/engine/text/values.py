"""The number a mention's words give, by the concept's value kind (lexicon `value:`)."""

from __future__ import annotations

import re

from services.triage.engine.text.days import days_ago, days_ahead, weeks_ago
from services.triage.engine.text.scores import pain_score
from services.triage.engine.text.trends import crp_latest, crp_rise

NUMBER_RE = re.compile(r"\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:[.,]\d+)?")
THOUSANDS_RE = re.compile(r"\d{1,3}(?:,\d{3})+")
MM_RE = re.compile(r"(?<![\d.,])((?:less\s+than|under|below|<)\s*)?(\d{1,2}(?:[.,]\d)?)\s*mm\b",
                   re.IGNORECASE)


KG_RE = re.compile(r"(\d{2,3}(?:[.,]\d)?)\s*(?:kgs?|kilos?)\b", re.IGNORECASE)
# between two weights: the second is the earlier one ("52.4kg (was 59.6kg in July)"), or the
# first is said to be today's right after it ("74 kg today vs 81 kg in August"; "74 kg, now 70 kg"
# is a fall to 70)
EARLIER_SECOND_RE = re.compile(r"\(|\b(?:was|from|previously|prev|before|usual)\b"
                               r"|^\s*(?:today|now|currently)\b", re.IGNORECASE)


def weight_drop(text: str) -> float | None:
    """Kilograms lost between the two weights of a span: "61kg in Aug -> 55kg today" is 6, "52.4kg
    (was 59.6kg)" 7.2; a gain is negative."""
    found = list(KG_RE.finditer(text))
    if len(found) < 2:
        return None
    first, second = (float(m.group(1).replace(",", ".")) for m in found[:2])
    if EARLIER_SECOND_RE.search(text[found[0].end():found[1].start()]):
        first, second = second, first
    return round(first - second, 1)


def number(text: str) -> float | None:
    # The span's text, not token by token: the tokenizer splits "1,200" into 1 , 200.
    found = NUMBER_RE.search(text)
    if found is None:
        return None
    words = found.group()  # "1,200 ml" is twelve hundred; "38,5" is a decimal comma
    return float(words.replace(",", "") if THOUSANDS_RE.fullmatch(words)
                 else words.replace(",", "."))


def millimetres(text: str) -> float | None:
    """The largest "N mm" in a span: "from 1 mm to 2 mm" is 2, "less than 1 mm" 0.9, and "S1"
    is not a number."""
    # "less than 1 mm" is just under it (a tenth: reports give sizes to a tenth), so a bound
    # stays on its side of the brief's 1 mm and 2 mm
    sizes = [float(n.replace(",", ".")) - (0.1 if bound else 0.0)
             for bound, n in MM_RE.findall(text)]
    return max(sizes) if sizes else None


# value kind -> how its words give the number (every other kind: the first number in them)
READERS = {"length_mm": millimetres, "days_until": days_ahead, "weeks_ago": weeks_ago,
           "days_ago": days_ago, "pain_score": pain_score, "weight_drop_kg": weight_drop,
           "crp_rise": crp_rise, "crp_latest": crp_latest}


def value_of(kind: str | None, text: str) -> float | None:
    """The number the words of a mention give for its concept's value kind; None without one."""
    if kind is None:
        return None
    return READERS.get(kind, number)(text)
