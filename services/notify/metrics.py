"""Notify's Prometheus metrics. Labels are urgencies, teams, audiences and outcomes: never ids."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SLA_EVENTS = Counter(
    "notify_sla_events_total", "SLA events raised", ["event_type", "clock", "urgency", "team"]
)
SLA_CLOCKS = Gauge(
    "notify_sla_clocks", "SLA clocks by state (refreshed by the table scan)",
    ["state", "clock", "urgency", "team"],
)
NOTIFICATIONS_QUEUED = Counter(
    "notify_notifications_queued_total", "Notifications put in the outbox", ["audience", "kind"]
)
NOTIFICATIONS_SKIPPED = Counter(
    "notify_notifications_skipped_total", "Notifications with nobody to send to", ["kind"]
)
DELIVERIES = Counter(
    "notify_deliveries_total", "Webhook delivery attempts by outcome",
    ["audience", "outcome"],  # outcome: delivered, retry, failed
)
DELIVERY_LATENCY = Histogram(
    "notify_delivery_latency_seconds", "Time from queueing to successful delivery", ["audience"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 6 * 3600),
)
ALARM_DELAY = Histogram(
    "notify_sla_alarm_delay_seconds",
    "From when an SLA warning or breach fell due (its occurred_at) to when a tick raised it",
    ["event_type"],
    buckets=(1, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600),
)
DIRECTORY_WAITS = Counter(
    "notify_directory_waits_total",
    "Events held for the specialist directory's first load, by how the wait ended",
    ["outcome"],  # loaded, timed_out (then applied without it, as before)
)
REQUEST_SECONDS = Histogram(
    "notify_webhook_request_seconds", "Duration of one webhook request", ["audience"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_PENDING = Gauge("notify_outbox_pending", "Notifications queued in delivery lanes")
CASES_AT_RISK = Gauge(
    "notify_cases_at_risk", "Open cases the forecast expects to breach, by reason",
    ["team", "reason"],
)
STALLED_CASES = Gauge(
    "notify_stalled_cases", "Cases a stage never answered within the watchdog's time",
    ["stage", "urgency"],
)
STALLS_DETECTED = Counter(
    "notify_stalls_detected_total", "Stalled cases found (each case and stage counted once)",
    ["stage"],
)
DASHBOARD_STREAMS = Gauge(
    "notify_dashboard_streams", "Live dashboard event streams open on this worker",
)
DASHBOARD_STREAMS_REFUSED = Counter(
    "notify_dashboard_streams_refused_total",
    "Dashboard event streams (or their tickets) refused at a limit", ["limit"],  # principal, worker
)
