"""The routing state of one case: its plan steps, offers, audit record and applied events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.cases import CaseContext
from schemas.triage import Team, Urgency

StepStatus = Literal["waiting", "offered", "escalated", "assigned", "completed", "cancelled"]
CaseStatus = Literal["new", "open", "completed", "stopped"]
# "reused": an Idempotency-Key sent again with another body (domain/idempotency.py); never stored.
OutcomeStatus = Literal["ok", "conflict", "not_found", "forbidden", "invalid", "reused"]

# Every list that grows from inputs is capped, and the whole row must fit a Kafka message
# (the changelog's 1 MiB default, with room for key and headers): found here, never at the
# broker, where a too-large row crashed the producer and crash-looped the worker (F1).
MAX_RECORD_ENTRIES = 400
MAX_APPLIED_IDS = 2000  # the idempotency window; older redeliveries are decided again
MAX_OUTCOMES = 200
MAX_STATE_BYTES = 512 * 1024


class _State(BaseModel):
    """Mutable inside one handler call (which works on a `working_copy`), JSON in the table."""

    model_config = ConfigDict(extra="ignore", validate_assignment=False)


class Offer(_State):
    specialist_id: str
    offered_at: AwareDatetime
    expires_at: AwareDatetime
    attempt: int
    relaxed: list[str] = Field(default_factory=list)

    def open_at(self, now: datetime) -> bool:
        """Whether the offer can still be answered at `now`. The one rule for the tick that
        closes it, the commands that answer it and the reads that show it: between its expiry
        and the tick, a read that still showed it open offered an accept that could only fail."""
        return now < self.expires_at


class PlanStep(_State):
    step_id: str
    team: Team
    depends_on: list[str] = Field(default_factory=list)
    status: StepStatus = "waiting"
    offer: Offer | None = None
    attempts: int = 0
    assignee: str | None = None
    assigned_at: AwareDatetime | None = None
    completed_at: AwareDatetime | None = None
    report_ref: str | None = None
    escalated_to: Literal["team_lead", "ops"] | None = None
    retry_at: AwareDatetime | None = None  # escalated steps look for someone again then
    emergency: bool = False
    deadline: AwareDatetime | None = None  # this step's review deadline (schemas.sla_policy)
    report_version: int = 0  # 1 once reported, +1 per addendum
    requested_by: str | None = None  # the reviewer whose request added this step
    request_reason: str | None = None  # shown to this step's reviewer in the case view


@dataclass(slots=True)
class CandidateOutcome:
    """One specialist considered in a decision: excluded (with named reasons) or ranked."""

    # A plain dataclass, not a model: a decision writes one per candidate, so it must be cheap.

    specialist_id: str
    excluded: list[str] = field(default_factory=list)
    rank: int | None = None
    tier: int | None = None  # how many preferences had to be relaxed to reach them
    unmet_preferences: list[str] = field(default_factory=list)
    held: int = 0
    capacity: int = 0
    skill_fit: int = 0


class RecordEntry(_State):
    """One line of the routing record, kept for audit and appeals."""

    at: AwareDatetime
    kind: str  # triaged, offered, escalated, emergency, accepted, rejected, ...
    step_id: str | None = None
    specialist_id: str | None = None
    detail: str = ""
    relaxed: list[str] = Field(default_factory=list)
    candidates: list[CandidateOutcome] = Field(default_factory=list)
    not_licensed_elsewhere: int = 0  # team members skipped by the jurisdiction index
    source_event_id: str | None = None


class CommandOutcome(_State):
    """How the agent decided a specialist's command; the HTTP caller is told this."""

    status: OutcomeStatus
    detail: str
    # Why, for a client to act on (the problem type of the HTTP answer); left out of the row
    # when unset, so rows keep the shape the previous release wrote.
    reason: str | None = Field(default=None, exclude_if=lambda kept: kept is None)


class CaseRouting(_State):
    case_id: str
    status: CaseStatus = "new"
    revision: int = 0
    urgency: Urgency = "routine"
    emergency: bool = False
    context: CaseContext | None = None
    desired_skills: dict[str, list[str]] = Field(default_factory=dict)  # team -> skills
    optional_teams: list[str] = Field(default_factory=list)  # triage's "often added" teams
    likely_causes: list[str] = Field(default_factory=list)  # top three, for offer summaries
    fired_rules: list[str] = Field(default_factory=list)  # triage rule ids, for offer summaries
    triaged_at: AwareDatetime | None = None
    deadline: AwareDatetime | None = None
    steps: dict[str, PlanStep] = Field(default_factory=dict)
    offered_to: list[str] = Field(default_factory=list)  # never offer the case twice to one person
    applied: list[str] = Field(default_factory=list)  # event ids already applied
    outcomes: dict[str, CommandOutcome] = Field(default_factory=dict)  # command id -> outcome
    # Command id -> digest of its body, to refuse a reused Idempotency-Key (domain/idempotency);
    # as many as outcomes, dropped on erasure. Left out of the row while empty: most cases never
    # see a command with a body, and their rows stay as the previous release wrote them.
    body_digests: dict[str, str] = Field(default_factory=dict, exclude_if=lambda kept: not kept)
    record: list[RecordEntry] = Field(default_factory=list)
    report_refs: list[str] = Field(default_factory=list)
    # Set by CaseErased and never cleared: late or redelivered inputs (other topics, other
    # agents) must neither bring content back nor reopen the case to commands.
    erased: bool = False
    # Offers decided but not yet published: reservation id -> AssignmentOffered JSON, until the
    # specialist's load owner grants the capacity (services/routing/reservations.py).
    held_offers: dict[str, str] = Field(default_factory=dict)
    # Reservation id -> when it was last sent again, unanswered: the next ask is later still
    # (reservations.py). Left out of the row while empty, as rows were written before it.
    held_asked_at: dict[str, AwareDatetime] = Field(default_factory=dict,
                                                    exclude_if=lambda kept: not kept)

    def working_copy(self) -> CaseRouting:
        """A copy a handler may change, nothing shared with this one.

        Through JSON, the form the table stores it in anyway: pydantic-core does that about
        five times faster than `copy.deepcopy` (~0.2 vs ~1 ms for a triaged case), which was
        ~10 % of routing's CPU in the pipeline (docs/benchmarks.md, issue 13).
        """
        return CaseRouting.model_validate_json(self.model_dump_json())

    def next_due(self) -> datetime | None:
        """The earliest moment an offer expires or an escalated step should retry."""
        if self.status != "open":
            return None
        due = [s.offer.expires_at for s in self.steps.values() if s.offer is not None]
        due += [s.retry_at for s in self.steps.values() if s.retry_at is not None]
        return min(due) if due else None

    def holders(self) -> list[str]:
        """Everyone holding an offer or an open assignment on this case."""
        ids = {s.offer.specialist_id for s in self.steps.values() if s.offer}
        ids |= {s.assignee for s in self.steps.values() if s.assignee and s.status == "assigned"}
        return sorted(ids)


def holds_anything(state: CaseRouting, specialist_id: str) -> bool:
    """Whether the specialist holds or held an offer or an assignment on this case."""
    return specialist_id in state.offered_to or any(
        s.assignee == specialist_id or (s.offer is not None and s.offer.specialist_id
                                        == specialist_id) for s in state.steps.values())


def serialized_size(state: CaseRouting) -> int:
    """Bytes of the table row."""
    return len(state.model_dump_json())


def bounded(state: CaseRouting) -> bool:
    """Trim `state` to its caps in place; False when it still cannot fit a message."""
    del state.applied[:-MAX_APPLIED_IDS]
    for command_id in list(state.outcomes)[:-MAX_OUTCOMES]:
        del state.outcomes[command_id]
    for command_id in list(state.body_digests)[:-MAX_OUTCOMES]:
        del state.body_digests[command_id]
    _trim_record(state, MAX_RECORD_ENTRIES)
    excess = serialized_size(state) - MAX_STATE_BYTES
    # Candidate lists are the bulk: drop the oldest first, then the oldest lines.
    for entry in state.record:
        if excess <= 0:
            break
        if entry.candidates:
            before = len(entry.model_dump_json())
            entry.candidates = []
            excess -= before - len(entry.model_dump_json())
    while excess > 0 and state.record:
        excess -= len(state.record.pop(0).model_dump_json()) + 1
    return serialized_size(state) <= MAX_STATE_BYTES


def _trim_record(state: CaseRouting, keep: int) -> None:
    # Refusals go first: they are the lines someone outside the case could multiply.
    excess = len(state.record) - keep
    if excess <= 0:
        return
    refused = [i for i, e in enumerate(state.record) if e.kind.endswith("_refused")][:excess]
    dropped = set(refused)
    state.record = [e for i, e in enumerate(state.record) if i not in dropped]
    del state.record[: max(0, len(state.record) - keep)]


def new_case(case_id: str) -> CaseRouting:
    """The state of a case routing has not seen yet."""
    return CaseRouting(case_id=case_id)
