"""Dashboard filters (team, urgency, status, SLA state, referrer, case id search) and facets."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.notify.casefile.models import CaseSummary
from services.notify.casefile.snapshot import Facets

MAX_FACET_VALUES = 100  # a dropdown longer than this is useless; search covers the rest
SlaFilter = Literal["on_track", "warning", "breached", "paused", "at_risk"]


class CaseFilter(BaseModel):
    """One shareable view: every field optional, all given ones must match."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    team: str | None = Field(default=None, max_length=64)
    urgency: str | None = Field(default=None, max_length=32)
    status: str | None = Field(default=None, max_length=32)
    sla: SlaFilter | None = None
    referrer: str | None = Field(default=None, max_length=128)
    q: str | None = Field(default=None, max_length=64)  # case id, or any part of it

    def active(self) -> dict[str, str]:
        """The filters set, as query parameters."""
        return {k: v for k, v in self.model_dump().items() if v}

    def matches_id(self, case_id: str) -> bool:
        """True unless a case id search excludes this id (for lists that hold ids only)."""
        return not self.q or self.q.strip().lower() in case_id.lower()

    def matches(self, case: CaseSummary, *, at_risk: bool = False) -> bool:
        """True if the case passes every filter given (`at_risk`: the forecast's verdict)."""
        if self.team and self.team not in case.teams:
            return False
        if self.urgency and case.urgency != self.urgency:
            return False
        if self.status and case.status != self.status:
            return False
        if self.sla == "at_risk":
            if not at_risk:
                return False
        elif self.sla and case.sla_state != self.sla:
            return False
        if self.referrer and case.referrer_id != self.referrer:
            return False
        return not self.q or self.q.strip().lower() in case.case_id.lower()


def facets(summaries: Iterable[CaseSummary]) -> Facets:
    """The teams, urgencies and referrers present, sorted (bounded)."""
    teams: set[str] = set()
    urgencies: set[str] = set()
    referrers: set[str] = set()
    for case in summaries:
        teams.update(case.teams)
        if case.urgency:
            urgencies.add(case.urgency)
        if case.referrer_id and len(referrers) < MAX_FACET_VALUES:
            referrers.add(case.referrer_id)
    return Facets(teams=sorted(teams)[:MAX_FACET_VALUES],
                  urgencies=sorted(urgencies)[:MAX_FACET_VALUES], referrers=sorted(referrers))
