"""Ranking among eligible specialists, with optional preferences relaxed step by step."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from services.routing.domain import policy as prefs
from services.routing.domain.directory import DirectoryIndex, Profile
from services.routing.domain.eligibility import CaseFacts, hard_exclusions, working_now
from services.routing.domain.load import LoadFigures, SpecialistLoad, figures
from services.routing.domain.policy import RoutingPolicy
from services.routing.domain.state import CandidateOutcome

_NEVER = float("-inf")  # never assigned: idle the longest


class LoadView(Protocol):
    """Cross-case load as the domain reads it (LoadBook implements it)."""

    def get(self, specialist_id: str) -> SpecialistLoad | None: ...

    def reviewers(self, team: str, case_ids: Iterable[str], pseudonym: str | None) -> set[str]:
        ...


@dataclass(frozen=True, slots=True)
class StepFacts:
    """What ranking needs to know about the step being filled."""

    team: str
    desired_skills: frozenset[str]
    continuity: frozenset[str]  # who reviewed this patient or a related case for this team


@dataclass(frozen=True, slots=True)
class Ranked:
    profile: Profile
    load: LoadFigures
    tier: int
    unmet: tuple[str, ...]
    skill_fit: int
    key: tuple[object, ...]


@dataclass
class Decision:
    """The outcome of choosing one specialist for one step, with the whole candidate list."""

    chosen: Ranked | None
    relaxed: list[str]
    candidates: list[CandidateOutcome]
    exclusions: Counter[str] = field(default_factory=Counter)
    not_licensed_elsewhere: int = 0


def ladder(policy: RoutingPolicy, case: CaseFacts, step: StepFacts) -> tuple[str, ...]:
    """The preferences that apply to this case, in the order they are relaxed."""
    applicable = {
        prefs.LANGUAGE: case.language is not None,
        prefs.SKILLS: bool(step.desired_skills),
        prefs.CONTINUITY: bool(step.continuity),
        prefs.DEADLINE_FIT: True,
    }
    return tuple(p for p in policy.relaxation_order if applicable.get(p, False))


def rank(
    profile: Profile, load: LoadFigures, case: CaseFacts, step: StepFacts,
    order: tuple[str, ...], policy: RoutingPolicy, now: datetime,
) -> Ranked:
    """Score one eligible specialist: relaxation tier first, then fit, then load, then id."""
    language_ok = case.language is None or case.language in profile.languages
    skill_fit = len(step.desired_skills & profile.skills)
    continuity_ok = not step.continuity or profile.specialist_id in step.continuity
    deadline_ok = now + policy.review_time(load.held) <= case.deadline
    unmet = tuple(name for name, ok in (
        (prefs.LANGUAGE, language_ok), (prefs.SKILLS, skill_fit == len(step.desired_skills)),
        (prefs.CONTINUITY, continuity_ok), (prefs.DEADLINE_FIT, deadline_ok),
    ) if not ok and name in order)
    tier = max((order.index(name) + 1 for name in unmet), default=0)
    last = load.last_assigned_at.timestamp() if load.last_assigned_at else _NEVER
    key = (
        tier, not continuity_ok, not language_ok, -skill_fit, not deadline_ok,
        not working_now(profile, now), load.held / max(profile.max_open, 1), last,
        profile.specialist_id,
    )
    return Ranked(profile, load, tier, unmet, skill_fit, key)


def decide(
    directory: DirectoryIndex, loads: LoadView, case: CaseFacts, step: StepFacts,
    policy: RoutingPolicy, now: datetime,
) -> Decision:
    """Check every candidate for the step, rank the eligible, and pick the best."""
    order = ladder(policy, case, step)
    excluded: list[CandidateOutcome] = []
    eligible: list[Ranked] = []
    counts: Counter[str] = Counter()
    for profile in directory.candidates(step.team, case.jurisdiction):
        load = figures(loads.get(profile.specialist_id), profile.zone, now)
        reasons = hard_exclusions(profile, step.team, case, load, now)
        if reasons:
            counts.update(reasons)
            excluded.append(CandidateOutcome.model_construct(
                specialist_id=profile.specialist_id, excluded=reasons, rank=None, tier=None,
                unmet_preferences=[], held=load.held, capacity=profile.max_open, skill_fit=0))
        else:
            eligible.append(rank(profile, load, case, step, order, policy, now))
    eligible.sort(key=lambda r: r.key)
    ranked = [
        CandidateOutcome.model_construct(
            specialist_id=r.profile.specialist_id, excluded=[], rank=i + 1, tier=r.tier,
            unmet_preferences=list(r.unmet), held=r.load.held, capacity=r.profile.max_open,
            skill_fit=r.skill_fit)
        for i, r in enumerate(eligible)
    ]
    chosen = eligible[0] if eligible else None
    outside = directory.team_size(step.team) - (len(excluded) + len(eligible))
    return Decision(
        chosen=chosen,
        relaxed=list(order[: chosen.tier]) if chosen else [],
        candidates=ranked + sorted(excluded, key=lambda c: c.specialist_id),
        exclusions=counts,
        not_licensed_elsewhere=max(outside, 0) if case.jurisdiction else 0,
    )


def exclusion_summary(team: str, decision: Decision) -> str:
    """Why nobody could take the step, as named reasons with counts (no patient data)."""
    if not decision.candidates and not decision.not_licensed_elsewhere:
        return f"no {team} specialist in the directory"
    parts = [f"{n} {reason}" for reason, n in sorted(decision.exclusions.items())]
    if decision.not_licensed_elsewhere:
        parts.append(f"{decision.not_licensed_elsewhere} not licensed in the jurisdiction")
    return f"no eligible {team} specialist: " + ", ".join(parts)
