"""Ranking among eligible specialists, with optional preferences relaxed step by step."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from services.routing.domain import policy as prefs
from services.routing.domain.directory import DirectoryIndex, Profile
from services.routing.domain.eligibility import CaseFacts, availability, hard_exclusions
from services.routing.domain.load import (
    LoadFigures,
    SpecialistLoad,
    day_start,
    figures,
    slot_key,
)
from services.routing.domain.policy import RoutingPolicy
from services.routing.domain.state import CandidateOutcome


class LoadView(Protocol):
    """Cross-case load as the domain reads it (LoadBook implements it)."""

    def get(self, specialist_id: str) -> SpecialistLoad | None: ...

    def figures(self, specialist_id: str, today_starts: datetime) -> LoadFigures: ...

    def reviewers(self, team: str, case_ids: Iterable[str], pseudonym: str | None) -> set[str]:
        ...


class WithoutOwnSlot:
    """A load view in which one step's own slot (its offer, or its emergency assignment) does
    not count against the specialist holding it.

    Deciding a step again means its case row no longer knows that slot: the row was lost after
    the load row was written (a crash between the two), and the input came again. Seen with
    it, the holder looked one case fuller and the replay could choose someone else under the
    *same* derived event id, which consumers drop as a repeat: the second specialist was never
    told, the first was told of a step routing no longer gave them, and their slot was held by
    no case. Seen without it, the specialist looks as the first decision saw them, so the
    replay decides the same. Specialists the case has asked are excluded by its row
    (`offered_to`), so a closed offer a lagging view still shows changes nothing.
    """

    def __init__(self, view: LoadView, case_id: str, step_id: str) -> None:
        self._view, self._slot = view, slot_key(case_id, step_id)

    def get(self, specialist_id: str) -> SpecialistLoad | None:
        return self._view.get(specialist_id)

    def figures(self, specialist_id: str, today_starts: datetime) -> LoadFigures:
        load = self._view.get(specialist_id)
        if load is None or (self._slot not in load.offers and self._slot not in load.open):
            return self._view.figures(specialist_id, today_starts)
        without = {name: {slot: at for slot, at in getattr(load, name).items()
                          if slot != self._slot} for name in ("offers", "open", "recent")}
        return figures(load.model_copy(update=without), today_starts)

    def reviewers(self, team: str, case_ids: Iterable[str], pseudonym: str | None) -> set[str]:
        return self._view.reviewers(team, case_ids, pseudonym)


@dataclass(frozen=True, slots=True)
class StepFacts:
    """What ranking needs to know about the step being filled."""

    team: str
    desired_skills: frozenset[str]
    continuity: frozenset[str]  # who reviewed this patient or a related case for this team


RankKey = tuple[int, bool, bool, int, bool, bool, float, float, str]


@dataclass
class Decision:
    """The outcome of choosing one specialist for one step, with the whole candidate list."""

    chosen: CandidateOutcome | None  # the top-ranked candidate
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


def max_queue_in_time(policy: RoutingPolicy, now: datetime, deadline: datetime) -> int:
    """The most cases a reviewer may hold and still finish one more before the deadline."""
    hours = (deadline - now).total_seconds() / 3600
    return int(hours // policy.review_hours_per_case) - 1


def rank(
    profile: Profile, load: LoadFigures, working: bool, case: CaseFacts, step: StepFacts,
    tiers: dict[str, int], max_queue: int,
) -> tuple[RankKey, CandidateOutcome]:
    """Score one eligible specialist: relaxation tier first, then fit, then load, then id."""
    # `tiers` maps each applicable preference to how many relaxations it takes to drop it.
    language_ok = case.language is None or case.language in profile.languages
    skill_fit = len(step.desired_skills & profile.skills) if step.desired_skills else 0
    continuity_ok = not step.continuity or profile.specialist_id in step.continuity
    deadline_ok = load.held <= max_queue
    unmet: list[str] = []
    if not language_ok:
        unmet.append(prefs.LANGUAGE)
    if skill_fit != len(step.desired_skills):
        unmet.append(prefs.SKILLS)
    if not continuity_ok:
        unmet.append(prefs.CONTINUITY)
    if not deadline_ok:
        unmet.append(prefs.DEADLINE_FIT)
    tier = 0
    if unmet:
        unmet = [name for name in unmet if name in tiers]
        tier = max([tiers[name] for name in unmet], default=0)
    key = (
        tier, not continuity_ok, not language_ok, -skill_fit, not deadline_ok, not working,
        load.held / (profile.max_open or 1), load.idle_since, profile.specialist_id,
    )
    return key, CandidateOutcome(profile.specialist_id, [], None, tier, unmet, load.held,
                                 profile.max_open, skill_fit)


def decide(
    directory: DirectoryIndex, loads: LoadView, case: CaseFacts, step: StepFacts,
    policy: RoutingPolicy, now: datetime,
) -> Decision:
    """Check every candidate for the step, rank the eligible, and pick the best."""
    order = ladder(policy, case, step)
    tiers = {name: i + 1 for i, name in enumerate(order)}
    max_queue = max_queue_in_time(policy, now, case.deadline)
    excluded: list[CandidateOutcome] = []
    eligible: list[tuple[RankKey, CandidateOutcome]] = []
    counts: Counter[str] = Counter()
    local_times: dict[ZoneInfo, tuple[datetime, datetime]] = {}  # zone -> (now, midnight)
    for profile in directory.candidates(step.team, case.jurisdiction):
        local = local_times.get(profile.zone)
        if local is None:
            local_now = now.astimezone(profile.zone)
            local = local_times[profile.zone] = (local_now, day_start(local_now, profile.zone))
        load = loads.figures(profile.specialist_id, local[1])
        avail = availability(profile, now, case.deadline, local[0])
        reasons = hard_exclusions(profile, step.team, case, load, now, avail)
        if reasons:
            counts.update(reasons)
            excluded.append(CandidateOutcome(profile.specialist_id, reasons, None, None, [],
                                             load.held, profile.max_open, 0))
        else:
            eligible.append(rank(profile, load, avail.working_now, case, step, tiers, max_queue))
    eligible.sort(key=lambda pair: pair[0])
    ranked = [outcome for _, outcome in eligible]
    for position, outcome in enumerate(ranked, start=1):
        outcome.rank = position
    chosen = ranked[0] if ranked else None
    outside = directory.team_size(step.team) - (len(excluded) + len(eligible))
    return Decision(
        chosen=chosen,
        relaxed=list(order[: chosen.tier or 0]) if chosen else [],
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
