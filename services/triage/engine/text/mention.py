"""One mention of a lexicon concept in a referral's text (shared by the reading and its scores)."""

from __future__ import annotations

from dataclasses import dataclass

MAX_QUOTE = 500  # characters of a quoted span
MAX_SENTENCE = 1000  # characters of a quoted sentence


@dataclass(frozen=True, slots=True)
class Mention:
    concept: str
    source: str
    span: str
    sentence: str
    text_index: int
    sentence_start: int
    start: int
    reason: str | None = None  # why it was set aside; None when it counts
    uncertain: bool = False
    number: float | None = None
    queried: bool = False  # "?CES", "query CES", "suspected CES": a question the text may answer
    sentence_index: int = 0  # which sentence of its text
