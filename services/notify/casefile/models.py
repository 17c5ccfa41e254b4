"""The case read-model: one summary per case, folded from events; no patient-identifying data."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, computed_field

from schemas.sla import ClockKind
from schemas.triage import Team, Urgency

CaseStatus = Literal[
    "received", "triaged", "offered", "accepted", "report_ready", "completed", "cancelled",
]
StepStatus = Literal["pending", "offered", "accepted", "completed", "withdrawn"]
ClockState = Literal["on_track", "warning", "breached", "paused", "met", "stopped"]
OpenSlaState = Literal["on_track", "warning", "breached", "paused"]
_LIST_FIELDS = (
    "missing_records", "teams", "escalations", "breaches", "deliveries", "report_refs", "timeline",
    "trimmed_ids",
)
_SEVERITY: tuple[OpenSlaState, ...] = ("breached", "warning", "paused", "on_track")
ActorKind = Literal["referrer", "specialist", "ops", "system"]


class ReadModel(BaseModel):
    """Base of the read-model: unknown fields ignored so an older summary still loads."""

    model_config = ConfigDict(extra="ignore")


class Record(ReadModel):
    """An immutable list item: replaced, never changed, so summaries may share it."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class StageTimes(ReadModel):
    """When the case first reached each stage (None = not yet)."""

    received: AwareDatetime | None = None
    triaged: AwareDatetime | None = None
    offered: AwareDatetime | None = None
    accepted: AwareDatetime | None = None
    report_ready: AwareDatetime | None = None
    completed: AwareDatetime | None = None
    cancelled: AwareDatetime | None = None


class StepState(ReadModel):
    """One plan step (one team): who it is offered to or assigned to, and since when."""

    step_id: str
    team: Team
    status: StepStatus = "pending"
    specialist_id: str | None = None  # the current offeree, then the assignee
    waiting_since: AwareDatetime | None = None  # released or first offered, until accepted
    offered_at: AwareDatetime | None = None  # the current offer
    offer_expires_at: AwareDatetime | None = None
    review_due: AwareDatetime | None = None  # routing's turnaround deadline, sent with the offer
    attempts: int = 0
    accepted_at: AwareDatetime | None = None
    completed_at: AwareDatetime | None = None
    emergency: bool = False


class SlaClock(ReadModel):
    """One SLA clock (acceptance or turnaround of a step) as far as the events have told."""

    step_id: str
    clock: ClockKind
    team: Team | None = None
    urgency: Urgency | None = None
    started_at: AwareDatetime | None = None
    deadline: AwareDatetime | None = None
    warned_at: AwareDatetime | None = None
    warned_fraction: float | None = None
    breached_at: AwareDatetime | None = None
    late_by_seconds: float | None = None
    paused: bool = False
    closed_at: AwareDatetime | None = None  # met: the step moved on (accepted, reported)
    stopped_at: AwareDatetime | None = None  # the case was cancelled or completed around it
    updated_at: AwareDatetime | None = None  # newest SLA event applied, so older ones lose
    # newest pause or resume applied: ordered among themselves, not against alarms (dated by
    # notify's ticks) nor routing's deadline changes (dated by routing's clock)
    paused_changed_at: AwareDatetime | None = None
    # the deadline routing's latest ReviewDeadlineChanged set: it stands against SLA events
    routing_deadline: AwareDatetime | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def state(self) -> ClockState:
        """Current state: met or stopped once over, else paused, breached, warning or on track."""
        if self.closed_at is not None:
            return "met"
        if self.stopped_at is not None:
            return "stopped"
        if self.paused:
            return "paused"
        if self.breached_at is not None:
            return "breached"
        if self.warned_at is not None:
            return "warning"
        return "on_track"

    @property
    def is_open(self) -> bool:
        """Still running (possibly paused)."""
        return self.closed_at is None and self.stopped_at is None

    @property
    def attained(self) -> bool | None:
        """True if met without a breach, False once breached, None while undecided or stopped."""
        if self.breached_at is not None:
            return False
        return True if self.closed_at is not None else None


class OfferOutcomes(ReadModel):
    """How the case's offers ended, and how long acceptances took."""

    offered: int = 0
    accepted: int = 0
    declined: int = 0
    expired: int = 0
    withdrawn: int = 0  # re-triage made the offer moot: not the specialist's doing
    acceptance_seconds: list[float] = Field(default_factory=list)


class Escalation(Record):
    at: AwareDatetime
    step_id: str
    team: Team
    escalate_to: str
    reason: str  # routing's own reason code, never referral text


class Breach(Record):
    at: AwareDatetime
    step_id: str
    clock: ClockKind
    urgency: Urgency
    deadline: AwareDatetime
    late_by_seconds: float


class Delivery(Record):
    """The latest outcome of one notification (by notification id)."""

    notification_id: str
    at: AwareDatetime
    audience: str
    kind: str
    outcome: Literal["delivered", "failed"]
    attempts: int
    final: bool = True


class TimelineEntry(Record):
    """One audit line: which event, when, who did it and what changed (structured, no free text)."""

    event_id: str
    event_type: str
    at: AwareDatetime
    actor_kind: ActorKind
    actor: str  # referrer id, specialist id, ops principal or the system service's name
    changes: dict[str, Any] = Field(default_factory=dict)


class CaseOutline(ReadModel):
    """A case summary without its timeline: what the watchdog and the breach forecast read.

    The timeline is about half of a row's JSON and most of its parse (the pipeline bench's
    rows: ~27 KB and ~340 us parsed whole, ~12 KB and ~55 us as an outline); the timer's pass
    over every open case held them all at once (~70 MB at 3,000 cases, docs/benchmarks.md).
    """

    case_id: str
    referrer_id: str | None = None
    revision: int = 0
    triage_revision: int = 0
    urgency: Urgency | None = None
    emergency_pathway: bool = False
    erased: bool = False  # patient data erased upstream; this summary never held any
    status: CaseStatus = "received"
    missing_records: list[str] = Field(default_factory=list)
    teams: list[Team] = Field(default_factory=list)
    steps: dict[str, StepState] = Field(default_factory=dict)
    clocks: dict[str, SlaClock] = Field(default_factory=dict)
    stages: StageTimes = Field(default_factory=StageTimes)
    offers: OfferOutcomes = Field(default_factory=OfferOutcomes)
    escalations: list[Escalation] = Field(default_factory=list)
    breaches: list[Breach] = Field(default_factory=list)
    deliveries: list[Delivery] = Field(default_factory=list)
    report_refs: list[str] = Field(default_factory=list)
    dead_letters: int = 0
    updated_at: AwareDatetime | None = None

    @property
    def is_open(self) -> bool:
        """Not yet completed or cancelled."""
        return self.status not in ("completed", "cancelled")

    @property
    def waiting_for_records(self) -> bool:
        """The case waits on the referrer for the records listed in `missing_records`."""
        return bool(self.missing_records) and self.is_open

    @computed_field  # type: ignore[prop-decorator]
    @property
    def assignees(self) -> dict[str, str]:
        """Step id -> the specialist currently assigned (accepted or emergency-assigned)."""
        return {
            s.step_id: s.specialist_id
            for s in self.steps.values()
            if s.specialist_id and s.status in ("accepted", "completed")
        }

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sla_state(self) -> OpenSlaState | None:
        """The worst state among the open clocks, as notify's clocks count; None once closed.

        Owed records pause only the clocks notify pauses (its `sla.pausable`): never the
        emergency pathway's, nor a turnaround running to routing's deadline. A clock started
        while records are owed raises no SlaPaused, so the wait itself marks those "paused".
        The case is "paused" only while none of its clocks counts: a paged emergency showed
        "paused" while its 15-minute clock ran.
        """
        if not self.is_open:
            return None
        clocks = [c for c in self.clocks.values() if c.is_open]
        held = self.waiting_for_records
        states = {"paused" if held and c.state == "on_track" and self._pausable(c) else c.state
                  for c in clocks}
        if any(st.emergency and st.status != "completed" for st in self.steps.values()):
            # A page's clocks count from the page, before any SLA event puts them here.
            states.add("on_track")
        elif held and not clocks:
            states.add("paused")  # nothing counts yet: the first clock would start paused
        if "on_track" in states:
            states.discard("paused")  # something counts
        return next((s for s in _SEVERITY if s in states), "on_track")

    def _pausable(self, clock: SlaClock) -> bool:
        """Whether notify pauses this clock while records are owed (its sla.pausable)."""
        step = self.steps.get(clock.step_id)
        if clock.urgency == "emergency" or (step is not None and step.emergency):
            return False
        return not (clock.clock == "turnaround" and step is not None
                    and step.review_due is not None)  # runs to routing's deadline

    @property
    def next_deadline(self) -> AwareDatetime | None:
        """The earliest deadline among the open clocks that are not paused."""
        deadlines = [
            c.deadline for c in self.clocks.values() if c.is_open and not c.paused and c.deadline
        ]
        return min(deadlines, default=None)


class CaseSummary(CaseOutline):
    """Everything ops and the referrer may see about one case; safe to serialise and display."""

    timeline: list[TimelineEntry] = Field(default_factory=list)
    # Ids of applied events whose lines the timeline's cap trimmed (the newest TRIMMED_MEMORY),
    # so a redelivery of one is still known: an event dated before the newest lines was dropped
    # from the timeline at once and applied again (counters, lists) on every redelivery. Old
    # rows parse without it; a previous release ignores it (unknown fields are ignored).
    trimmed_ids: list[str] = Field(default_factory=list)

    def mutable_copy(self) -> CaseSummary:
        """A copy whose containers and nested state are its own; list items are immutable."""
        return self.model_copy(update={
            "stages": self.stages.model_copy(),
            "offers": self.offers.model_copy(
                update={"acceptance_seconds": list(self.offers.acceptance_seconds)}
            ),
            "steps": {key: step.model_copy() for key, step in self.steps.items()},
            "clocks": {key: clock.model_copy() for key, clock in self.clocks.items()},
            **{name: list(getattr(self, name)) for name in _LIST_FIELDS},
        })

    def has_applied(self, event_id: str) -> bool:
        """Whether this event was applied: its line is in the timeline, or was trimmed from it."""
        return event_id in self.trimmed_ids or any(
            entry.event_id == event_id for entry in self.timeline)
