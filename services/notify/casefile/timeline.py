"""Audit lines: who caused an event and what it changed, from whitelisted structured fields only."""

from __future__ import annotations

from typing import Any

from schemas.cases import CaseErased, CaseTriaged, ReferralReceived
from schemas.dead_letter import DeadLettered
from schemas.envelope import Event
from services.notify.casefile.models import ActorKind, TimelineEntry

# Only these fields reach the timeline. Free text (cancel/decline reasons, report text,
# notification failure bodies) is left out on purpose: it may quote the patient.
_CHANGED_FIELDS: dict[str, tuple[str, ...]] = {
    "ReferralCancelled": (),
    "AssignmentOffered": (
        "step_id", "team", "specialist_id", "attempt", "offer_expires_at", "deadline", "relaxed",
    ),
    "AssignmentAccepted": ("step_id", "team", "specialist_id"),
    "AssignmentDeclined": ("step_id", "team", "specialist_id"),
    "OfferExpired": ("step_id", "team", "specialist_id", "reason"),
    "OfferExpiryChanged": (
        "step_id", "team", "specialist_id", "attempt", "offer_expires_at", "urgency",
    ),
    "CaseEscalated": ("step_id", "team", "escalate_to", "team_lead_id", "attempts", "reason"),
    "EmergencyAssigned": ("step_id", "team", "specialist_id"),
    "PlanStepReleased": ("step_id", "team", "depends_on"),
    "AssignmentCompleted": ("step_id", "team", "specialist_id", "report_ref"),
    "CaseCompleted": ("report_refs",),
    "RoutingStopped": ("reason", "specialist_ids"),
    "CaseErased": (),
    "AcceptOffer": ("step_id", "specialist_id"),
    "DeclineOffer": ("step_id", "specialist_id"),
    "CompleteAssignment": ("step_id", "specialist_id", "attachment_ref"),
    "AmendReport": ("step_id", "specialist_id"),
    "RequestTeam": ("step_id", "specialist_id", "team"),
    "ReportAmended": ("step_id", "team", "specialist_id", "report_ref"),
    "ReviewDeadlineChanged": ("step_id", "team", "deadline", "specialist_id"),
    "PlanExtended": ("step_id", "team", "requested_by", "requested_from_step", "deadline"),
    "SlaWarningRaised": ("clock", "step_id", "urgency", "deadline", "elapsed_fraction"),
    "SlaBreached": ("clock", "step_id", "urgency", "deadline", "late_by_seconds"),
    "SlaPaused": ("clock", "step_id", "urgency", "deadline", "reason"),
    "SlaResumed": ("clock", "step_id", "urgency", "deadline"),
    "SlaMet": ("clock", "step_id", "urgency", "deadline"),
    "ReportStall": ("stage", "waiting_seconds", "source_topic"),
    "NotificationDelivered": ("audience", "kind", "attempts", "status_code"),
    "NotificationFailed": ("audience", "kind", "attempts", "final"),
}

_SPECIALIST_ACTED = {
    "AssignmentAccepted", "AssignmentDeclined", "AssignmentCompleted",
    "AcceptOffer", "DeclineOffer", "CompleteAssignment", "AmendReport", "RequestTeam",
    "ReportAmended",
}
_SYSTEM_ACTOR = {
    "CaseTriaged": "triage",
    "ReportStall": "notify",
    "SlaWarningRaised": "notify", "SlaBreached": "notify", "SlaPaused": "notify",
    "SlaResumed": "notify", "SlaMet": "notify",
    "NotificationDelivered": "notify", "NotificationFailed": "notify",
}
_MAX_TEXT = 200  # system reason codes only; a cap keeps one bad producer from bloating the log


def _json(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str):
        return value[:_MAX_TEXT]
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value


def actor_of(event: Event) -> tuple[ActorKind, str]:
    """Who caused the event: the referrer, a specialist, or a system service by name."""
    event_type = getattr(event, "event_type", type(event).__name__)
    if isinstance(event, CaseErased):
        return "ops", event.requested_by
    referrer_id = getattr(event, "referrer_id", None)
    if referrer_id is not None:
        return "referrer", str(referrer_id)
    if event_type in _SPECIALIST_ACTED:
        return "specialist", str(getattr(event, "specialist_id", "unknown"))
    if isinstance(event, DeadLettered):
        return "system", event.service
    if event_type in _SYSTEM_ACTOR:
        return "system", _SYSTEM_ACTOR[event_type]
    if event_type in _CHANGED_FIELDS:
        return "system", "routing"
    return "system", "unknown"


def changes_of(event: Event) -> dict[str, Any]:
    """A short structured description of what the event changed; never free text."""
    if isinstance(event, ReferralReceived):
        return {
            "revision": event.revision,
            "received_via": event.received_via,
            "missing_records": list(event.missing_records),
            "unmapped_count": len(event.unmapped),
        }
    if isinstance(event, CaseTriaged):
        t = event.triage
        return {
            "revision": event.revision,
            "urgency": t.urgency,
            "required_teams": list(t.required_teams),
            "optional_teams": list(t.optional_teams),
            "emergency_pathway": t.emergency_pathway,
            "fired_rules": [r.rule_id for r in t.fired_rules],
            "rule_table_version": t.rule_table_version,
        }
    if isinstance(event, DeadLettered):
        return {"service": event.service, "source_topic": event.source_topic}
    event_type = getattr(event, "event_type", "")
    fields = _CHANGED_FIELDS.get(event_type, ())
    return {name: _json(getattr(event, name)) for name in fields if hasattr(event, name)}


def entry_for(event: Event) -> TimelineEntry:
    """The audit line for one event."""
    actor_kind, actor = actor_of(event)
    return TimelineEntry(
        event_id=event.event_id,
        event_type=getattr(event, "event_type", type(event).__name__),
        at=event.occurred_at,
        actor_kind=actor_kind,
        actor=actor,
        changes=changes_of(event),
    )
