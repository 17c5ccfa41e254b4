"""What the SLA clocks and escalation chains aim for, per urgency: the configurable numbers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.sla import ClockKind
from schemas.sla_policy import DEFAULT_SLA_POLICY, SlaPolicy
from schemas.triage import URGENCY_ORDER, Team, Urgency
from services.notify.domain.calendar import BusinessCalendar

HOUR = 3600.0

# Escalation levels in the order they are told; ops hears last and repeatedly.
LEVELS: tuple[str, ...] = ("specialist", "team_lead", "ops")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EscalationPolicy(_Frozen):
    """When each level hears of a warning or breach, counted from the chain's start."""

    delays_seconds: tuple[float, float, float] = (0.0, HOUR, 2 * HOUR)  # assignee, lead, ops
    repeat_every_seconds: float = Field(default=2 * HOUR, gt=0)  # ops is reminded this often
    max_repeats: int = Field(default=2, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> EscalationPolicy:
        d = self.delays_seconds
        if min(d) < 0 or list(d) != sorted(d):
            raise ValueError("delays_seconds must be non-negative and non-decreasing")
        return self


DEFAULT_ESCALATION: dict[Urgency, EscalationPolicy] = {
    "emergency": EscalationPolicy(
        delays_seconds=(0, 300, 600), repeat_every_seconds=600, max_repeats=6
    ),
    "urgent": EscalationPolicy(
        delays_seconds=(0, 1800, 3600), repeat_every_seconds=HOUR, max_repeats=4
    ),
    "soon": EscalationPolicy(
        delays_seconds=(0, 2 * HOUR, 4 * HOUR), repeat_every_seconds=4 * HOUR, max_repeats=2
    ),
    "routine": EscalationPolicy(
        delays_seconds=(0, 4 * HOUR, 8 * HOUR), repeat_every_seconds=8 * HOUR, max_repeats=2
    ),
}


class NotifyPolicy(_Frozen):
    """Every number the domain uses; loaded from env/config by services.notify.config."""

    # Acceptance and turnaround budgets: the one policy routing's deadlines come from too.
    sla: SlaPolicy = DEFAULT_SLA_POLICY
    warn_fractions: tuple[float, ...] = (0.75, 0.9)
    escalation: dict[Urgency, EscalationPolicy] = Field(
        default_factory=lambda: dict(DEFAULT_ESCALATION)
    )
    calendars: dict[Team, BusinessCalendar] = Field(default_factory=dict)
    # Emergencies and urgent cases run on wall-clock time even where a team has office hours.
    calendar_urgencies: tuple[Urgency, ...] = ("soon", "routine")

    @model_validator(mode="after")
    def _complete(self) -> NotifyPolicy:
        if any(not 0 < f < 1 for f in self.warn_fractions):
            raise ValueError("warn_fractions must lie strictly between 0 and 1")
        missing = set(URGENCY_ORDER) - set(self.escalation)
        if missing:
            raise ValueError(f"escalation lacks urgencies: {sorted(missing)}")
        return self

    def target_seconds(self, urgency: Urgency, kind: ClockKind, team: str | None = None) -> float:
        """The budget of a clock for this urgency and team, from the shared SLA policy."""
        targets = self.sla.targets(urgency, team)
        return targets.acceptance_seconds if kind == "acceptance" else targets.turnaround_seconds

    def calendar_for(self, team: str, urgency: Urgency) -> BusinessCalendar | None:
        """The team's business calendar if it applies at this urgency, else None (24/7)."""
        if urgency not in self.calendar_urgencies:
            return None
        return self.calendars.get(team)  # type: ignore[call-overload]
