"""The case read-model: summaries folded from events, and the ops dashboard's aggregates."""

from services.notify.casefile.aggregate import DashboardSnapshot, aggregate
from services.notify.casefile.apply import apply_event
from services.notify.casefile.cache import SummaryParser
from services.notify.casefile.models import CaseSummary, TimelineEntry
from services.notify.casefile.status import ReferrerStatus, referrer_status

__all__ = [
    "CaseSummary", "DashboardSnapshot", "ReferrerStatus", "SummaryParser", "TimelineEntry",
    "aggregate",
    "apply_event", "referrer_status",
]
