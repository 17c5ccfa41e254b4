"""Likely cause (brief section 5): naive-Bayes log scores, softmax posterior, explained top 3."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from schemas.triage import CauseFactor, LikelyCause, SurgeryClass
from services.triage.engine.rule_table import RuleTable
from services.triage.engine.trusted import trusted

TOP_CAUSES = 3


@dataclass(slots=True)
class Posterior:
    """Probability of every cause in rule-table order (0 for causes impossible in the class)."""

    causes: tuple[str, ...]
    probabilities: tuple[float, ...]
    order: tuple[int, ...]  # cause indices by falling probability, ties in table order

    def as_dict(self) -> dict[str, float]:
        """cause -> probability."""
        return dict(zip(self.causes, self.probabilities, strict=True))

    def ranked(self, limit: int | None = None) -> list[tuple[str, float]]:
        """(cause, probability) by falling probability, the first `limit` only if given."""
        causes, probabilities = self.causes, self.probabilities
        return [(causes[i], probabilities[i]) for i in self.order[:limit]]


def posterior(features: Sequence[str], surgery_class: SurgeryClass, table: RuleTable) -> Posterior:
    """score[c] = ln prior + sum ln multiplier over present features; softmax over all causes."""
    scores = list(table.log_priors[surgery_class])  # -inf: impossible, and stays so
    log_multipliers = table.log_multipliers
    for feature in features:
        for index, log_m in log_multipliers[feature]:
            scores[index] += log_m
    top = max(scores)  # finite: the table guarantees a positive prior in every class
    exp = math.exp
    weights = [exp(s - top) for s in scores]
    total = math.fsum(weights)
    probabilities = [w / total for w in weights]
    # A stable sort: ties keep rule-table order, so the ranking is deterministic.
    order = sorted(range(len(probabilities)), key=probabilities.__getitem__, reverse=True)
    return Posterior(table.causes, tuple(probabilities), tuple(order))


def explain(cause: str, features: Sequence[str], table: RuleTable) -> list[CauseFactor]:
    """The present features that moved this cause, strongest effect first."""
    effects = table.cause_effects[cause]
    # (strength rank, factor): ranks are distinct per cause, so factors are never compared.
    moved = sorted([e for f in features if (e := effects.get(f)) is not None])
    return [factor for _, factor in moved]


def likely_causes(
    features: Sequence[str], surgery_class: SurgeryClass, table: RuleTable
) -> tuple[list[LikelyCause], Posterior]:
    """The top causes with their factors, plus the full posterior they were drawn from."""
    post = posterior(features, surgery_class, table)
    causes, probabilities = post.causes, post.probabilities
    top = []
    for index in post.order[:TOP_CAUSES]:
        probability = probabilities[index]
        if probability <= 0:
            break  # ranked: every later cause is impossible too
        cause = causes[index]
        top.append(trusted(
            LikelyCause, cause=cause, probability=probability,
            factors=explain(cause, features, table),
        ))
    return top, post
