"""Hand-written directory entries, triaged cases and a tiny harness for routing domain tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from schemas.cases import CaseContext, CaseTriaged, ReferralCancelled
from schemas.directory import Absence, Capacity, Licence, OnCallShift, Specialist, WorkingHours
from schemas.envelope import Event, derive_id
from schemas.reports import ReviewReport
from schemas.routing import AcceptOffer, CompleteAssignment, DeclineOffer, ExpireOffers
from schemas.triage import LikelyCause, SecondRead, TriageResult
from services.routing.domain.directory import DirectoryIndex
from services.routing.domain.handlers import RoutingResult, handle
from services.routing.domain.load import LoadBook
from services.routing.domain.policy import RoutingPolicy
from services.routing.domain.state import CaseRouting

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday, mid-morning
ALWAYS = WorkingHours(weekdays=[0, 1, 2, 3, 4, 5, 6], start=time(0, 0), end=time(23, 59))


def specialist(sid: str, role: str = "neurosurgeon", **overrides: Any) -> Specialist:
    """A specialist who passes every hard constraint unless a test overrides something."""
    fields: dict[str, Any] = {
        "specialist_id": sid,
        "name": f"Dr {sid}",
        "role": role,
        "licences": [Licence(jurisdiction="GB-ENG", expires_on=date(2030, 1, 1))],
        "languages": ["en"],
        "institution_id": f"inst-{sid}",
        "group_id": f"group-{sid}",
        "team_lead_id": "lead-1",
        "working_hours": ALWAYS,
        "capacity": Capacity(max_open_cases=10, max_new_per_day=5),
    }
    fields.update(overrides)
    return Specialist(**fields)


def absence(start: datetime, hours: float) -> Absence:
    return Absence(starts_at=start, ends_at=start + timedelta(hours=hours))


def shift(start: datetime, hours: float) -> OnCallShift:
    return OnCallShift(starts_at=start, ends_at=start + timedelta(hours=hours))


def context(**overrides: Any) -> CaseContext:
    fields: dict[str, Any] = {"referrer_id": "ref-1", "jurisdiction": "GB-ENG", "region": "lumbar"}
    fields.update(overrides)
    return CaseContext(**fields)


def triaged(
    case_id: str = "case-1", *, urgency: str = "soon", teams: Iterable[str] = ("spine_surgery",),
    emergency: bool = False, revision: int = 1, causes: Iterable[tuple[str, float]] = (),
    second_read: str = "none", ctx: CaseContext | None = None, event_id: str | None = None,
) -> CaseTriaged:
    """A CaseTriaged for `case_id`; its id is derived from case and revision unless given."""
    return CaseTriaged(
        event_id=event_id or derive_id("triaged", case_id, revision),
        case_id=case_id, occurred_at=NOW, revision=revision, context=ctx or context(),
        triage=TriageResult(
            urgency=urgency, required_teams=list(teams), emergency_pathway=emergency,  # type: ignore[arg-type]
            likely_causes=[LikelyCause(cause=c, probability=p) for c, p in causes],
            second_read=SecondRead(recommendation=second_read),  # type: ignore[arg-type]
            rule_table_version="test",
        ),
    )


_seq = iter(range(1, 10**9))


def accept(case_id: str, step_id: str, sid: str, at: datetime = NOW) -> AcceptOffer:
    return AcceptOffer(event_id=f"cmd-{next(_seq)}", case_id=case_id, occurred_at=at,
                       step_id=step_id, specialist_id=sid)


def decline(case_id: str, step_id: str, sid: str, at: datetime = NOW) -> DeclineOffer:
    return DeclineOffer(event_id=f"cmd-{next(_seq)}", case_id=case_id, occurred_at=at,
                        step_id=step_id, specialist_id=sid, reason="on leave")


REPORT = ReviewReport(conclusion="agrees", opinion="Agree with the plan.",
                      recommendations=["Physiotherapy for 12 weeks"])


def complete(case_id: str, step_id: str, sid: str, at: datetime = NOW,
             report: ReviewReport | None = REPORT) -> CompleteAssignment:
    return CompleteAssignment(event_id=f"cmd-{next(_seq)}", case_id=case_id, occurred_at=at,
                              step_id=step_id, specialist_id=sid, report=report)


def tick(case_id: str, at: datetime) -> ExpireOffers:
    return ExpireOffers(event_id=f"tick-{next(_seq)}", case_id=case_id, occurred_at=at)


def cancelled(case_id: str) -> ReferralCancelled:
    return ReferralCancelled(event_id=f"cancel-{case_id}", case_id=case_id, occurred_at=NOW,
                             referrer_id="ref-1")


class Routing:
    """Drives the pure handlers the way the agent does: state per case, load applied after."""

    def __init__(self, *specs: Specialist, policy: RoutingPolicy | None = None) -> None:
        self.directory = DirectoryIndex(specs)
        self.loads = LoadBook()
        self.policy = policy or RoutingPolicy()
        self.states: dict[str, CaseRouting] = {}
        self.sent: list[Event] = []

    def send(self, event: Event, now: datetime | None = None) -> RoutingResult:
        at = now or (event.occurred_at if not isinstance(event, CaseTriaged) else NOW)
        result = handle(self.states.get(event.case_id), event, directory=self.directory,
                        loads=self.loads, policy=self.policy, now=at)
        self.states[event.case_id] = result.state
        for delta in result.load_deltas:
            self.loads.apply(delta)
        self.sent.extend(result.events)
        return result

    def state(self, case_id: str = "case-1") -> CaseRouting:
        return self.states[case_id]

    def offered_to(self, case_id: str = "case-1", step_id: str = "spine_surgery") -> str | None:
        offer = self.state(case_id).steps[step_id].offer
        return offer.specialist_id if offer else None


def types(events: Iterable[Event]) -> list[str]:
    return [type(e).__name__ for e in events]
