"""Routing's own Prometheus metrics. Labels carry event types and teams, never case ids."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter, Gauge

from schemas.envelope import Event
from schemas.routing import ExpireOffers
from services.routing.domain.state import CommandOutcome

ROUTING_OUTPUTS = Counter(
    "spine_routing_events_total", "Routing events produced", ["event_type", "team"]
)
COMMAND_OUTCOMES = Counter(
    "spine_routing_command_outcomes_total", "Specialists' commands by outcome",
    ["command", "status"],
)
DIRECTORY_SIZE = Gauge("spine_routing_directory_specialists", "Specialists in the directory")
CASES_WAITING = Gauge(
    "spine_routing_cases_with_due_offers", "Open cases with an offer or retry due"
)
OFFERS_LAPSED = Counter(
    "spine_routing_offer_slots_lapsed_total",
    "Offers a specialist's load held past every offer window, freed (their case had lost them)",
)


def count_outcome(event: Event, produced: Sequence[Event], outcome: CommandOutcome | None) -> None:
    """One decided input: the events it produced (by type and team) and a command's outcome."""
    for out in produced:
        ROUTING_OUTPUTS.labels(event_type=type(out).__name__,
                               team=getattr(out, "team", "") or "").inc()
    if outcome is not None and not isinstance(event, ExpireOffers):
        COMMAND_OUTCOMES.labels(command=type(event).__name__, status=outcome.status).inc()
