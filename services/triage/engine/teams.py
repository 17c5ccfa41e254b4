"""must_exclude from fired red flags, and required/optional teams per brief section 5.3."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from schemas.triage import FiredRule, Team, Urgency
from services.triage.engine.causes import Posterior
from services.triage.engine.rule_table import TEAMS, RuleTable

EMERGENCY_TEAMS: tuple[Team, ...] = ("emergency_department", "spine_surgery")
FALLBACK_TEAM: Team = "spine_surgery"
TEAM_ORDER = {team: i for i, team in enumerate(TEAMS)}


@dataclass(frozen=True, slots=True)
class TeamPlan:
    """Who must see the case, who may be added, and whether it bypasses second opinion."""

    required: list[Team]
    optional: list[Team]
    emergency_pathway: bool


def must_exclude(fired: Sequence[FiredRule], table: RuleTable) -> list[str]:
    """Serious causes named by the fired red flags, each once, in rule order."""
    if not fired:
        return []
    names = [name for rule in fired for name in table.rule_must_exclude.get(rule.rule_id, ())]
    return list(dict.fromkeys(names))


def considered_causes(post: Posterior, excluded: Sequence[str], table: RuleTable) -> list[str]:
    """The top cause, every cause at or above the threshold, and must-exclude causes."""
    floor = table.thresholds.team_cause_min_probability
    chosen = [post.causes[post.order[0]]]
    for index in post.order[1:]:
        if post.probabilities[index] < floor:
            break  # ranked: every later cause is below the floor too
        chosen.append(post.causes[index])
    chosen += [name for name in excluded if name in table.cause_specs]
    return list(dict.fromkeys(chosen))


def _ordered(teams: set[Team]) -> list[Team]:
    return sorted(teams, key=TEAM_ORDER.__getitem__)


def plan_teams(
    *,
    urgency: Urgency,
    causes: Sequence[str],
    psychosocial_flags: bool,
    second_read_recommended: bool,
    table: RuleTable,
) -> TeamPlan:
    """Emergencies go to the emergency pathway only; otherwise union the causes' teams."""
    if urgency == "emergency":
        return TeamPlan(list(EMERGENCY_TEAMS), [], emergency_pathway=True)
    required: set[Team] = set()
    optional: set[Team] = set()
    for cause in causes:
        spec = table.cause_specs[cause]
        required.update(spec.required_teams)
        optional.update(spec.optional_teams)
        if spec.required_one_of:
            # "pain_medicine (+ physio_rehab or psychology)": psychology when distress is flagged.
            pick = spec.required_one_of[0]
            if psychosocial_flags and "psychology" in spec.required_one_of:
                pick = "psychology"
            required.add(pick)
            optional.update(spec.required_one_of)
    if second_read_recommended:
        optional.add("spine_radiology")
    if not required:
        required.add(FALLBACK_TEAM)
    return TeamPlan(_ordered(required), _ordered(optional - required), emergency_pathway=False)
