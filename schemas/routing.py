"""Routing's events (what happened to offers and plans) and commands (what specialists asked)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from schemas.envelope import Contract, Event
from schemas.reports import ReportAddendum, ReviewReport
from schemas.triage import Team, Urgency


class _StepEvent(Event):
    step_id: str  # one plan step per team; a single-team case has one step
    team: Team


class OfferSummary(Contract):
    """What an offer tells before acceptance: no direct identifiers, no free text from the
    referral; the case view (`case_view`, on routing's API) has the rest."""

    region: str
    likely_causes: list[str] = Field(default_factory=list, max_length=3)  # most likely first
    fired_rules: list[str] = Field(default_factory=list, max_length=30)  # triage rule ids
    question: str = Field(max_length=500)  # what this team is asked to answer
    missing_records: list[str] = Field(default_factory=list, max_length=30)
    case_view: str = Field(max_length=500)


class AssignmentOffered(_StepEvent):
    event_type: Literal["AssignmentOffered"] = "AssignmentOffered"
    specialist_id: str
    urgency: Urgency
    offer_expires_at: AwareDatetime
    attempt: int = Field(ge=1)
    relaxed: list[str] = Field(default_factory=list)  # preferences dropped to find someone
    deadline: AwareDatetime | None = None  # when the case's review is due (SLA turnaround)
    attachments: list[str] = Field(default_factory=list)  # report refs of completed prior steps
    summary: OfferSummary | None = None  # for the offer webhook


class AssignmentAccepted(_StepEvent):
    event_type: Literal["AssignmentAccepted"] = "AssignmentAccepted"
    specialist_id: str
    urgency: Urgency
    deadline: AwareDatetime | None = None  # the step's review deadline (schemas.sla_policy)


class AssignmentDeclined(_StepEvent):
    event_type: Literal["AssignmentDeclined"] = "AssignmentDeclined"
    specialist_id: str
    reason: str = ""


class OfferExpired(_StepEvent):
    event_type: Literal["OfferExpired"] = "OfferExpired"
    specialist_id: str
    reason: Literal["timeout", "withdrawn"] = "timeout"  # withdrawn: re-triage made it moot


class CaseEscalated(_StepEvent):
    event_type: Literal["CaseEscalated"] = "CaseEscalated"
    reason: str
    escalate_to: Literal["team_lead", "ops"] = "ops"
    team_lead_id: str | None = None  # set when escalate_to is team_lead
    attempts: int = Field(default=0, ge=0)  # offers made for this step so far


class EmergencyAssigned(_StepEvent):
    """Emergency path: the on-call surgeon is assigned at once and paged; no offer round."""

    event_type: Literal["EmergencyAssigned"] = "EmergencyAssigned"
    specialist_id: str
    deadline: AwareDatetime | None = None  # the step's review deadline (schemas.sla_policy)


class PlanStepReleased(_StepEvent):
    event_type: Literal["PlanStepReleased"] = "PlanStepReleased"
    depends_on: list[str] = Field(default_factory=list)
    attachments: list[str] = Field(default_factory=list)  # report refs of the prerequisites


class AssignmentCompleted(_StepEvent):
    event_type: Literal["AssignmentCompleted"] = "AssignmentCompleted"
    specialist_id: str
    report_ref: str | None = None  # where routing serves the report (schemas.reports.report_ref)
    report: ReviewReport | None = None  # None only on messages from before reports existed


class ReportAmended(_StepEvent):
    """An addendum to a completed step's report; the report's version goes up by one."""

    event_type: Literal["ReportAmended"] = "ReportAmended"
    specialist_id: str
    report_ref: str
    addendum: ReportAddendum


class ReviewDeadlineChanged(_StepEvent):
    """A re-triage brought an open step's review deadline forward (schemas.sla_policy)."""

    event_type: Literal["ReviewDeadlineChanged"] = "ReviewDeadlineChanged"
    deadline: AwareDatetime
    specialist_id: str | None = None  # the offer holder or assignee, to tell


class OfferExpiryChanged(_StepEvent):
    """A re-triage cut an open offer's window short: its holder must answer by the new time
    (the offer of `attempt`, as `AssignmentOffered` told it, otherwise unchanged)."""

    event_type: Literal["OfferExpiryChanged"] = "OfferExpiryChanged"
    specialist_id: str  # the offer's holder, to tell
    urgency: Urgency  # the case's urgency now (the re-triage raised it)
    offer_expires_at: AwareDatetime
    attempt: int = Field(ge=1)


class PlanExtended(_StepEvent):
    """A reviewer asked for another team; routing added its step (released like any other)."""

    event_type: Literal["PlanExtended"] = "PlanExtended"
    requested_by: str  # the specialist id of the reviewer who asked
    requested_from_step: str
    reason: str = Field(max_length=1_000)
    deadline: AwareDatetime | None = None


class CaseCompleted(Event):
    event_type: Literal["CaseCompleted"] = "CaseCompleted"
    report_refs: list[str] = Field(default_factory=list)


class RoutingStopped(Event):
    """The case was cancelled or erased: no more offers, clocks stop."""

    event_type: Literal["RoutingStopped"] = "RoutingStopped"
    reason: str
    specialist_ids: list[str] = Field(default_factory=list)  # offer holders and assignees to tell


RoutingEvent = (
    AssignmentOffered | AssignmentAccepted | AssignmentDeclined | OfferExpired | CaseEscalated
    | EmergencyAssigned | PlanStepReleased | AssignmentCompleted | CaseCompleted | RoutingStopped
    | ReportAmended | PlanExtended | ReviewDeadlineChanged | OfferExpiryChanged
)


# Ids in commands come from URLs and tokens: bounded here so no command can grow a row (F1).
StepRef = Annotated[str, Field(min_length=1, max_length=64)]
SpecialistRef = Annotated[str, Field(min_length=1, max_length=128)]


# Commands from the specialists' API, serialised through the routing agent (keyed by case id)
# so that two concurrent accepts are decided in one place, in order.
class AcceptOffer(Event):
    event_type: Literal["AcceptOffer"] = "AcceptOffer"
    step_id: StepRef
    specialist_id: SpecialistRef


class DeclineOffer(Event):
    event_type: Literal["DeclineOffer"] = "DeclineOffer"
    step_id: StepRef
    specialist_id: SpecialistRef
    reason: str = Field(default="", max_length=500)


class CompleteAssignment(Event):
    event_type: Literal["CompleteAssignment"] = "CompleteAssignment"
    step_id: StepRef
    specialist_id: SpecialistRef
    report_text: str = Field(default="", max_length=50_000)  # legacy, before `report`
    attachment_ref: str | None = Field(default=None, max_length=500)  # legacy, before `report`
    report: ReviewReport | None = None  # required to complete; None is refused


class AmendReport(Event):
    """Add an addendum to a step's completed report (its author only)."""

    event_type: Literal["AmendReport"] = "AmendReport"
    step_id: StepRef
    specialist_id: SpecialistRef
    text: str = Field(min_length=1, max_length=5_000)


class RequestTeam(Event):
    """A reviewer holding an assignment asks for another team's review of the case."""

    event_type: Literal["RequestTeam"] = "RequestTeam"
    step_id: StepRef  # the requester's own step
    specialist_id: SpecialistRef
    team: Team
    reason: str = Field(min_length=1, max_length=1_000)


class ExpireOffers(Event):
    """A clock tick for one case: expire offers whose timeout has passed at `occurred_at`."""

    event_type: Literal["ExpireOffers"] = "ExpireOffers"


class CapacityDecided(Event):
    """Routing-internal: the owner of a specialist's load partition granted or refused holding
    one more offer (the reservation is the "offered" load change with id `reservation_id`)."""

    event_type: Literal["CapacityDecided"] = "CapacityDecided"
    reservation_id: str = Field(max_length=64)
    step_id: str = Field(max_length=64)
    specialist_id: str = Field(max_length=64)
    team: str = Field(max_length=64)
    granted: bool
    reason: str = Field(default="", max_length=200)  # named capacity reason when refused


RoutingCommand = (
    AcceptOffer | DeclineOffer | CompleteAssignment | ExpireOffers | AmendReport | RequestTeam
    | CapacityDecided
)
