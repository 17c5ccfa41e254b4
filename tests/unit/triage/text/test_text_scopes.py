"""ConText's scopes with the grouped update (text/scopes.py) are exactly medspaCy's: every
modifier's scope and every modifier-to-finding edge, on letters from every table and on
hostile text; and the grouped update compares far fewer pairs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from medspacy.context.context_graph import ConTextGraph

from services.triage.engine.text import scopes
from services.triage.engine.text.lexicon import lexicon
from services.triage.engine.text.pipeline import pipeline

HERE = Path(__file__).parent
HOSTILE = ["cannot " * 400, "no saddle anaesthesia, " * 150, "not now no new, but not. " * 120,
           "denies bladder or bowel symptoms but has saddle numbness " * 40,
           "Night pain? No. " * 300]


def texts() -> Iterator[str]:
    for table in sorted(HERE.glob("*.txt")):
        if table.name == "spelling_protected.txt":
            continue
        rows = [line.split(" || ", 1)[1] for line in table.read_text("utf-8").splitlines()
                if " || " in line and not line.startswith("#")]
        yield from rows[::7]  # every seventh row of every table: a few hundred letters
    yield from HOSTILE


def read(nlp: Any, text: str, update: Any, apply: Any = None) -> list[tuple[Any, ...]]:
    original, original_apply = ConTextGraph.update_scopes, ConTextGraph.apply_modifiers
    ConTextGraph.update_scopes = update  # type: ignore[method-assign]
    ConTextGraph.apply_modifiers = apply or original_apply  # type: ignore[method-assign]
    try:
        doc = nlp(text)
    finally:
        ConTextGraph.update_scopes = original  # type: ignore[method-assign]
        ConTextGraph.apply_modifiers = original_apply  # type: ignore[method-assign]
    graph = doc._.context_graph
    return ([(m.modifier_span, m.scope_span, m.category) for m in graph.modifiers]
            + [((t.start, t.end), m.modifier_span) for t, m in graph.edges])


def test_the_grouped_update_gives_medspacys_scopes_and_edges() -> None:
    nlp = pipeline(lexicon())
    checked = 0
    for text in texts():
        ours = read(nlp, text, scopes.update_scopes)
        assert ours == read(nlp, text, scopes.medspacy_update_scopes()), text[:80]
        checked += 1
    assert checked > 300


def test_the_windowed_apply_gives_medspacys_edges_in_order() -> None:
    """scopes.apply_modifiers asks only the modifiers whose scope can reach a target."""
    nlp = pipeline(lexicon())
    checked = 0
    for text in texts():
        ours = read(nlp, text, scopes.update_scopes, scopes.apply_modifiers)
        theirs = read(nlp, text, scopes.update_scopes, scopes.medspacy_apply_modifiers())
        assert ours == theirs, text[:80]
        checked += 1
    assert checked > 300


@pytest.mark.parametrize("text", HOSTILE[:2])
def test_hostile_text_compares_a_sentences_worth_of_pairs_not_the_documents(text: str) -> None:
    nlp = pipeline(lexicon())
    graph = nlp(text)._.context_graph
    groups = scopes.reach_groups(graph.modifiers)
    pairs = sum(len(g) * (len(g) - 1) // 2 for g in groups)
    everything = len(graph.modifiers) * (len(graph.modifiers) - 1) // 2
    assert len(graph.modifiers) > 100 and pairs * 10 < everything
