"""Hostile free text cannot make the reading quadratic: a "sentence" has a bounded length, and
each mention meets only its own sentence's ConText modifiers. (Figures: `python -m bench triage
--hostile`; before these bounds, 60,000 characters of "no saddle anaesthesia" ran for over ten
minutes of CPU, and "not changed at my review" for 116 s.)"""

from __future__ import annotations

from services.triage.engine.text.lexicon import lexicon
from services.triage.engine.text.pipeline import SENTENCE_TOKENS, pipeline
from services.triage.engine.text.reading import read_texts


def test_a_run_on_text_is_cut_into_bounded_sentences() -> None:
    _, hard = SENTENCE_TOKENS
    doc = pipeline(lexicon())("leg pain and back pain " * 200)
    lengths = [len(s) for s in doc.sents]
    assert max(lengths) == hard
    assert sum(lengths) == len(doc)


def test_a_long_sentence_is_cut_at_a_clause_break_past_the_first_bound() -> None:
    soft, _ = SENTENCE_TOKENS
    text = ", ".join(["leg pain and back pain"] * 60)  # a comma every 6 tokens
    doc = pipeline(lexicon())(text)
    first = next(iter(doc.sents))
    assert soft <= len(first) <= soft + 6
    assert doc[first.end - 1].text == ","


def test_real_sentences_are_left_as_the_splitter_made_them() -> None:
    text = ("She had an L5/S1 discectomy in March, and her leg pain settled, but her back pain "
            "has persisted. She denies saddle numbness.")
    assert [s.text.strip() for s in pipeline(lexicon())(text).sents] == [
        "She had an L5/S1 discectomy in March, and her leg pain settled, but her back pain "
        "has persisted.", "She denies saddle numbness."]


def test_each_mention_meets_only_its_own_sentences_modifiers() -> None:
    # the denial belongs to the first sentence; the second states the finding
    found = read_texts([("q", "No numbness at all in the legs. Saddle numbness since Friday.")],
                       lexicon()).mentions
    assert [(m.concept, m.reason) for m in found if m.concept == "saddle_anaesthesia"] == [
        ("saddle_anaesthesia", None)]


def test_a_negation_past_a_cut_no_longer_reaches_the_safer_side() -> None:
    # one "no" 200 words before the finding: the cut ends its reach, so the finding counts
    text = "no fever " + "and " * 200 + "urinary retention"
    found = read_texts([("q", text)], lexicon()).mentions
    assert [m.reason for m in found if m.concept == "urinary_retention_or_incontinence"] == [None]
