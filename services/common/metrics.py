"""Prometheus metrics shared by every service. Labels never carry case ids or patient data."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PROCESSED = Counter(
    "spine_events_processed_total",
    "Events handled successfully",
    ["service", "topic", "event_type"],
)
EVENTS_FAILED = Counter(
    "spine_events_failed_total", "Events that could not be processed", ["service", "topic"]
)
DEAD_LETTERS = Counter(
    "spine_dead_letters_total", "Messages sent to the dead-letter topic", ["service", "topic"]
)
EVENTS_SENT = Counter("spine_events_sent_total", "Events produced", ["service", "topic"])
CONSUMER_LAG = Gauge(
    "spine_consumer_lag_messages", "Messages behind the log end", ["service", "topic", "partition"]
)
HANDLE_SECONDS = Histogram(
    "spine_event_handle_seconds",
    "Time to handle one event",
    ["service", "topic"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
TABLE_ROWS = Gauge(
    "spine_table_rows",
    "Rows this worker holds in a table (its partitions' rows: what its memory is sized by)",
    ["table"],
)
