"""The agents' code path: table row in, domain, events out, outbox to the dispatcher.

Kept free of faust so agent-level tests drive exactly this code with dict tables and fakes.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from schemas.envelope import Event
from schemas.sla import SlaBreached, SlaMet, SlaPaused, SlaResumed, SlaWarningRaised
from services.common.consume import EventMeta
from services.notify import casefile, metrics
from services.notify.domain.commands import CheckClocks
from services.notify.domain.handlers import apply_event
from services.notify.domain.outbox import Notification
from services.notify.domain.policy import NotifyPolicy
from services.notify.domain.state import CaseState, Contacts

log = logging.getLogger("spine.notify")

_SLA_TYPES = (SlaWarningRaised, SlaBreached, SlaPaused, SlaResumed, SlaMet)
RETICK_AFTER = timedelta(seconds=30)  # a tick lost in a rebalance is sent again after this


@dataclass
class _Due:
    partition: int | None
    at: datetime
    ticked_at: datetime | None = None


class DueIndex:
    """case id -> when something next falls due: the timer reads this, not the whole table."""

    def __init__(self) -> None:
        self._due: dict[str, _Due] = {}

    def update(self, state: CaseState) -> None:
        """Track the case's next due instant (or forget it when nothing is pending)."""
        if state.next_due_at is None:
            self._due.pop(state.case_id, None)
            return
        known = self._due.get(state.case_id)
        if known is None or known.at != state.next_due_at:
            self._due[state.case_id] = _Due(state.partition, state.next_due_at)

    def take_due(self, now: datetime, owned: Callable[[int | None], bool]) -> list[str]:
        """Cases due by `now` on owned partitions, each returned once (again if a tick is lost)."""
        found = []
        for case_id, due in self._due.items():
            if due.at > now or not owned(due.partition):
                continue
            if due.ticked_at is None or now - due.ticked_at >= RETICK_AFTER:
                due.ticked_at = now
                found.append(case_id)
        return found

    def __len__(self) -> int:
        return len(self._due)


class NotifyProcessor:
    """Applies consumed events to the case table and hands new notifications to delivery."""

    def __init__(
        self, *, cases: MutableMapping[str, bytes], summaries: MutableMapping[str, bytes],
        policy: NotifyPolicy, contacts: Contacts, clock: Callable[[], datetime],
        publish: Callable[[Event], Awaitable[None]], submit: Callable[[Notification], None],
        live: Callable[[Event], None] = lambda event: None,
    ) -> None:
        self.cases, self.summaries = cases, summaries
        self.policy, self.contacts, self.clock = policy, contacts, clock
        self.publish, self.submit, self.live = publish, submit, live
        self.index = DueIndex()
        self._parsed: dict[str, tuple[bytes, casefile.CaseSummary]] = {}

    def state_of(self, case_id: str) -> CaseState | None:
        """The case's row, parsed."""
        raw = self.cases.get(case_id)
        return CaseState.from_json(raw) if raw else None

    async def handle(self, event: Event, meta: EventMeta) -> None:
        """One consumed event: SLA events are published before the row is written, so a crash
        in between re-raises them (same ids) rather than forgetting them."""
        raw = self.cases.get(event.case_id)
        state = CaseState.from_json(raw) if raw else None
        out = apply_event(state, event, policy=self.policy, contacts=self.contacts,
                          now=self.clock(), partition=meta.partition)
        for produced in out.events:
            await self.publish(produced)
            if isinstance(produced, _SLA_TYPES):
                metrics.SLA_EVENTS.labels(produced.event_type, produced.clock,
                                          produced.urgency).inc()
        updated = out.state.to_json().encode()
        if updated != raw:  # our own SLA events come back too and change nothing
            self.cases[event.case_id] = updated
        self.index.update(out.state)
        for note in out.notifications:
            metrics.NOTIFICATIONS_QUEUED.labels(note.audience, note.kind).inc()
            self.submit(note)
        for reason in out.skipped:
            metrics.NOTIFICATIONS_SKIPPED.labels(reason.split(":", 1)[0]).inc()
            log.info("notification skipped", extra={"case_id": event.case_id, "reason": reason})
        if not isinstance(event, CheckClocks):  # ticks would only flood the timeline
            self._fold_summary(event)

    def _fold_summary(self, event: Event) -> None:
        raw = self.summaries.get(event.case_id)
        before = casefile.CaseSummary.model_validate_json(raw) if raw else None
        after = casefile.apply_event(before, event)
        if after is not before:
            self.summaries[event.case_id] = after.model_dump_json().encode()
        self.live(event)

    def summary_views(self) -> Iterator[casefile.CaseSummary]:
        """Every case summary this worker holds (the dashboard's source), parsed once each."""
        for case_id, raw in list(self.summaries.items()):
            if not raw:
                continue
            cached = self._parsed.get(case_id)
            if cached is None or cached[0] != raw:
                cached = (raw, casefile.CaseSummary.model_validate_json(raw))
                self._parsed[case_id] = cached
            yield cached[1]

    def rescan(self, owned: Callable[[int | None], bool]) -> int:
        """Rebuild the due index, resubmit pending deliveries and count clocks; returns pending."""
        clocks: Counter[tuple[str, str, str]] = Counter()
        pending = 0
        for raw in list(self.cases.values()):
            if not raw:
                continue
            state = CaseState.from_json(raw)
            if not owned(state.partition):
                continue
            self.index.update(state)
            for clock in state.clocks.values():
                label: str = clock.status
                if clock.breached and clock.status == "running":
                    label = "breached"
                clocks[(label, clock.kind, clock.urgency)] += 1
            for note in state.outbox:  # in sequence order: lanes keep it
                self.submit(note)
                pending += 1
        metrics.SLA_CLOCKS.clear()
        for (label, kind, urgency), count in clocks.items():
            metrics.SLA_CLOCKS.labels(label, kind, urgency).set(count)
        return pending

    def due_cases(self, owned: Callable[[int | None], bool]) -> Iterable[str]:
        """Cases whose clocks or chains are due now."""
        return self.index.take_due(self.clock(), owned)
