"""Intake's Prometheus metrics. Labels are fixed vocabularies: never case ids or patient data."""

from __future__ import annotations

from prometheus_client import Counter

REQUESTS = Counter(
    "spine_intake_requests_total",
    "Referral requests by channel and outcome",
    ["via", "outcome"],  # accepted, replayed, updated, cancelled, erased, or a problem kind
)
ERASURE_REPAIRS = Counter(
    "spine_intake_erasure_repairs_total",
    "Erased cases tombstoned again because a worker wrote for them after the erasure",
)
