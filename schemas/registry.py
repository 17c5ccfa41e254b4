"""Which events travel on which topic, and one parser per topic for the consumers' edge."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from schemas import topics
from schemas.cases import CaseErased, CaseTriaged, ReferralCancelled, ReferralReceived
from schemas.dead_letter import DeadLettered
from schemas.envelope import Event
from schemas.notifications import NotificationDelivered, NotificationFailed
from schemas.routing import (
    AcceptOffer,
    AmendReport,
    AssignmentAccepted,
    AssignmentCompleted,
    AssignmentDeclined,
    AssignmentOffered,
    CapacityDecided,
    CaseCompleted,
    CaseEscalated,
    CompleteAssignment,
    DeclineOffer,
    EmergencyAssigned,
    ExpireOffers,
    OfferExpired,
    OfferExpiryChanged,
    PlanExtended,
    PlanStepReleased,
    ReportAmended,
    RequestTeam,
    ReviewDeadlineChanged,
    RoutingStopped,
)
from schemas.sla import SlaBreached, SlaMet, SlaPaused, SlaResumed, SlaWarningRaised

TOPIC_EVENTS: dict[str, tuple[type[Event], ...]] = {
    topics.REFERRAL_EVENTS: (ReferralReceived, ReferralCancelled, CaseErased),
    topics.CASE_TRIAGED: (CaseTriaged,),
    topics.ROUTING_COMMANDS: (
        AcceptOffer, DeclineOffer, CompleteAssignment, ExpireOffers, AmendReport, RequestTeam,
        CapacityDecided,
    ),
    topics.ROUTING_EVENTS: (
        AssignmentOffered, AssignmentAccepted, AssignmentDeclined, OfferExpired, CaseEscalated,
        EmergencyAssigned, PlanStepReleased, AssignmentCompleted, CaseCompleted, RoutingStopped,
        ReportAmended, PlanExtended, ReviewDeadlineChanged, OfferExpiryChanged,
    ),
    topics.SLA_EVENTS: (SlaWarningRaised, SlaBreached, SlaPaused, SlaResumed, SlaMet),
    topics.NOTIFICATION_EVENTS: (NotificationDelivered, NotificationFailed),
    topics.DEAD_LETTERS: (DeadLettered,),
}


@cache
def _adapter(topic: str) -> TypeAdapter[Any]:
    models = TOPIC_EVENTS[topic]
    if len(models) == 1:
        return TypeAdapter(models[0])
    union: Any = Annotated[Union[models], Field(discriminator="event_type")]  # noqa: UP007
    return TypeAdapter(union)


def parse_event(topic: str, raw: bytes) -> Event:
    """Parse the wire bytes of `topic` into its event model; raises ValidationError or KeyError."""
    event: Event = _adapter(topic).validate_json(raw)
    return event


def all_event_models() -> list[type[Event]]:
    """Every event model, once, in topic order."""
    seen: dict[str, type[Event]] = {}
    for models in TOPIC_EVENTS.values():
        for model in models:
            seen.setdefault(model.__name__, model)
    return list(seen.values())
