"""Routing's own Prometheus metrics. Labels carry event types and teams, never case ids."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

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
