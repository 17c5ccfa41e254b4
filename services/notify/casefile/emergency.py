"""The emergency pathway as ops should see it: paged, then acknowledged; never a waiting queue."""

from __future__ import annotations

from datetime import datetime

from services.notify.casefile.models import CaseSummary
from services.notify.casefile.snapshot import EmergencyRow, short_id

# The referrer sends emergencies to the emergency department; routing never offers that team
# (routing's NOT_ROUTED), so counting it as "waiting" would show a queue that never moves.
NOT_ROUTED_TEAMS = frozenset({"emergency_department"})


def routed_team(team: str) -> bool:
    """True for teams that routing offers cases to (and that can therefore queue)."""
    return team not in NOT_ROUTED_TEAMS


def emergency_row(case: CaseSummary, now: datetime) -> EmergencyRow | None:
    """The case's page state if it is on the emergency pathway and still open."""
    if not case.is_open or not (case.emergency_pathway or case.urgency == "emergency"):
        return None
    paged = [s for s in case.steps.values() if s.emergency]
    pages = [when for s in paged if (when := s.accepted_at or s.waiting_since) is not None]
    paged_at = min(pages, default=None)
    acks = [c.closed_at for c in case.clocks.values()
            if c.clock == "acceptance" and c.closed_at is not None
            and c.step_id in {s.step_id for s in paged}]
    acknowledged_at = min(acks, default=None)
    state = "acknowledged" if acknowledged_at else "paged" if paged else "paging"
    triaged = case.stages.triaged
    return EmergencyRow(
        case_id=case.case_id, short_id=short_id(case.case_id), state=state,
        paged_to=sorted({s.specialist_id for s in paged if s.specialist_id}),
        triaged_at=triaged, paged_at=paged_at, acknowledged_at=acknowledged_at,
        seconds_since_triage=(now - triaged).total_seconds() if triaged else None,
    )


_STATE_ORDER = {"paging": 0, "paged": 1, "acknowledged": 2}


def emergency_order(row: EmergencyRow) -> tuple[int, str, str]:
    """Not yet paged first, then paged, then acknowledged; oldest first within each."""
    return (_STATE_ORDER[row.state], row.triaged_at.isoformat() if row.triaged_at else "",
            row.case_id)
