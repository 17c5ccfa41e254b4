"""Pain scores read across a text: which pain a score belongs to, and which pain dominates.

Letters score the leg in many ways ("leg pain 8/10", "sciatica, which he rates eight", "Leg VAS
75 mm") and often not next to the word leg at all ("he rates it 8/10", "NRS 7"). A score that
names no site counts as the limb's where the same text says the leg dominates, or scores the
back lower: if the leg is the worse pain, it is at least as bad as any pain the letter scores.
A leg score above the back score is leg-dominant pain, the reverse back-dominant.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Set as AbstractSet
from dataclasses import replace

from services.triage.engine.text.days import WORD_NUMBERS
from services.triage.engine.text.mention import MAX_QUOTE, MAX_SENTENCE, Mention

# "one" to "ten" (days.py knows more number words: "a couple", "a fortnight")
WORDS = {word: WORD_NUMBERS[word] for word in
         ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")}
# A digit run not part of a level name (L5, S1) or of a ratio's denominator read first.
SCORE_RE = re.compile(r"(?<![A-Za-z\d/.])(\d{1,3}(?:\.\d)?)(?![\d])|\b(" + "|".join(WORDS) + r")\b",
                      re.IGNORECASE)
MM_RE = re.compile(r"\bmm\b", re.IGNORECASE)
# A score the words before put in the past: "improved from 9/10 to 3/10", "was 8/10 pre-op".
EARLIER_RE = re.compile(r"\b(from|was|were|previously|before|pre-?op\w*|used to be|initially|"
                        r"originally)\s+(about\s+|around\s+|an?\s+|at\s+)?$", re.IGNORECASE)
# "the same pain has come back at 7/10", "sciatica as pre-op back at 8/10": back as in returned,
# so the score names no site
RETURNED_RE = re.compile(r"\b(come|came|comes|coming|is|'s|was|were|has|gone|went|got|"
                         r"pre-?op)\s+$", re.IGNORECASE)
# A break just before the first digit: "leg, 2/10" (not "sciatica, leg 8/10")
LOOSE_RE = re.compile(r"^[^\d]*[,;:(.|]\s*\d")
LIMB, BACK, GENERAL = "limb_pain_score", "back_pain_score", "general_pain_score"
LEG_DOMINANT, BACK_DOMINANT = "leg_dominant_pain", "back_dominant_pain"


def pain_score(text: str) -> float | None:
    """The 0-10 score in the words: "8/10", "eight out of ten", "VAS 75 mm" (tenths: 7.5)."""
    found = SCORE_RE.search(text)
    if found is None:
        return None
    number = float(found.group(1)) if found.group(1) else float(WORDS[found.group(2).lower()])
    if MM_RE.search(text) or number > 10:  # a 100 mm visual analogue scale
        number = number / 10
    # NRS is whole numbers; a half (VAS 75 mm, "7.5/10") goes up: the safer side of 7
    return float(int(number + 0.5)) if 0 <= number <= 10 else None


def _counted(mentions: list[Mention], concept: str) -> list[Mention]:
    return [m for m in mentions if m.concept == concept and m.reason is None
            and m.number is not None]


class _ByStart:
    """Mentions by where they start: those overlapping a span are found in a window, not by
    comparing every pair (a letter of 60,000 characters dense with scores has thousands)."""

    def __init__(self, mentions: list[Mention]) -> None:
        self.items = sorted(mentions, key=lambda m: m.start)
        self.starts = [m.start for m in self.items]
        self.longest = max((len(m.span) for m in mentions), default=0)

    def overlapping(self, m: Mention) -> list[Mention]:
        low = bisect_left(self.starts, m.start - self.longest)
        high = bisect_left(self.starts, m.start + len(m.span))
        return [o for o in self.items[low:high] if m.start < o.start + len(o.span)]


def _joined(first: Mention, second: Mention, concept: str) -> Mention:
    a, b = sorted((first, second), key=lambda m: m.start)
    return replace(a, concept=concept, number=None,
                   span=f"{a.span} … {b.span}"[:MAX_QUOTE],
                   sentence=" … ".join(dict.fromkeys((a.sentence, b.sentence)))[:MAX_SENTENCE])


def _earlier(m: Mention, text: str) -> bool:
    return EARLIER_RE.search(text[max(m.start - 30, 0):m.start]) is not None


def misread_site_scores(mentions: list[Mention]) -> list[Mention]:
    """One score read for two sites: "8/10 leg, 2/10 back" gives "leg , 2/10" and "2/10 back";
    "leg 8/10 back 3/10" gives "leg 8/10" and "8/10 back". The site the score follows without a
    break keeps it ("leg 8/10"); past a comma it is the next site's ("2/10 back")."""
    out = []
    for index in {m.text_index for m in mentions}:
        backs = _ByStart([m for m in _counted(mentions, BACK) if m.text_index == index])
        for limb in (m for m in _counted(mentions, LIMB) if m.text_index == index):
            for back in backs.overlapping(limb):
                out.append(back if _follows_its_site(limb) else limb)
    return out


def _follows_its_site(m: Mention) -> bool:
    """"leg 8/10", "sciatica 8/10": the site's words run into the score; "leg, 2/10" do not."""
    return LOOSE_RE.match(m.span) is None


def _returned(m: Mention, text: str) -> bool:
    return m.span[:4].lower() == "back" and RETURNED_RE.search(
        text[max(m.start - 25, 0):m.start]) is not None


def _one_text(mentions: list[Mention], text: str) -> list[Mention]:
    limbs, backs = _counted(mentions, LIMB), _counted(mentions, BACK)
    returned = [m for m in backs if _returned(m, text)]
    backs = [m for m in backs if m not in returned]
    derived: list[Mention] = []
    sited = _ByStart(limbs + backs)
    generals = [g for g in _counted(mentions, GENERAL) + returned
                if not sited.overlapping(g) and not _earlier(g, text)]
    if not limbs and generals:
        best = max(generals, key=lambda m: m.number or 0)
        back = max((m.number or 0 for m in backs), default=None)
        leg_dominant = any(m.concept == LEG_DOMINANT and m.reason is None for m in mentions)
        if leg_dominant or (back is not None and (best.number or 0) > back):
            limbs = [replace(best, concept=LIMB)]
            derived.extend(limbs)
    if limbs and backs:
        limb = max(limbs, key=lambda m: m.number or 0)
        back_score = max(backs, key=lambda m: m.number or 0)
        if limb.number != back_score.number:
            leg = (limb.number or 0) > (back_score.number or 0)
            derived.append(_joined(limb, back_score, LEG_DOMINANT if leg else BACK_DOMINANT))
    return derived


def compared(mentions: list[Mention], texts: list[str],
             concepts: AbstractSet[str]) -> list[Mention]:
    """Limb scores taken from unattributed ones, and dominance from the scores, per text."""
    if not {LIMB, BACK, GENERAL, LEG_DOMINANT, BACK_DOMINANT} <= concepts:
        return []
    derived: list[Mention] = []
    for index in sorted({m.text_index for m in mentions}):
        derived.extend(_one_text([m for m in mentions if m.text_index == index], texts[index]))
    return derived
