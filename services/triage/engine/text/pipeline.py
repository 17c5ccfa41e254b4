"""The medspaCy pipeline (PyRuSH sentences, target matcher, ConText), built once per process.

PyRuSH's rules are tried only where one may match (text/sentences.py), with the same boundaries.

No model download: medspaCy runs on spaCy's blank English tokenizer. PyRuSH logs every token
at DEBUG through loguru, which would put patient text in logs: its logger is disabled before the
pipeline is built.
"""

from __future__ import annotations

import sys
import threading
import types
from pathlib import Path
from typing import Any

from services.triage.engine.text.lexicon import Lexicon
from services.triage.engine.text.sentences import skip_unmatchable

CUE_GROUP = "text_cues"
# A sentence runs at most this many tokens: past the first it ends after the next comma, semicolon
# or colon, at the second whatever comes. ConText and the reading compare every modifier with
# every mention of a sentence, so one endless "sentence" (PyRuSH's on text with no full stops)
# made hostile text quadratic; letters' real sentences are far shorter. A cut only ends a
# modifier's reach (a negation reaches less far: the safer side).
SENTENCE_TOKENS = (100, 160)
# PyRuSH's walk only from where one of its rules may match (text/sentences.py: the same
# boundaries, a tenth of its CPU); False gives PyRuSH's own full walk, for comparison.
FAST_SENTENCES = True
NEW_CLAUSE = "NEW_CLAUSE"  # a lexicon context category: where a negation's reach ends
_lock = threading.Lock()
# id(lexicon) -> (lexicon, nlp, strings when built); holding the lexicon keeps its id unused.
_pipelines: dict[int, tuple[Lexicon, Any, int]] = {}
# spaCy 3.7 keeps every string a pipeline has read (its StringStore never lets go: review 20, a
# made-up surname was still there after the referral; a 2,000-word letter of new words added
# ~2,800 strings and ~1.8 MB for good). 3.8's memory zones would release them, but medspaCy
# 1.3 needs spaCy < 3.8 on Python 3.11. So a pipeline that has learnt this many strings is
# dropped after the reading in hand and the next one builds afresh (~0.5 s): memory stays
# bounded, and what a referral's words leave in the process lasts until then at most.
MAX_NEW_STRINGS = 10_000


def silence_pyrush() -> None:
    """Disable loguru output from PyRuSH (it logs the text it splits, token by token)."""
    from loguru import logger

    logger.disable("PyRuSH")
    logger.disable("medspacy")


def without_unused_modules() -> None:
    """Keep modules the reading never uses out of the process (issue 13: 150 MB per service).

    - QuickUMLS and nltk under it (~18 MB, 245 modules): `medspacy.util` imports QuickUMLS's
      spaCy component unconditionally, only to register a UMLS matcher we never enable
      (`build_pipeline` names its components); enabling "medspacy_quickumls" would fail loudly.
      Triage was 169 MB RSS with it.
    - spaCy's command line (~9.5 MB, 240 modules: typer, weasel, requests, jinja2, urllib3):
      `spacy/__init__` imports it for `spacy.info` alone, which nothing here calls; the
      placeholder's `info` says so if anything ever does. Only before spaCy is first imported:
      once it is, its command line is already in.
    Placeholders have no `__file__`, so a test can tell them from the real modules.
    """
    if "quickumls" not in sys.modules:
        placeholder = types.ModuleType("quickumls")
        placeholder.spacy_component = None  # type: ignore[attr-defined]
        sys.modules["quickumls"] = placeholder
    if "spacy" not in sys.modules and "spacy.cli" not in sys.modules:
        cli = types.ModuleType("spacy.cli")
        cli.__path__ = []  # a package, so that "spacy.cli.info" resolves to the one below
        info = types.ModuleType("spacy.cli.info")
        info.info = _no_spacy_cli  # type: ignore[attr-defined]
        sys.modules["spacy.cli"], sys.modules["spacy.cli.info"] = cli, info


def _no_spacy_cli(*_args: Any, **_kwargs: Any) -> None:
    raise RuntimeError("spaCy's command line is left out of the triage worker "
                       "(services/triage/engine/text/pipeline.py: without_unused_modules)")


def _default_context_rules(drop: frozenset[str]) -> list[Any]:
    without_unused_modules()
    import medspacy
    from medspacy.context import ConTextRule

    path = Path(medspacy.__file__).resolve().parents[1] / "resources" / "en" / "context_rules.json"
    rules = [r for r in ConTextRule.from_json(str(path)) if r.literal not in drop]
    for rule in rules:
        if rule.category.upper() == "HISTORICAL":
            # "History of cancer, now night pain": "now" ends the history's reach.
            rule.terminated_by = {*rule.terminated_by, "CURRENT"}
    return rules


def _target_rules(lex: Lexicon, *, cues: bool) -> list[Any]:
    from medspacy.ner import TargetRule

    rules: list[Any] = []
    for concept in lex.concepts.values():
        if concept.cue != cues:
            continue
        rules.extend(TargetRule(phrase, concept.name) for phrase in concept.phrases)
        rules.extend(
            TargetRule(f"{concept.name}#{i}", concept.name, pattern=pattern)
            for i, pattern in enumerate(concept.patterns)
        )
    return rules


def _context_rules(lex: Lexicon) -> list[Any]:
    from medspacy.context import ConTextRule

    rules = []
    for raw in lex.context_rules:
        rules.append(ConTextRule(
            raw["literal"], raw["category"], pattern=raw.get("pattern"),
            direction=raw.get("direction", "BIDIRECTIONAL"), max_scope=raw.get("max_scope"),
            terminated_by=set(raw.get("terminated_by") or ()) or None,
            allowed_types=set(raw.get("allowed_types") or ()) or None,
        ))
    return rules


def _new_clauses_end_scopes(rules: list[Any]) -> list[Any]:
    """A clause stating a finding ends a negation ("no fever, numb perineum") and a history
    read forwards ("history of cancer, now night pain"), not the reach of "resolved" back over
    it ("retention after surgery, then resolved"): NEW_CLAUSE terminates only those."""
    for rule in rules:
        category, direction = rule.category.upper(), rule.direction.upper()
        if (category == "NEGATED_EXISTENCE" and direction != "PSEUDO") or (
                category == "HISTORICAL" and direction == "FORWARD"):
            rule.terminated_by = {*rule.terminated_by, NEW_CLAUSE}
    return rules


def shouted_contractions(tokenizer: Any) -> None:
    """Split contractions written in capitals as their lower-case forms are: spaCy's exceptions
    know "cant", "Can't" and "can't" but not "CANT" (one token) or "CAN'T" ("CAN", "'", "T"),
    so "SHE CANT FEEL ANYTHING DOWN BELOW" was read as no finding (blind typos table)."""
    from spacy.symbols import ORTH

    for key, pieces in list(tokenizer.rules.items()):
        if len(pieces) > 1 and key.upper() != key and key.upper() not in tokenizer.rules:
            tokenizer.add_special_case(
                key.upper(), [{**piece, ORTH: piece[ORTH].upper()} for piece in pieces])


def cap_sentences(doc: Any) -> Any:
    """Cut over-long sentences (SENTENCE_TOKENS) at a clause break, or hard; and start one after
    a form's field separator ("Reason: pain not settling | PMH: renal cell carcinoma")."""
    soft, hard = SENTENCE_TOKENS
    run = 0
    for token in doc:
        before = doc[token.i - 1].text if token.i > 0 else ""
        after_break = before in (",", ";", ":")
        if token.is_sent_start or before == "|" or run >= hard or (run >= soft and after_break):
            token.is_sent_start = True
            run = 0
        run += 1
    return doc


def build_pipeline(lex: Lexicon) -> Any:
    """A fresh pipeline for the lexicon (slow: about half a second; use `pipeline`)."""
    silence_pyrush()
    without_unused_modules()
    import medspacy
    from spacy.language import Language

    from services.triage.engine.text import scopes

    scopes.install()  # the same scopes, without comparing modifiers that cannot meet

    nlp = medspacy.load(medspacy_enable=["medspacy_tokenizer", "medspacy_pyrush"])
    shouted_contractions(nlp.tokenizer)
    if FAST_SENTENCES:
        skip_unmatchable(nlp.get_pipe("medspacy_pyrush").rush.fastner)
    if "spine_sentence_cap" not in Language.factories:
        Language.component("spine_sentence_cap", func=cap_sentences)
    nlp.add_pipe("spine_sentence_cap", after="medspacy_pyrush")
    # Spans go to groups, not doc.ents, so that overlapping concepts are all seen. Helper cues
    # have their own group: ConText does not read them, so a cue never swallows a modifier.
    matcher = nlp.add_pipe(
        "medspacy_target_matcher", config={"result_type": "group", "prune": False}
    )
    matcher.add(_target_rules(lex, cues=False))
    cue_matcher = nlp.add_pipe("medspacy_target_matcher", name="cue_matcher", config={
        "result_type": "group", "prune": False, "span_group_name": CUE_GROUP,
    })
    cue_matcher.add(_target_rules(lex, cues=True))
    # A cue inside a finding is part of it ("can't feel the toilet paper" is numbness, not a
    # negation): reading.py ignores modifiers that lie inside a finding.
    context = nlp.add_pipe(
        "medspacy_context", config={"rules": None, "input_span_type": "group"}
    )
    context.add(_new_clauses_end_scopes(
        _default_context_rules(lex.drop_default_context) + _context_rules(lex)))
    return nlp


def pipeline(lex: Lexicon) -> Any:
    """The process-wide pipeline for this lexicon, built on first use (lazy, thread-safe)."""
    entry = _pipelines.get(id(lex))
    if entry is None:
        with _lock:
            entry = _pipelines.get(id(lex))
            if entry is None:
                nlp = build_pipeline(lex)
                entry = _pipelines[id(lex)] = (lex, nlp, len(nlp.vocab.strings))
    return entry[1]


def forget_if_grown(lex: Lexicon) -> bool:
    """Drop the lexicon's pipeline once it holds MAX_NEW_STRINGS strings more than when built
    (called after a reading); the next `pipeline` call builds a fresh one. True if dropped."""
    with _lock:
        entry = _pipelines.get(id(lex))
        if entry is None or len(entry[1].vocab.strings) - entry[2] < MAX_NEW_STRINGS:
            return False
        del _pipelines[id(lex)]
        return True
