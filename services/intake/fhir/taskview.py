"""What a referral system may see of its cases' progress: a bounded view built from events (pure).

Intake owns the referral and the FHIR base, but a case's progress is decided downstream. Every
intake worker reads referral.events.v1, case.triaged.v1, routing.events.v1 and sla.events.v1
in full (no consumer group: any worker can answer any read) and folds them here. Events of one
case arrive from several topics in no particular order, so the view records facts (triaged,
which steps are offered, accepted, completed; cancelled; completed) and the Task status is
derived from the facts, never from the order they came in. Applying an event twice changes
nothing. The view holds at most `max_cases` cases; past that the least recently updated case is
forgotten (its Task then answers 404) — docs/intake.md says so.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from schemas.cases import CaseErased, CaseTriaged, ReferralCancelled, ReferralReceived
from schemas.envelope import Event
from schemas.referral import Referral
from schemas.reports import MAX_ADDENDA, ReportAddendum, ReviewReport
from schemas.routing import (
    AssignmentAccepted,
    AssignmentCompleted,
    AssignmentDeclined,
    AssignmentOffered,
    CaseCompleted,
    CaseEscalated,
    EmergencyAssigned,
    OfferExpired,
    PlanExtended,
    PlanStepReleased,
    ReportAmended,
    RoutingStopped,
)
from schemas.sla import SlaBreached, SlaMet, SlaPaused, SlaResumed, SlaWarningRaised
from schemas.triage import text_flags_to_confirm

MAX_TO_CONFIRM = 20  # text flags shown on a Task; each is one rule and one sentence
StepState = Literal["released", "offered", "escalated", "accepted", "completed"]
_RANK: dict[StepState, int] = {
    "released": 0, "offered": 1, "escalated": 1, "accepted": 2, "completed": 3
}


@dataclass
class Step:
    team: str
    state: StepState = "released"
    specialist_id: str | None = None  # the assignee once accepted
    report_ref: str | None = None
    report: ReviewReport | None = None  # the reviewer's report, once completed
    addenda: list[ReportAddendum] = field(default_factory=list)  # by version, at most MAX_ADDENDA
    completed_at: datetime | None = None

    def advance(self, state: StepState) -> None:
        """Move forward only: a redelivered or late `offered` never undoes an acceptance."""
        if _RANK[state] >= _RANK[self.state]:
            self.state = state


@dataclass(frozen=True)
class RequestSummary:
    """What the ServiceRequest read-back shows of the latest revision (not the whole referral:
    the view keeps ~1 KiB per case instead of ~13 KiB, bench/fhir_status_bench.py)."""

    referral_type: str
    region: str
    pseudonym: str | None
    clinical_question: str | None
    organisation: str | None

    @classmethod
    def of(cls, referral: Referral) -> RequestSummary:
        return cls(
            referral_type=referral.referral_type, region=referral.region,
            pseudonym=referral.patient.pseudonym, clinical_question=referral.clinical_question,
            organisation=referral.referrer.organisation if referral.referrer else None,
        )


@dataclass
class CaseProgress:
    case_id: str
    referral: RequestSummary | None = None  # latest revision, for ServiceRequest read-back
    revision: int = 0
    first_received_at: datetime | None = None
    urgency: str | None = None
    triaged: bool = False
    triage_revision: int = 0
    # Urgent/emergency flags read from the referrer's own words, with the sentence, for the
    # referrer to confirm (the Task is served to that referrer only); dropped on erasure.
    to_confirm: list[dict[str, str]] = field(default_factory=list)
    steps: dict[str, Step] = field(default_factory=dict)
    deadline: datetime | None = None  # when the opinion is due (latest step deadline)
    cancelled: bool = False
    completed: bool = False
    updated_at: datetime | None = None

    def step(self, step_id: str, team: str) -> Step:
        """The step, created on first sight (events of one case come in any order)."""
        return self.steps.setdefault(step_id, Step(team=team))

    def extend_deadline(self, deadline: datetime | None) -> None:
        if deadline is not None and (self.deadline is None or deadline > self.deadline):
            self.deadline = deadline


def _received(case: CaseProgress, e: ReferralReceived) -> None:
    if e.revision >= case.revision:
        case.referral, case.revision = RequestSummary.of(e.referral), e.revision
    if case.first_received_at is None or e.occurred_at < case.first_received_at:
        case.first_received_at = e.occurred_at


def _triaged(case: CaseProgress, e: CaseTriaged) -> None:
    if e.revision < case.triage_revision:
        return  # a late triage of an older revision changes nothing
    case.triaged, case.urgency, case.triage_revision = True, e.triage.urgency, e.revision
    case.to_confirm = text_flags_to_confirm(e.triage)[:MAX_TO_CONFIRM]


def _offered(case: CaseProgress, e: AssignmentOffered) -> None:
    case.step(e.step_id, e.team).advance("offered")
    case.extend_deadline(e.deadline)


def _accepted(case: CaseProgress, e: AssignmentAccepted | EmergencyAssigned) -> None:
    step = case.step(e.step_id, e.team)
    step.advance("accepted")
    step.specialist_id = e.specialist_id
    case.extend_deadline(e.deadline)


def _completed_step(case: CaseProgress, e: AssignmentCompleted) -> None:
    step = case.step(e.step_id, e.team)
    step.advance("completed")
    step.specialist_id = e.specialist_id
    step.report_ref, step.completed_at = e.report_ref, e.occurred_at
    step.report = e.report or step.report


def _amended(case: CaseProgress, e: ReportAmended) -> None:
    step = case.step(e.step_id, e.team)
    versions = {a.version for a in step.addenda}
    if e.addendum.version not in versions and len(step.addenda) < MAX_ADDENDA:
        step.addenda = sorted([*step.addenda, e.addendum], key=lambda a: a.version)


def _released(case: CaseProgress, e: PlanStepReleased | PlanExtended) -> None:
    case.step(e.step_id, e.team)
    if isinstance(e, PlanExtended):
        case.extend_deadline(e.deadline)


def _escalated(case: CaseProgress, e: CaseEscalated) -> None:
    case.step(e.step_id, e.team).advance("escalated")


def _case_completed(case: CaseProgress, e: CaseCompleted) -> None:
    case.completed = True


def _stopped(case: CaseProgress, e: RoutingStopped | ReferralCancelled) -> None:
    case.cancelled = True


def _clock(case: CaseProgress, e: SlaWarningRaised | SlaBreached | SlaPaused | SlaResumed
           | SlaMet) -> None:
    if e.clock == "turnaround":
        case.extend_deadline(e.deadline)


_APPLY: dict[type[Event], Callable[[CaseProgress, object], None]] = {
    ReferralReceived: _received,  # type: ignore[dict-item]
    CaseTriaged: _triaged,  # type: ignore[dict-item]
    AssignmentOffered: _offered,  # type: ignore[dict-item]
    AssignmentAccepted: _accepted,  # type: ignore[dict-item]
    EmergencyAssigned: _accepted,  # type: ignore[dict-item]
    AssignmentCompleted: _completed_step,  # type: ignore[dict-item]
    PlanStepReleased: _released,  # type: ignore[dict-item]
    PlanExtended: _released,  # type: ignore[dict-item]
    ReportAmended: _amended,  # type: ignore[dict-item]
    CaseEscalated: _escalated,  # type: ignore[dict-item]
    CaseCompleted: _case_completed,  # type: ignore[dict-item]
    RoutingStopped: _stopped,  # type: ignore[dict-item]
    ReferralCancelled: _stopped,  # type: ignore[dict-item]
    SlaWarningRaised: _clock,  # type: ignore[dict-item]
    SlaBreached: _clock,  # type: ignore[dict-item]
    SlaPaused: _clock,  # type: ignore[dict-item]
    SlaResumed: _clock,  # type: ignore[dict-item]
    SlaMet: _clock,  # type: ignore[dict-item]
}
# Declines and expiries change nothing a referrer sees: the step stays offered to someone else.
_IGNORED = (AssignmentDeclined, OfferExpired)


@dataclass
class TaskView:
    """Cases' progress by case id, least recently updated first, capped at `max_cases`; and the
    cases erased lately, whose later events are ignored (capped at `max_erased`)."""

    max_cases: int = 20_000
    max_erased: int = 20_000
    cases: OrderedDict[str, CaseProgress] = field(default_factory=OrderedDict)
    # The four topics have no order between them: a CaseTriaged (the referrer's sentences) or
    # an AssignmentCompleted (the report) read after CaseErased would otherwise build a fresh
    # CaseProgress holding that text until evicted. Intake also consults its registry's
    # erased markers (every erased case, for good); this set covers what the view read itself.
    erased: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def apply(self, event: Event) -> None:
        """Fold one event in (idempotent); an erased case is dropped with its referral, and
        nothing read after that brings it back."""
        if isinstance(event, CaseErased):
            self.erase(event.case_id)
            return
        handler = _APPLY.get(type(event))
        if handler is None or event.case_id in self.erased:
            return
        case = self.cases.pop(event.case_id, None) or CaseProgress(event.case_id)
        handler(case, event)
        if case.updated_at is None or event.occurred_at > case.updated_at:
            case.updated_at = event.occurred_at
        self.cases[event.case_id] = case  # most recently updated last
        while len(self.cases) > self.max_cases:
            self.cases.popitem(last=False)

    def erase(self, case_id: str) -> None:
        """Forget the case and ignore its later events."""
        self.cases.pop(case_id, None)
        self.erased[case_id] = None
        self.erased.move_to_end(case_id)
        while len(self.erased) > self.max_erased:
            self.erased.popitem(last=False)

    def get(self, case_id: str) -> CaseProgress | None:
        """The case's progress, if the view holds it."""
        return self.cases.get(case_id)


TaskStatus = Literal["requested", "received", "accepted", "in-progress", "completed", "cancelled"]


@dataclass(frozen=True)
class Progress:
    status: TaskStatus
    business_code: str
    business_text: str


def progress_of(case: CaseProgress | None, *, cancelled: bool = False) -> Progress:
    """The Task status (IHE 360X / BaRS closed loop) and business status of a case.
    Completed first: a completed Task is final, and a cancel intake took before it saw the
    completion was ignored by routing (the reports stand)."""
    if case is not None and case.completed:
        return Progress("completed", "report-available", "every requested opinion is reported")
    if cancelled or (case is not None and case.cancelled):
        return Progress("cancelled", "cancelled", "the referral was cancelled")
    if case is None:
        return Progress("requested", "stored", "stored; waiting for triage")
    teams = len(case.steps)
    done = sum(s.state == "completed" for s in case.steps.values())
    taken = sum(s.state in ("accepted", "completed") for s in case.steps.values())
    if done:
        return Progress("in-progress", "partially-reported",
                        f"{done} of {teams} team(s) reported; the rest are in review")
    if taken:
        return Progress("accepted", "accepted", f"{taken} of {teams} team(s) accepted")
    if any(s.state == "escalated" for s in case.steps.values()):
        return Progress("received", "escalated",
                        "no specialist accepted yet; escalated to the service team")
    if case.steps:
        return Progress("received", "offered", "offered to specialists; awaiting acceptance")
    if case.triaged:
        return Progress("received", "triaged", "triaged; finding specialists")
    return Progress("requested", "stored", "stored; waiting for triage")
