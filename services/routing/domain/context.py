"""What one handler call works with: directory, load, policy, clock, and the events it emits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.envelope import Event
from schemas.routing import (
    AssignmentAccepted,
    AssignmentCompleted,
    AssignmentDeclined,
    AssignmentOffered,
    EmergencyAssigned,
    OfferExpired,
)
from services.routing.domain.directory import DirectoryIndex, language_tag
from services.routing.domain.eligibility import CaseFacts
from services.routing.domain.load import LoadChange, LoadDelta
from services.routing.domain.policy import RoutingPolicy
from services.routing.domain.ranking import LoadView, StepFacts
from services.routing.domain.state import CaseRouting, PlanStep, RecordEntry

_LOAD_CHANGES: dict[type[Event], LoadChange] = {
    AssignmentOffered: "offered",
    OfferExpired: "offer_closed",
    AssignmentDeclined: "offer_closed",
    AssignmentAccepted: "assigned",
    EmergencyAssigned: "assigned",
    AssignmentCompleted: "completed",
}


@dataclass
class Ctx:
    """One handler call: inputs plus the events and load changes it produces, in order."""

    directory: DirectoryIndex
    loads: LoadView
    policy: RoutingPolicy
    now: datetime
    source: Event
    events: list[Event] = field(default_factory=list)
    load_deltas: list[LoadDelta] = field(default_factory=list)
    report_writes: list[Any] = field(default_factory=list)  # domain.reports.ReportWrite

    def event_id(self, *parts: object) -> str:
        """A derived id: the same input yields the same output ids on every replay."""
        return self.source.derived(*parts)

    def emit(self, state: CaseRouting, event: Event) -> None:
        """Queue an event, and the load change it implies for its specialist."""
        self.events.append(event)
        change = _LOAD_CHANGES.get(type(event))
        if change is not None:
            step_id, specialist_id = event.step_id, event.specialist_id  # type: ignore[attr-defined]
            self.load_change(state, state.steps[step_id], specialist_id, change)

    def load_change(
        self, state: CaseRouting, step: PlanStep, specialist_id: str, change: LoadChange
    ) -> None:
        """Queue a load change for one specialist on one step."""
        pseudonym = state.context.patient_pseudonym if state.context else None
        self.load_deltas.append(LoadDelta(
            event_id=self.event_id("load", step.step_id, specialist_id, change),
            case_id=state.case_id, occurred_at=self.now, specialist_id=specialist_id,
            step_id=step.step_id, team=step.team, change=change, patient_pseudonym=pseudonym,
        ))

    def note(self, state: CaseRouting, kind: str, detail: str = "", **fields: object) -> None:
        """Append a line to the case's routing record."""
        state.record.append(RecordEntry(
            at=self.now, kind=kind, detail=detail, source_event_id=self.source.event_id,
            **fields,  # type: ignore[arg-type]
        ))


def case_facts(state: CaseRouting) -> CaseFacts:
    """Digest the case context for the constraint checks."""
    ctx = state.context
    assert ctx is not None and state.deadline is not None, "case must be triaged first"
    return CaseFacts(
        case_id=state.case_id,
        jurisdiction=ctx.jurisdiction,
        language=language_tag(ctx.preferred_language) if ctx.preferred_language else None,
        excluded_practitioners=frozenset(ctx.excluded_practitioner_ids),
        excluded_institutions=frozenset(ctx.excluded_institution_ids),
        excluded_groups=frozenset(ctx.excluded_group_ids),
        deadline=state.deadline,
        offered_to=frozenset(state.offered_to),
    )


def step_facts(state: CaseRouting, step: PlanStep, loads: LoadView) -> StepFacts:
    """Digest what ranking needs for one step, including continuity reviewers."""
    ctx = state.context
    reviewers = loads.reviewers(
        step.team, ctx.related_case_ids if ctx else [], ctx.patient_pseudonym if ctx else None
    )
    return StepFacts(
        team=step.team,
        desired_skills=frozenset(state.desired_skills.get(step.team, [])),
        continuity=frozenset(reviewers),
    )
