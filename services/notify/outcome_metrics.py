"""What notify counts of each applied event's outcome: the SLA events raised, how late a tick
raised an alarm, messages queued and not queued. Labels never carry ids; log lines carry the
case id only."""

from __future__ import annotations

import logging
from datetime import datetime

from schemas.envelope import Event
from schemas.sla import SlaBreached, SlaMet, SlaPaused, SlaResumed, SlaWarningRaised
from services.notify import metrics
from services.notify.domain.state import Outcome

log = logging.getLogger("spine.notify")

_SLA_TYPES = (SlaWarningRaised, SlaBreached, SlaPaused, SlaResumed, SlaMet)
# An alarm raised this much after it fell due is logged (the case id): a tick lags by seconds,
# an outage by its length.
LATE_ALARM_SECONDS = 60.0


def count(event: Event, out: Outcome, now: datetime) -> None:
    """Metrics (and debug lines) for what applying `event` at `now` produced."""
    for produced in out.events:
        if isinstance(produced, _SLA_TYPES):
            step = out.state.steps.get(produced.step_id)
            metrics.SLA_EVENTS.labels(produced.event_type, produced.clock, produced.urgency,
                                      step.team if step else "unknown").inc()
        if isinstance(produced, (SlaWarningRaised, SlaBreached)):
            _raised(produced, now)
    for note in out.notifications:
        metrics.NOTIFICATIONS_QUEUED.labels(note.audience, note.kind).inc()
    for reason in out.skipped:
        metrics.NOTIFICATIONS_SKIPPED.labels(reason.split(":", 1)[0]).inc()
        log.debug("notification skipped", extra={"case_id": event.case_id, "reason": reason})


def _raised(alarm: SlaWarningRaised | SlaBreached, now: datetime) -> None:
    """How late a tick raised an alarm. The alarm (and every message it causes) is dated when
    it fell due, so that it is the same bytes when raised again; when it was noticed (late,
    after an outage) shows here and in the case's delivery lines, not in it."""
    delay = max(0.0, (now - alarm.occurred_at).total_seconds())
    metrics.ALARM_DELAY.labels(alarm.event_type).observe(delay)
    if delay >= LATE_ALARM_SECONDS:
        log.info("SLA alarm raised late", extra={
            "case_id": alarm.case_id, "event_type": alarm.event_type, "clock": alarm.clock,
            "delay_seconds": round(delay)})
