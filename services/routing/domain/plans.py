"""Multidisciplinary plans: which teams review, in what order, and which steps are ready."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from schemas.cases import SURGERY_DAYS_MAX, CaseContext
from schemas.triage import TriageResult, Urgency
from services.routing.domain.policy import REGION_SKILL_TEAMS, RoutingPolicy
from services.routing.domain.state import CaseRouting, PlanStep

# A team waits for these teams when they are in the same plan: surgeons, oncologists and
# infection specialists review with the second read attached; pain, physio and psychology
# run in parallel from the start.
DEPENDS_ON: Mapping[str, tuple[str, ...]] = {
    "spine_surgery": ("spine_radiology",),
    "oncology": ("spine_radiology",),
    "infectious_disease": ("spine_radiology",),
}
# The referrer sends emergencies to the emergency department; routing never offers that team.
NOT_ROUTED = frozenset({"emergency_department"})
SECOND_READ = frozenset({"priority_24h", "standard_24_72h"})
# What each team is asked to answer; the referrer's own question is in the case view.
TEAM_QUESTIONS: Mapping[str, str] = {
    "spine_surgery": "Is (revision) surgery indicated, and do you agree with the current or "
                     "proposed plan?",
    "spine_radiology": "Second read: do you agree with the imaging report, and what does the "
                       "imaging show for the likely causes?",
    "pain_medicine": "Which pain management (interventional, medication, neuromodulation) do "
                     "you recommend?",
    "physio_rehab": "What rehabilitation programme do you recommend?",
    "psychology": "Which psychosocial factors need addressing, and how?",
    "infectious_disease": "Is infection likely, and which investigations and treatment do "
                          "you recommend?",
    "oncology": "Is malignancy likely, and which investigations or treatment do you recommend?",
}
DEFAULT_QUESTION = "Do you agree with the referrer's working diagnosis and plan?"


def plan_teams(triage: TriageResult) -> list[str]:
    """The teams that review the case: required ones, plus radiology when a second read is due."""
    teams: list[str] = [t for t in dict.fromkeys(triage.required_teams) if t not in NOT_ROUTED]
    if triage.second_read.recommendation in SECOND_READ and "spine_radiology" not in teams:
        teams.insert(0, "spine_radiology")
    return teams


def build_steps(teams: list[str]) -> dict[str, PlanStep]:
    """One step per team (step id = team), each depending on the planned teams it waits for."""
    return {
        team: PlanStep(step_id=team, team=team,  # type: ignore[arg-type]
                       depends_on=[d for d in DEPENDS_ON.get(team, ()) if d in teams])
        for team in teams
    }


def desired_skills(
    triage: TriageResult, context: CaseContext, teams: list[str], policy: RoutingPolicy
) -> dict[str, list[str]]:
    """Per team, the skills that fit this case's likely causes and spinal region."""
    wanted: dict[str, set[str]] = {team: set() for team in teams}
    for cause in triage.likely_causes:
        if cause.probability < policy.min_cause_probability:
            continue
        for team, skills in policy.cause_skills.get(cause.cause, {}).items():
            if team in wanted:
                wanted[team].update(skills)
    for team in REGION_SKILL_TEAMS & wanted.keys():
        wanted[team].add(context.region)
    return {team: sorted(skills) for team, skills in wanted.items() if skills}


def surgery_days(context: CaseContext) -> int | None:
    """Days to the planned surgery, within the contract's bound even for a context built without
    validation (model_construct, model_copy(update=...)): past it, triaged_at + days overflowed
    datetime (OverflowError) and the case's event went to the dead-letter topic."""
    days = context.surgery_in_days
    return None if days is None else min(max(days, 0), SURGERY_DAYS_MAX)


def review_deadline(
    urgency: Urgency, context: CaseContext, triaged_at: datetime, policy: RoutingPolicy,
    team: str | None = None,
) -> datetime:
    """When the opinion is due (the team's, if it differs): turnaround, or before surgery."""
    return policy.sla.review_due(urgency=urgency, team=team, triaged_at=triaged_at,
                                 surgery_in_days=surgery_days(context))


def set_step_deadlines(
    state: CaseRouting, urgency: Urgency, context: CaseContext, triaged_at: datetime,
    policy: RoutingPolicy,
) -> None:
    """Each step's review deadline from the SLA policy; a re-triage only brings it forward."""
    for step in state.steps.values():
        due = review_deadline(urgency, context, triaged_at, policy, step.team)
        step.deadline = min(step.deadline, due) if step.deadline else due


def ready_steps(state: CaseRouting) -> list[PlanStep]:
    """Never-offered waiting steps whose prerequisites have all completed, in plan order."""
    done = {s.step_id for s in state.steps.values() if s.status == "completed"}
    return [
        s for s in state.steps.values()
        if s.status == "waiting" and s.attempts == 0 and all(d in done for d in s.depends_on)
    ]


def attachments_for(state: CaseRouting, step: PlanStep) -> list[str]:
    """Report refs of the step's completed prerequisites, to go along with its offer."""
    refs = []
    for dep in step.depends_on:
        prior = state.steps.get(dep)
        if prior is not None and prior.report_ref:
            refs.append(prior.report_ref)
    return refs


def plan_complete(state: CaseRouting) -> bool:
    """Every step completed (cancelled steps do not block completion)."""
    live = [s for s in state.steps.values() if s.status != "cancelled"]
    return bool(live) and all(s.status == "completed" for s in live)
