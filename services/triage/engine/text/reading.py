"""Read free text with the lexicon: every concept mention, its sentence, and whether it counts.

A mention counts unless ConText puts it in a cancelling context (negated, hypothetical,
historical, family, ruled out; longstanding or explained where the concept says so). Uncertain
mentions ("possible", "?", "query") count: the safer reading.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from itertools import accumulate
from typing import Any

from services.triage.engine.text.dialogue import PARENT_WORDS, written_by_child
from services.triage.engine.text.lexicon import (
    CANCELLING,
    OPTIONAL_CANCELLING,
    Combination,
    Concept,
    Lexicon,
)
from services.triage.engine.text.mention import MAX_QUOTE, MAX_SENTENCE, Mention
from services.triage.engine.text.pipeline import CUE_GROUP, forget_if_grown, pipeline
from services.triage.engine.text.scores import compared, misread_site_scores
from services.triage.engine.text.spelling import Respelled, respell, speller_for
from services.triage.engine.text.trends import from_series
from services.triage.engine.text.values import value_of

SPAN_GROUP = "medspacy_spans"
PATIENT_WORDS = frozenset({"she", "he", "her", "him", "herself", "himself", "i", "me", "my",
                           "myself", "patient", "pt"})
QUERIED = {"POSSIBLE_EXISTENCE", "QUERY"}
# What a sentence after a finding uses to speak of it again (`_stable_next`).
ANAPHOR_RE = re.compile(
    r"\b(it|this|which|the (weakness|deficit|power|foot drop|drop foot)|power|strength)\b"
    # a sentence with its subject left out ("Present since early Nov, stable."), a re-test ("Re-
    # tested Tuesday: still 4/5, unchanged") or the grade again: the same deficit (session 23)
    r"|^\W*(present|still|unchanged|stable|same|not changed|no change|not progressing|"
    r"not worsening|not worse|no worse|no progression|improving)\b"
    r"|\bre-?(tested|checked|examined|test|check)\b|\bstill [0-5][+-]?/5\b",
    re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Reading:
    mentions: tuple[Mention, ...]
    chars_read: int
    chars_skipped: int  # text beyond the lexicon's max_text_chars, not read


def bounded(texts: list[tuple[str, str]], limit: int) -> tuple[list[tuple[str, str]], int]:
    """Keep at most `limit` characters across all texts, in order; return what was skipped."""
    kept, used, skipped = [], 0, 0
    for source, text in texts:
        room = max(limit - used, 0)
        if room:
            kept.append((source, text[:room]))
        used += min(len(text), room)
        skipped += max(len(text) - room, 0)
    return kept, skipped


def _reason(concept: Concept, categories: set[str]) -> str | None:
    if "AFFIRMED" in categories:  # a form's own answer: "saddle anaesthesia: no, retention: yes"
        categories = categories - {"NEGATED_EXISTENCE"}
    for category, reason in CANCELLING.items():
        if category in categories and not (category == "HISTORICAL" and concept.history_counts):
            return reason
    for category in concept.also_cancelled_by:
        if category in categories:
            return OPTIONAL_CANCELLING[category]
    return None


def _outside_findings(modifiers: list[Any], findings: list[Any]) -> list[Any]:
    """Modifiers not lying inside a finding: one inside is part of its words ("can't pee", "not
    passed urine"). Found by the furthest end of the findings starting at or before each."""
    spans = sorted((f.start, f.end) for f in findings)
    starts = [start for start, _ in spans]
    furthest = list(accumulate((end for _, end in spans), max))
    out = []
    for modifier in modifiers:
        start, end = modifier.modifier_span
        i = bisect_right(starts, start)
        if not i or furthest[i - 1] < end:
            out.append(modifier)
    return out


def _modifiers_by_sentence(doc: Any, findings: list[Any]) -> dict[int, list[Any]]:
    """ConText's modifiers outside every finding, by the first token of their sentence (a
    modifier reaches only its own sentence; comparing each mention with the doc's every
    modifier made long texts quadratic)."""
    graph = doc._.context_graph
    out: dict[int, list[Any]] = defaultdict(list)
    for modifier in _outside_findings(list(graph.modifiers) if graph is not None else [],
                                      findings):
        out[doc[modifier.modifier_span[0]].sent.start].append(modifier)
    return out


def _categories(span: Any, modifiers: list[Any], parent_is_patient: bool = False) -> set[str]:
    """ConText categories that reach a span from its sentence's modifiers.

    Helper cues are not ConText targets (their own span group), so the graph is asked whether
    each modifier reaches the span: "no discharge" does not make a wound "discharging".
    """
    out = set()
    for modifier in modifiers:
        start, end = modifier.modifier_span
        if start < span.end and span.start < end:
            continue  # overlapping words modify nothing here
        if modifier.modifies(span):
            category = modifier.category.upper()
            if category == "FAMILY" and (_patient_between(span, start, end) or (
                    parent_is_patient and span.doc[start].lower_ in PARENT_WORDS)):
                continue  # "Mum has noticed she is wetting herself": the relative reports
            out.add(category)
    return out


def _patient_between(span: Any, start: int, end: int) -> bool:
    """Whether the patient is named between a relative and a finding ("she", "my", "the
    patient"): then the relative tells of the patient, not of themselves."""
    low, high = (end, span.start) if end <= span.start else (span.end, start)
    return any(span.doc[i].lower_ in PATIENT_WORDS for i in range(low, high))


def _per_label(spans: Any) -> list[Any]:
    """The longest span of each stretch, label by label (overlapping variants say nothing more)."""
    from spacy.util import filter_spans

    by_label: dict[str, list[Any]] = defaultdict(list)
    for span in spans:
        by_label[span.label_].append(span)
    return [s for group in by_label.values() for s in filter_spans(group)]


def _longest(spans: list[Any], fill_ins: frozenset[str] = frozenset(),
             masks: frozenset[str] = frozenset()) -> list[Any]:
    """One span per stretch of a concept, and none inside a longer span of another concept.

    "fractured rod" is a broken implant, not a fracture; "cauda equina compression" is the
    imaging finding, not the bare name. Spans of different concepts that merely overlap are both
    kept ("bilateral leg pain on walking" is bilateral pain and claudication). Helper cues are
    kept apart and never compete, and so are `fill_ins` (cause-model features set only where
    the referrer left a field empty): "sciatica scored 8/10" is a limb score *and* sciatica —
    except inside a mask, whose whole point is to hide ("walking distance unlimited").
    """
    kept = _per_label(spans)
    # a span holding s starts no earlier than the longest span's length before it: a window,
    # not every pair (a hostile letter dense with findings has thousands of spans)
    by_start = sorted(kept, key=lambda o: o.start)
    starts = [o.start for o in by_start]
    longest = max((o.end - o.start for o in kept), default=0)
    return [
        s for s in kept
        if not any(
            (s.label_ not in fill_ins or o.label_ in masks)
            and o.label_ != s.label_ and o.start <= s.start and s.end <= o.end
            and (o.end - o.start) > (s.end - s.start)
            for o in by_start[bisect_left(starts, s.start - longest):
                              bisect_right(starts, s.start)]
        )
    ]


def _doc_mentions(doc: Any, index: int, source: str, lex: Lexicon,
                  written: Respelled) -> list[Mention]:
    # One span per stretch of each cue ("has been the same since" holds "the same"): each would
    # be checked against every modifier of its sentence. A date says when, not that anything
    # worsens: "seen on 20/11: EHL 4/5" is read "seen 7 days ago", and its "days ago" is no cue
    # ("since 22/11" dates an onset, and stays one).
    cues = [c for c in _per_label(doc.spans.get(CUE_GROUP, []))
            if not written.in_date(c.start_char, c.end_char)]
    all_findings = list(doc.spans.get(SPAN_GROUP, []))
    findings = _longest(all_findings, lex.fill_ins, lex.masks)
    sentence_of = {s.start: i for i, s in enumerate(doc.sents)}
    modifiers = _modifiers_by_sentence(doc, [s for s in all_findings if s.label_ not in lex.dated])
    by_child = written_by_child(doc.text)  # then "Mum" is the patient (dialogue.py)
    out = []
    for span in sorted(findings + cues, key=lambda s: (s.start, s.end)):
        concept = lex.concepts[span.label_]
        if concept.mask:  # it has hidden what lies inside it (_longest); nothing to report
            continue
        sentence = span.sent
        categories = _categories(span, modifiers.get(sentence.start, []), by_child)
        out.append(Mention(  # quoted and placed as written (spelling.py mended what is read)
            concept=concept.name, source=source,
            span=written.quote(span.start_char, span.end_char)[:MAX_QUOTE],
            sentence=written.quote(sentence.start_char, sentence.end_char).strip()[:MAX_SENTENCE],
            text_index=index, sentence_start=written.to_old(sentence.start_char),
            start=written.to_old(span.start_char),
            sentence_index=sentence_of.get(sentence.start, 0),
            reason=_reason(concept, categories),
            uncertain="POSSIBLE_EXISTENCE" in categories,
            queried=bool(categories & QUERIED),
            number=value_of(concept.value, span.text),
        ))
    return out


def _combine(mentions: list[Mention], lex: Lexicon) -> list[Mention]:
    """Derived concepts whose parts all appear in one sentence (or one text)."""
    derived = []
    for combo in lex.combinations:
        scopes: dict[tuple[int, int], list[Mention]] = defaultdict(list)
        for m in mentions:
            if m.concept in combo.all or m.concept in combo.unless:
                key = (m.text_index, m.sentence_index if combo.within == "sentence" else 0)
                scopes[key].append(m)
        for (text, sentence), found in scopes.items():
            parts = [m for m in found if m.concept in combo.all]
            if {m.concept for m in parts} != set(combo.all):
                continue
            affirmed = {m.concept: m for m in parts if m.reason is None}
            chosen = [affirmed.get(c) or next(m for m in parts if m.concept == c)
                      for c in combo.all]
            reason = (next((m.reason for m in chosen if m.reason), None) or _stable(found, combo)
                      or _stable_next(scopes.get((text, sentence + 1), []), combo, lex))
            first = min(chosen, key=lambda m: m.start)
            derived.append(replace(
                first, concept=combo.concept, reason=reason,
                span=" … ".join(m.span for m in sorted(chosen, key=lambda m: m.start))[:MAX_QUOTE],
                sentence=" … ".join(dict.fromkeys(m.sentence for m in chosen))[:MAX_SENTENCE],
                uncertain=any(m.uncertain for m in chosen), number=None,
            ))
    return derived


def _within(m: Mention, others: list[Mention]) -> bool:
    return any(o is not m and o.start <= m.start < o.start + len(o.span) for o in others)


def _stable(found: list[Mention], combo: Combination) -> str | None:
    """"New weakness 4/5, stable since": the scope's last word is that it is not changing.

    Only when an `unless` mention comes after every part outside it ("not progressing" holds
    the cue "progressing"); "stable for months, now worse" still combines, and a stop inside a
    part ("no longer stable") is that part's.
    """
    parts = [m for m in found if m.concept in combo.all]
    stops = [m for m in found if m.concept in combo.unless and m.reason is None
             and not _within(m, parts)]  # "no longer stable" is a worsening cue
    if not stops:
        return None
    # a denied cue is no part ("no progression, no new symptoms": "new" is negated)
    parts = [m for m in parts if not _within(m, stops) and m.reason is None]
    last_part = max((m.start for m in parts), default=-1)
    return "longstanding_or_stable" if max(m.start for m in stops) > last_part else None


def _stable_next(found: list[Mention], combo: Combination, lex: Lexicon) -> str | None:
    """"New weakness of EHL, 4/5. It has been unchanged on repeated testing since": a next
    sentence about the same thing (it, this, the weakness) that says only that it is stable.
    One with a cue of its own ("It is worse today") or about something else ("Back pain
    unchanged") leaves the first sentence as it was."""
    if not combo.unless:
        return None
    stops = [m for m in found if m.concept in combo.unless and m.reason is None]
    # a cue inside a stop is the stop's, a denied one says nothing ("isn't getting worse")
    if any(m.concept in combo.all and lex.concepts[m.concept].cue and m.reason is None
           and not _within(m, stops) for m in found):
        return None
    if stops and ANAPHOR_RE.search(stops[0].sentence):
        return "longstanding_or_stable"
    return None


def _answered(mentions: list[Mention]) -> list[Mention]:
    """A question the same text later answers is answered: "referred as ?CES; on assessment …,
    CES excluded" (ruled out: any words of the concept), "?hardware failure … no hardware
    failure" (denied: the same words only — a concept groups findings, and "possible
    retention, no incontinence" still asks about retention). Only a queried or uncertain
    mention before the answer, in the same text: a finding stated as such, or a query raised
    again after it, still counts."""
    answers: dict[tuple[int, str, str], int] = {}
    for m in mentions:
        words = "" if m.reason == "ruled_out" else m.span.lower()
        if m.reason in ("ruled_out", "negated"):
            key = (m.text_index, m.concept, words)
            answers[key] = max(answers.get(key, -1), m.start)

    def answer(m: Mention) -> int:
        return max(answers.get((m.text_index, m.concept, ""), -1),
                   answers.get((m.text_index, m.concept, m.span.lower()), -1))

    return [replace(m, reason="ruled_out")
            if (m.uncertain or m.queried) and m.reason is None and answer(m) > m.start else m
            for m in mentions]


def read_texts(texts: list[tuple[str, str]], lex: Lexicon, as_of: date | None = None,
               month_first: bool = False) -> Reading:
    """Every mention in (source, text) pairs, cues dropped, combinations added, in text order;
    calendar dates read against `as_of`, the day the referral was received (None: not read),
    month first where the referral comes from a jurisdiction that writes them so (dates.py)."""
    kept, skipped = bounded([(s, t) for s, t in texts if t and t.strip()], lex.max_text_chars)
    if not kept:
        return Reading((), 0, skipped)
    nlp = pipeline(lex)
    speller = speller_for(lex.words)
    written = [respell(text, speller, as_of, month_first) for _, text in kept]
    mentions: list[Mention] = []
    for index, doc in enumerate(nlp.pipe(w.text for w in written)):
        mentions.extend(_doc_mentions(doc, index, kept[index][0], lex, written[index]))
    forget_if_grown(lex)  # spaCy keeps every string it read (pipeline.py)
    mentions.extend(_combine(mentions, lex))
    mentions = from_series(mentions, lex.concepts.keys())  # a CRP written as a series (trends.py)
    misread = misread_site_scores(mentions)
    mentions = [m for m in mentions if m not in misread]
    mentions.extend(compared(mentions, [w.original for w in written], lex.concepts.keys()))
    mentions = _answered(mentions)
    reported = [m for m in mentions if not lex.concepts[m.concept].cue]
    reported.sort(key=lambda m: (m.text_index, m.start))
    return Reading(tuple(reported), sum(len(t) for _, t in kept), skipped)
