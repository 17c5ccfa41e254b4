"""Likely cause (brief section 5): naive-Bayes log scores, softmax posterior, explained top 3."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from schemas.triage import CauseFactor, LikelyCause, SurgeryClass
from services.triage.engine.rule_table import RuleTable

TOP_CAUSES = 3


@dataclass(frozen=True, slots=True)
class Posterior:
    """Probability of every cause in rule-table order (0 for causes impossible in the class)."""

    causes: tuple[str, ...]
    probabilities: tuple[float, ...]

    def as_dict(self) -> dict[str, float]:
        """cause -> probability."""
        return dict(zip(self.causes, self.probabilities, strict=True))

    def ranked(self) -> list[tuple[str, float]]:
        """Causes by falling probability; ties keep rule-table order so output is stable."""
        order = sorted(range(len(self.causes)), key=lambda i: -self.probabilities[i])
        return [(self.causes[i], self.probabilities[i]) for i in order]


def posterior(features: Sequence[str], surgery_class: SurgeryClass, table: RuleTable) -> Posterior:
    """score[c] = ln prior + sum ln multiplier over present features; softmax over all causes."""
    scores = list(table.log_priors[surgery_class])
    log_multipliers = table.log_multipliers
    for feature in features:
        for index, log_m in log_multipliers[feature]:
            score = scores[index]
            if score is not None:  # ln(0) prior: the cause stays impossible whatever the features
                scores[index] = score + log_m
    top = max(s for s in scores if s is not None)
    weights = [0.0 if s is None else math.exp(s - top) for s in scores]
    total = math.fsum(weights)
    return Posterior(table.causes, tuple(w / total for w in weights))


def explain(cause: str, features: Sequence[str], table: RuleTable) -> list[CauseFactor]:
    """The present features that moved this cause, strongest effect first."""
    moved = [
        (feature, table.multipliers[feature][cause])
        for feature in features if table.multipliers[feature].get(cause, 1.0) != 1.0
    ]
    moved.sort(key=lambda fm: (-abs(math.log(fm[1])), fm[0]))
    return [CauseFactor(feature=f, multiplier=m) for f, m in moved]


def likely_causes(
    features: Sequence[str], surgery_class: SurgeryClass, table: RuleTable
) -> tuple[list[LikelyCause], Posterior]:
    """The top causes with their factors, plus the full posterior they were drawn from."""
    post = posterior(features, surgery_class, table)
    top = [
        LikelyCause(cause=cause, probability=p, factors=explain(cause, features, table))
        for cause, p in post.ranked()[:TOP_CAUSES]
        if p > 0
    ]
    return top, post
