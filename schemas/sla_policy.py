"""The one SLA policy: per urgency (and, where a team differs, per team) how long an offer is held,
how long a step may wait for acceptance, and when the review is due.

Routing computes each step's review deadline from it and sends it on its events; notify's clocks,
`/me/offers`, the referrer's status and the ops dashboard all show that same instant. Nobody keeps
a second table of turnaround targets. Numbers from the triage brief, section 3 (urgent 24-72 h,
soon ~2 weeks, routine <= ~6 weeks) and section 6 (second reads "priority 24 h" for urgent cases,
"24 to 72 hours" otherwise).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field, model_validator

from schemas.envelope import Contract
from schemas.triage import URGENCY_ORDER, Team, Urgency

HOUR = 3600.0
DAY = 24 * HOUR


class Targets(Contract):
    """The three budgets of one (urgency, team), in seconds."""

    offer_window_seconds: float = Field(gt=0)  # one specialist's hold on an offer
    acceptance_seconds: float = Field(gt=0)  # the step: first offer -> accepted (across re-offers)
    turnaround_seconds: float = Field(gt=0)  # triage -> report due (the review deadline)


class TeamOverride(Contract):
    """A team whose budget differs from its urgency's default; unset fields keep the default."""

    acceptance_seconds: float | None = Field(default=None, gt=0)
    turnaround_seconds: float | None = Field(default=None, gt=0)


DEFAULT_URGENCY_TARGETS: dict[Urgency, Targets] = {
    "emergency": Targets(offer_window_seconds=0.25 * HOUR, acceptance_seconds=0.25 * HOUR,
                         turnaround_seconds=4 * HOUR),
    "urgent": Targets(offer_window_seconds=0.5 * HOUR, acceptance_seconds=2 * HOUR,
                      turnaround_seconds=72 * HOUR),
    "soon": Targets(offer_window_seconds=4 * HOUR, acceptance_seconds=8 * HOUR,
                    turnaround_seconds=14 * DAY),
    "routine": Targets(offer_window_seconds=12 * HOUR, acceptance_seconds=24 * HOUR,
                       turnaround_seconds=42 * DAY),
}

# The second read comes first (surgeons, oncologists and ID wait for it), so it is due sooner.
DEFAULT_TEAM_OVERRIDES: dict[Team, dict[Urgency, TeamOverride]] = {
    "spine_radiology": {
        "urgent": TeamOverride(turnaround_seconds=24 * HOUR),
        "soon": TeamOverride(turnaround_seconds=72 * HOUR),
        "routine": TeamOverride(turnaround_seconds=72 * HOUR),
    },
}


class SlaPolicy(Contract):
    """Every deadline budget of the system; read by routing and notify alike."""

    urgencies: dict[Urgency, Targets] = Field(
        default_factory=lambda: dict(DEFAULT_URGENCY_TARGETS))
    teams: dict[Team, dict[Urgency, TeamOverride]] = Field(
        default_factory=lambda: {t: dict(o) for t, o in DEFAULT_TEAM_OVERRIDES.items()})
    surgery_margin_seconds: float = Field(default=DAY, ge=0)  # opinion due this long before surgery

    @model_validator(mode="after")
    def _every_urgency(self) -> SlaPolicy:
        missing = set(URGENCY_ORDER) - set(self.urgencies)
        if missing:
            raise ValueError(f"urgencies lacks {sorted(missing)}")
        return self

    def targets(self, urgency: Urgency, team: str | None = None) -> Targets:
        """The budgets of one step: the urgency's, with the team's overrides applied."""
        base = self.urgencies[urgency]
        override = self.teams.get(team, {}).get(urgency) if team else None  # type: ignore[call-overload]
        if override is None:
            return base
        return base.model_copy(update={
            k: v for k, v in override.model_dump().items() if v is not None})

    def offer_window(self, urgency: Urgency) -> timedelta:
        """How long one specialist may hold an offer at this urgency."""
        return timedelta(seconds=self.urgencies[urgency].offer_window_seconds)

    def review_due(
        self, *, urgency: Urgency, team: str | None, triaged_at: datetime,
        surgery_in_days: int | None = None,
    ) -> datetime:
        """When a step's report is due: its turnaround from triage, or before a planned surgery."""
        due = triaged_at + timedelta(seconds=self.targets(urgency, team).turnaround_seconds)
        if surgery_in_days is not None:
            before_surgery = (triaged_at + timedelta(days=surgery_in_days)
                              - timedelta(seconds=self.surgery_margin_seconds))
            # Never in the past: a surgery tomorrow still gets the shortest turnaround.
            floor = triaged_at + timedelta(
                seconds=self.urgencies["emergency"].turnaround_seconds)
            due = min(due, max(before_surgery, floor))
        return due


DEFAULT_SLA_POLICY = SlaPolicy()
