"""ConText's scope update, without comparing modifiers that can never meet.

medspaCy's `ConTextGraph.update_scopes` lets every modifier of a document limit every other
(same category, or a terminator): all pairs, O(M²) in the document's modifiers. Sentences are
capped (pipeline.SENTENCE_TOKENS), but the pairs are the whole document's, so 60,000 characters
of "cannot" (~8,600 negations) took 8 million comparisons, most of triage's 14-17 s for it.

A pair changes something only if their scopes overlap (`limit_scope` returns at once
otherwise), and a scope only ever shrinks, to a bound taken from a partner's modifier. So take
each modifier's reach (its scope and its own span) and group modifiers whose reaches overlap,
transitively: every bound a modifier can ever get comes from its group, so modifiers of two
groups never overlap (groups that only touch cannot change each other either: a forward scope
is cut only at a later modifier's start, a backward one at an earlier modifier's end). Running
the same pairs in the same order within each group gives exactly medspaCy's scopes
(tests/unit/triage/text/test_text_scopes.py compares the two on every seventh row of every
table and on hostile text; run once over every row, no urgency moved).

`ConTextGraph.apply_modifiers` had the same shape: every target against every modifier of the
document. 60,000 characters of a screen's "Night pain? No." (a query and a negation per field)
took 27 s of CPU in 13 million `modifies` calls (twentieth session). A modifier modifies a
target only if its scope overlaps the target (`modifies`, after its own checks), and every scope
lies within its sentence, so `apply_modifiers` here asks, for each target in turn, only the
modifiers whose scope can overlap it, in the graph's order: the same edges in the same order.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any


def update_scopes(graph: Any) -> None:
    """Drop-in for `ConTextGraph.update_scopes` (same pairs, same order, within each group)."""
    modifiers = graph.modifiers
    for group in reach_groups(modifiers):
        for x, first in enumerate(group[:-1]):
            one = modifiers[first]
            for second in group[x + 1:]:
                other = modifiers[second]
                one.limit_scope(other)
                other.limit_scope(one)


def reach_groups(modifiers: list[Any]) -> list[list[int]]:
    """Indices of modifiers whose reaches overlap, transitively; each group in list order."""
    reaches = sorted((min(m.scope_span[0], m.modifier_span[0]),
                      max(m.scope_span[1], m.modifier_span[1]), i)
                     for i, m in enumerate(modifiers))
    groups: list[list[int]] = []
    end = 0
    for start, stop, i in reaches:
        if groups and start < end:  # overlaps the group's reach so far (touching is apart)
            groups[-1].append(i)
            end = max(end, stop)
        else:
            groups.append([i])
            end = stop
    return [sorted(group) for group in groups]


def apply_modifiers(graph: Any) -> None:
    """Drop-in for `ConTextGraph.apply_modifiers` (the same `modifies` calls that can succeed,
    in the same order); with pruning on, medspaCy's own."""
    if graph.prune_on_modifier_overlap:
        _original["apply_modifiers"](graph)
        return
    modifiers = graph.modifiers
    order = sorted(range(len(modifiers)), key=lambda i: modifiers[i].scope_span[0])
    starts = [modifiers[i].scope_span[0] for i in order]
    longest = max((m.scope_span[1] - m.scope_span[0] for m in modifiers), default=0)
    for target in graph.targets:
        # a scope overlapping [start, end) starts before `end` and after `start - longest`
        low = bisect_left(starts, target.start - longest)
        high = bisect_left(starts, target.end)
        for i in sorted(i for i in order[low:high] if modifiers[i].scope_span[1] > target.start):
            modifier = modifiers[i]
            if modifier.modifies(target):
                modifier.modify(target)
    edges: list[tuple[Any, Any]] = []
    for modifier in modifiers:
        modifier.reduce_targets()
        edges.extend((target, modifier) for target in modifier._targets)
    graph.edges = edges


def medspacy_update_scopes() -> Any:
    """medspaCy's own update (all pairs), kept for the equivalence test."""
    from medspacy.context.context_graph import ConTextGraph

    return _original.get("update_scopes", ConTextGraph.update_scopes)


def medspacy_apply_modifiers() -> Any:
    """medspaCy's own pass (every target against every modifier), for the equivalence test."""
    from medspacy.context.context_graph import ConTextGraph

    return _original.get("apply_modifiers", ConTextGraph.apply_modifiers)


_original: dict[str, Any] = {}


def install() -> None:
    """Use this scope update for every ConText graph in the process (idempotent)."""
    from medspacy.context.context_graph import ConTextGraph

    _original.setdefault("update_scopes", ConTextGraph.update_scopes)
    _original.setdefault("apply_modifiers", ConTextGraph.apply_modifiers)
    ConTextGraph.update_scopes = update_scopes  # type: ignore[method-assign]
    ConTextGraph.apply_modifiers = apply_modifiers  # type: ignore[method-assign]
