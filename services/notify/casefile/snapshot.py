"""What the ops dashboard receives: cards, team load, breaches, attainment, emergencies, facets."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from services.notify.casefile.models import CaseStatus, OpenSlaState, ReadModel

SHORT_ID_LENGTH = 8  # enough to tell cases apart on screen; the full id is in the card's data


def short_id(case_id: str) -> str:
    """The first characters of a case id, for display (full UUIDs wrap to four lines)."""
    return case_id[:SHORT_ID_LENGTH]


class CaseCard(ReadModel):
    case_id: str
    short_id: str = ""
    referrer_id: str | None = None
    urgency: str | None
    status: CaseStatus
    sla_state: OpenSlaState
    teams: list[str]
    assignees: list[str]
    offered_to: list[str]
    deadline: AwareDatetime | None
    deadline_clock: str | None = None  # "acceptance" or "turnaround": which clock is next due
    seconds_to_deadline: float | None  # negative: late by that much
    waiting_for_records: bool
    emergency: bool = False
    at_risk: bool = False  # the forecast expects a breach before anyone is warned by time
    risk_reason: str | None = None  # a reason code (see domain/forecast.py)
    risk_detail: str | None = None  # the same in words, with the figures behind it
    predicted_at: AwareDatetime | None = None  # when the forecast expects the step to be done


class TeamLoad(ReadModel):
    team: str
    open_cases: int = 0
    waiting: int = 0  # steps not yet accepted (emergency pages never queue: see emergencies)
    in_progress: int = 0  # accepted, report not yet in
    oldest_waiting_since: AwareDatetime | None = None
    oldest_waiting_seconds: float | None = None


class EmergencyRow(ReadModel):
    """An emergency-pathway case: paged at once, then acknowledged; never queued."""

    case_id: str
    short_id: str
    state: str  # "paging" (triaged, nobody paged yet), "paged", "acknowledged"
    paged_to: list[str]
    triaged_at: AwareDatetime | None
    paged_at: AwareDatetime | None
    acknowledged_at: AwareDatetime | None
    seconds_since_triage: float | None


class BreachRow(ReadModel):
    case_id: str
    short_id: str = ""
    step_id: str
    team: str | None
    clock: str
    urgency: str
    deadline: AwareDatetime
    breached_at: AwareDatetime
    late_by_seconds: float
    still_open: bool


class Attainment(ReadModel):
    met: int = 0
    breached: int = 0

    @property
    def percent(self) -> float | None:
        """Share of decided clocks met in time, in percent; None before any is decided."""
        total = self.met + self.breached
        return round(100.0 * self.met / total, 1) if total else None


class Percentiles(ReadModel):
    count: int
    p50_seconds: float | None
    p90_seconds: float | None


class OfferTotals(ReadModel):
    offered: int = 0
    accepted: int = 0
    declined: int = 0
    expired: int = 0
    acceptance_rate_percent: float | None = None


class Facets(ReadModel):
    """The values the filters can take, from the cases held (bounded lists)."""

    teams: list[str] = Field(default_factory=list)
    urgencies: list[str] = Field(default_factory=list)
    referrers: list[str] = Field(default_factory=list)


class StallRow(ReadModel):
    """A case a stage never answered (received, not triaged; triaged, not routed or paged)."""

    case_id: str
    short_id: str
    stage: str  # "triage", "routing" or "emergency_page": the stage that stayed silent
    urgency: str | None
    since: AwareDatetime
    waiting_seconds: float


class DashboardSnapshot(ReadModel):
    generated_at: AwareDatetime
    totals: dict[str, int]
    columns: dict[str, list[CaseCard]]
    column_counts: dict[str, int]
    team_load: list[TeamLoad]
    recent_breaches: list[BreachRow]
    attainment_by_urgency: dict[str, float | None]
    attainment_by_team: dict[str, float | None]
    attainment_by_clock: dict[str, float | None]
    stage_durations: dict[str, Percentiles]
    acceptance_times: Percentiles
    offer_outcomes: OfferTotals = Field(default_factory=OfferTotals)
    emergencies: list[EmergencyRow] = Field(default_factory=list)
    at_risk_count: int = 0
    stalled: list[StallRow] = Field(default_factory=list)  # see domain/watchdog.py
    facets: Facets = Field(default_factory=Facets)
    filters: dict[str, str] = Field(default_factory=dict)  # the filters this snapshot applied
