"""Hand-written fakes and event builders shared by notify's unit and agent tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from schemas.cases import CaseContext, CaseTriaged, ReferralCancelled, ReferralReceived
from schemas.envelope import Event, derive_id
from schemas.referral import Referral
from schemas.routing import (
    AssignmentAccepted,
    AssignmentCompleted,
    AssignmentDeclined,
    AssignmentOffered,
    CaseCompleted,
    CaseEscalated,
    EmergencyAssigned,
    RoutingStopped,
)
from schemas.triage import TriageResult, Urgency
from services.notify.domain.commands import AcknowledgeEscalation, CheckClocks
from services.notify.domain.handlers import apply_event
from services.notify.domain.policy import NotifyPolicy
from services.notify.domain.state import CaseState, Outcome

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning
POLICY = NotifyPolicy()


@dataclass
class FakeContacts:
    """A directory of three people and one referrer, as plain dictionaries."""

    leads: dict[str, str] = field(default_factory=lambda: {"spec-1": "lead-1", "spec-2": "lead-1"})
    team_leads: dict[str, str] = field(default_factory=lambda: {"spine_surgery": "lead-team"})
    ops: list[str] = field(default_factory=lambda: ["ops-1"])
    referrers: set[str] = field(default_factory=lambda: {"ref-1"})

    def team_lead_for(self, specialist_id: str | None, team: str) -> str | None:
        return self.leads.get(specialist_id or "") or self.team_leads.get(team)

    def ops_ids(self) -> list[str]:
        return list(self.ops)

    def has_referrer(self, referrer_id: str) -> bool:
        return referrer_id in self.referrers


class CountingTable(dict[str, bytes]):
    """A dict table that counts writes (each write is one changelog message in faust)."""

    def __init__(self, rows: dict[str, bytes] | None = None) -> None:
        super().__init__(rows or {})
        self.writes = 0

    def __setitem__(self, key: str, value: bytes) -> None:
        self.writes += 1
        super().__setitem__(key, value)


class CaseFlow:
    """Events of one case with deterministic ids, the way the other services would emit them."""

    def __init__(self, case_id: str = "case-1", referrer_id: str = "ref-1") -> None:
        self.case_id = case_id
        self.referrer_id = referrer_id
        self.counter = 0

    def _base(self, at: datetime) -> dict[str, object]:
        self.counter += 1
        return {"event_id": derive_id(self.case_id, "test", self.counter),
                "case_id": self.case_id, "occurred_at": at}

    def received(self, at: datetime = T0, *, missing: tuple[str, ...] = (),
                 revision: int = 1) -> ReferralReceived:
        referral = Referral(referral_id="r-1", referral_type="post_surgery", region="lumbar",
                            age=50, sex="F")
        return ReferralReceived(**self._base(at), referrer_id=self.referrer_id,  # type: ignore[arg-type]
                                revision=revision, referral=referral,
                                missing_records=list(missing))

    def triaged(self, at: datetime = T0, urgency: Urgency = "urgent") -> CaseTriaged:
        return CaseTriaged(**self._base(at),  # type: ignore[arg-type]
                           context=CaseContext(referrer_id=self.referrer_id, region="lumbar"),
                           triage=TriageResult(urgency=urgency, rule_table_version="test",
                                               required_teams=["spine_surgery"]))

    def offered(self, at: datetime = T0, *, specialist: str = "spec-1", step: str = "s1",
                urgency: Urgency = "urgent") -> AssignmentOffered:
        return AssignmentOffered(**self._base(at), step_id=step, team="spine_surgery",  # type: ignore[arg-type]
                                 specialist_id=specialist, urgency=urgency,
                                 offer_expires_at=at + timedelta(hours=1), attempt=1)

    def declined(self, at: datetime, *, specialist: str = "spec-1",
                 step: str = "s1") -> AssignmentDeclined:
        return AssignmentDeclined(**self._base(at), step_id=step, team="spine_surgery",  # type: ignore[arg-type]
                                  specialist_id=specialist)

    def accepted(self, at: datetime, *, specialist: str = "spec-1", step: str = "s1",
                 urgency: Urgency = "urgent") -> AssignmentAccepted:
        return AssignmentAccepted(**self._base(at), step_id=step, team="spine_surgery",  # type: ignore[arg-type]
                                  specialist_id=specialist, urgency=urgency)

    def step_completed(self, at: datetime, *, specialist: str = "spec-1",
                       step: str = "s1") -> AssignmentCompleted:
        return AssignmentCompleted(**self._base(at), step_id=step, team="spine_surgery",  # type: ignore[arg-type]
                                   specialist_id=specialist, report_ref="report-1")

    def case_completed(self, at: datetime) -> CaseCompleted:
        return CaseCompleted(**self._base(at), report_refs=["report-1"])  # type: ignore[arg-type]

    def cancelled(self, at: datetime) -> ReferralCancelled:
        return ReferralCancelled(**self._base(at), referrer_id=self.referrer_id)  # type: ignore[arg-type]

    def stopped(self, at: datetime) -> RoutingStopped:
        return RoutingStopped(**self._base(at), reason="erased")  # type: ignore[arg-type]

    def emergency(self, at: datetime = T0, *, specialist: str = "oncall-1",
                  step: str = "e1") -> EmergencyAssigned:
        return EmergencyAssigned(**self._base(at), step_id=step, team="spine_surgery",  # type: ignore[arg-type]
                                 specialist_id=specialist)

    def escalated(self, at: datetime, *, to: str = "ops", step: str = "s1") -> CaseEscalated:
        return CaseEscalated(**self._base(at), step_id=step, team="spine_surgery",  # type: ignore[arg-type]
                             reason="no eligible specialist", escalate_to=to)

    def tick(self, at: datetime) -> CheckClocks:
        return CheckClocks(**self._base(at))  # type: ignore[arg-type]

    def ack(self, at: datetime, *, by: str = "ops-1", role: str = "ops",
            step: str | None = None) -> AcknowledgeEscalation:
        return AcknowledgeEscalation(**self._base(at), acknowledged_by=by, role=role,  # type: ignore[arg-type]
                                     step_id=step)


class Harness:
    """Applies events through the domain the way the agent does, keeping state between calls."""

    def __init__(self, policy: NotifyPolicy = POLICY, contacts: FakeContacts | None = None) -> None:
        self.policy = policy
        self.contacts = contacts or FakeContacts()
        self.state: CaseState | None = None
        self.outcomes: list[Outcome] = []

    def apply(self, event: Event, now: datetime | None = None) -> Outcome:
        out = apply_event(self.state, event, policy=self.policy, contacts=self.contacts,
                          now=now or event.occurred_at, partition=0)
        self.state = out.state
        self.outcomes.append(out)
        return out

    @property
    def events(self) -> list[Event]:
        return [e for o in self.outcomes for e in o.events]

    @property
    def notifications(self) -> list[tuple[str, str, str]]:
        """(audience, subscriber, kind) of every notification queued, in order."""
        return [(n.audience, n.subscriber_id, n.kind) for o in self.outcomes
                for n in o.notifications]
