"""The case read-model: summaries folded from events, and the ops dashboard's aggregates."""

from services.notify.casefile.aggregate import DashboardSnapshot, aggregate
from services.notify.casefile.apply import apply_event
from services.notify.casefile.models import CaseSummary, TimelineEntry

__all__ = ["CaseSummary", "DashboardSnapshot", "TimelineEntry", "aggregate", "apply_event"]
