"""The notify agent's code path (NotifyProcessor) on dict tables, with a controllable clock."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from schemas.envelope import Event
from services.common.consume import EventMeta
from services.notify.domain.commands import CheckClocks
from services.notify.domain.outbox import Notification
from services.notify.domain.policy import NotifyPolicy
from services.notify.processor import NotifyProcessor
from tests.unit.notify.notify_builders import POLICY, T0, FakeContacts


class ManualClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set_minutes(self, minutes: float) -> None:
        self.now = T0 + timedelta(minutes=minutes)


class AgentRig:
    """One notify worker: tables are plain dicts holding the same bytes faust would store."""

    def __init__(
        self, *, clock: ManualClock | None = None, cases: dict[str, bytes] | None = None,
        summaries: dict[str, bytes] | None = None, policy: NotifyPolicy = POLICY,
        commit_every_event: bool = True,
    ) -> None:
        self.clock = clock or ManualClock()
        self.cases: dict[str, bytes] = cases if cases is not None else {}
        self.summaries: dict[str, bytes] = summaries if summaries is not None else {}
        self.published: list[Event] = []
        self.submitted: list[Notification] = []
        self.processor = NotifyProcessor(
            cases=self.cases, summaries=self.summaries, policy=policy, contacts=FakeContacts(),
            clock=self.clock, publish=self._publish, submit=self.submitted.append,
        )
        self.offset = 0
        self.commit_every_event = commit_every_event  # flush rows as a commit would, each time

    async def _publish(self, events: Sequence[Event]) -> None:
        self.published.extend(events)

    async def feed(self, event: Event, topic: str = "routing.events.v1") -> None:
        """Deliver one event to the agent, as process_events would."""
        self.offset += 1
        meta = EventMeta(topic=topic, partition=0, offset=self.offset, key=event.case_id.encode())
        await self.processor.handle(event, meta)
        if self.commit_every_event:
            self.processor.flush()

    async def run_timer(self) -> int:
        """One timer pass: a tick for each due case, applied as the command agent would."""
        due = list(self.processor.due_cases(lambda partition: True))
        for case_id in due:
            tick = CheckClocks(event_id=str(uuid.uuid4()), case_id=case_id,
                               occurred_at=self.clock())
            await self.feed(tick, topic="notify.commands.v1")
        return len(due)

    async def run_minutes(self, minutes: range) -> None:
        for minute in minutes:
            self.clock.set_minutes(minute)
            await self.run_timer()

    async def restart(self) -> AgentRig:
        """A new worker whose tables are restored from the serialised values of this one."""
        rig = AgentRig(clock=self.clock, cases=dict(self.cases), summaries=dict(self.summaries))
        await rig.processor.rescan(lambda partition: True)
        return rig

    def sla_events(self) -> list[tuple[str, float | None]]:
        return [(type(e).__name__, getattr(e, "elapsed_fraction", None))
                for e in self.published if type(e).__name__.startswith("Sla")]
