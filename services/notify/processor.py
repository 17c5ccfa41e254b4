"""The agents' code path: table row in, domain, events out, outbox to the dispatcher.

Kept free of faust so agent-level tests drive exactly this code with dict tables and fakes.
Rows are parsed once per change and written behind (services.common.rows): an event that
changes nothing costs no JSON and no changelog message, and the events of one case between two
offset commits cost one changelog message per table. The worker calls flush() before each
commit and forget() for revoked partitions.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import (
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
    Sequence,
)
from datetime import datetime

from schemas.cases import CaseErased
from schemas.envelope import Event
from services.common.case_locks import CaseLocks
from services.common.consume import EventMeta
from services.common.rows import DEFAULT_MAX_CACHED, ParsedRows, Writer
from services.notify import casefile, metrics, outcome_metrics
from services.notify.casefile.clocks import with_deadlines
from services.notify.casefile.models import CaseOutline
from services.notify.domain import sla
from services.notify.domain.commands import CheckClocks
from services.notify.domain.handlers import apply_event
from services.notify.domain.ops_handlers import needs_directory
from services.notify.domain.outbox import Notification
from services.notify.domain.policy import NotifyPolicy
from services.notify.domain.state import CaseState, Contacts, Outcome
from services.notify.domain.watchdog import may_stall
from services.notify.due_index import DueIndex

WATCH_CHUNK = 50  # rows read between two turns of the loop (~5 ms of parsing on a quiet core)
Look = Callable[[CaseOutline, Mapping[str, datetime]], None]  # the timer's look (OpsWatch.look)


class NotifyProcessor:
    """Applies consumed events to the case table and hands new notifications to delivery."""

    def __init__(
        self, *, cases: MutableMapping[str, bytes], summaries: MutableMapping[str, bytes],
        policy: NotifyPolicy, contacts: Contacts, clock: Callable[[], datetime],
        publish: Callable[[Sequence[Event]], Awaitable[None]],
        submit: Callable[[Notification], None],
        live: Callable[[Event], None] = lambda event: None,
        drop_deliveries: Callable[[str], None] = lambda case_id: None,
        write_cases: Writer | None = None, write_summaries: Writer | None = None,
        max_cached: int = DEFAULT_MAX_CACHED,
        wait_for_directory: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.cases, self.summaries = cases, summaries
        self.policy, self.contacts, self.clock = policy, contacts, clock
        self.publish, self.submit, self.live = publish, submit, live
        self.drop_deliveries = drop_deliveries  # the dispatcher's forget_case
        # Holds events that name a team lead from the directory until it is read (bounded):
        # directory.DirectoryWait.until_loaded in the worker.
        self.wait_for_directory = wait_for_directory
        self.index = DueIndex()
        self.states = ParsedRows(cases, CaseState.from_json, write=write_cases,
                                 max_cached=max_cached)
        self.views = ParsedRows(summaries, casefile.CaseSummary.model_validate_json,
                                write=write_summaries, max_cached=max_cached)
        self.locks = CaseLocks()
        # Cases a silent stage could still stall: the watchdog's every-tick look reads these
        # rows, not every row (parsing thousands of summaries every 5 s grew with open cases).
        self.unsettled: set[str] = set()
        # Cases whose summary is closed (completed or cancelled): nothing to forecast or watch,
        # so the every-row pass skips their rows unparsed (in service most rows are closed).
        self.closed: set[str] = set()
        self._folded_meanwhile: set[str] | None = None  # while watch() reads every row
        self._applied_meanwhile: set[str] | None = None  # while rescan reads every row
        self._rescanning = asyncio.Lock()

    def state_of(self, case_id: str) -> CaseState | None:
        """The case's row, parsed."""
        return self.states.get(case_id)

    def queued(self, note: Notification) -> bool:
        """True while `note` is still in its case's outbox. Delivery asks before each attempt:
        erasure empties the outbox and a newer message may displace it, and either must stop
        a lane that holds it (mid-retry for hours, with the referrer's text in it)."""
        state = self.states.get(note.case_id)
        return state is not None and any(
            n.notification_id == note.notification_id for n in state.outbox)

    async def handle(self, event: Event, meta: EventMeta) -> None:
        """One consumed event: SLA events are acknowledged before the row is written, so a crash
        in between re-raises them (same ids) rather than forgetting them. One that may name a
        team lead waits for the directory first (outside the case lock: deliveries settle
        meanwhile)."""
        if self.wait_for_directory is not None and needs_directory(event):
            await self.wait_for_directory()
        async with self.locks.hold(event.case_id):  # the row must not change while we publish
            out = await self._apply(event, meta.partition)
        self._after(event, out, meta.partition)

    async def apply_own(self, event: Event, owned: Callable[[int | None], bool]) -> bool:
        """Apply a delivery outcome this worker produced, as if it had been consumed: notify no
        longer reads its own NotificationDelivered/Failed back from Kafka (issue 13).

        Only while the case's partition is this worker's (checked under the case lock, and
        nothing awaits between the check and the row change); otherwise nothing changes and
        False is returned: the new owner finds the entry still in the outbox and delivers it
        again with the same Idempotency-Key (at-least-once, as after any lost outcome).
        """
        async with self.locks.hold(event.case_id):
            state = self.states.get(event.case_id)
            if state is None or state.partition is None or not owned(state.partition):
                return False
            partition = state.partition
            out = await self._apply(event, partition)
        self._after(event, out, partition)
        return True

    async def _apply(self, event: Event, partition: int) -> Outcome:
        """Under the case lock: the domain's outcome, its events published, the row held."""
        state = self.states.get(event.case_id)
        out = apply_event(state, event, policy=self.policy, contacts=self.contacts,
                          now=self.clock(), partition=partition)
        if out.events:
            await self.publish(out.events)
        if out.state is not state:  # our own SLA events come back too and change nothing
            self.states.put(event.case_id, out.state, partition)
            if self._applied_meanwhile is not None:
                self._applied_meanwhile.add(event.case_id)
        return out

    def _after(self, event: Event, out: Outcome, partition: int) -> None:
        """After the row: due index, metrics, deliveries handed over, read model folded."""
        self.index.update(out.state)
        if isinstance(event, CaseErased):  # the row's outbox is empty: so must the lanes be
            self.drop_deliveries(event.case_id)
        outcome_metrics.count(event, out, self.clock())
        for note in out.notifications:
            self.submit(note)
        if not isinstance(event, CheckClocks):  # ticks would only flood the timeline
            self._fold_summary(event, partition, out.state)

    def _fold_summary(self, event: Event, partition: int, state: CaseState) -> None:
        before = self.views.get(event.case_id)
        after = casefile.apply_event(before, event)
        if after is not None:  # the row carries the real deadlines of notify's own clocks
            after = with_deadlines(after, sla.running_deadlines(state.clocks.values(),
                                                                self.clock()))
        if after is not None and after is not before:
            self.views.put(event.case_id, after, partition)
            self._track(after)
        self.live(event)

    def flush(self) -> int:
        """Write the rows changed since the last flush to the tables (call before committing)."""
        return self.states.flush() + self.views.flush()

    def forget(self, partitions: Collection[int]) -> int:
        """Drop unwritten rows of revoked partitions: their new owner applies the inputs again."""
        return self.states.forget(partitions) + self.views.forget(partitions)

    def summary_views(self) -> Iterator[casefile.CaseSummary]:
        """Every case summary this worker holds (the dashboard's source), parsed once each."""
        for _, summary in self.views.items():
            yield summary

    def summary_of(self, case_id: str) -> casefile.CaseSummary | None:
        """One case's summary (a pending change included), parsed at most once per change and
        kept: a case looked up by id is polled again (a referrer's status, up to 20/s)."""
        return self.views.get(case_id)

    def unsettled_views(self) -> list[CaseOutline]:
        """The rows of the cases that may stall (settled ones leave the set as they are read)."""
        found: list[CaseOutline] = []
        for case_id in list(self.unsettled):
            view = self.views.get(case_id)
            if view is None or not may_stall(view):
                self.unsettled.discard(case_id)
            else:
                found.append(view)
        return found

    async def watch(
        self, add: Look, *, every_row: bool, clocks: bool = True,
        owned: Callable[[int | None], bool] | None = None,
    ) -> int:
        """Give the timer's look the rows it reads, each with its running deadlines from
        notify's clocks; returns how many. Every open row (the forecast's), which also rebuilds
        the set of cases that may stall from them (recovery replaces rows behind the agents'
        back), or only the rows of that set (the stall look between forecasts).

        Rows known closed are skipped unparsed; any other row not cached is parsed as an
        outline (no timeline: ~55 us and ~12 KB each instead of ~340 us and ~27 KB), and a
        closed one found is remembered; the look keeps what it needs of each, not the row
        (holding every open row parsed, notify peaked at 235 MB with 3,100 cases).
        Thousands would hold the loop for seconds, so the agents, HTTP and the group heartbeat
        get a turn between chunks. A case the agents folded meanwhile keeps the place they gave
        it (the snapshot may be older). Without `clocks` (a pass that only rebuilds the set) the
        case rows are not read and `add` is given empty deadlines. With `owned`, rows of cases
        another worker owns are left out: faust goes on consuming standby changelogs into the
        same tables, and such a case was counted in two workers' gauges and alarms.
        """
        if not every_row:
            fed = 0
            for view in self.unsettled_views():
                running = self._running(view.case_id, clocks=clocks, owned=owned)
                if running is not None:
                    add(view, running)
                    fed += 1
            return fed
        may, seen, fed = set(), set(), 0
        self._folded_meanwhile = set()
        try:
            rows = self.views.items_as(CaseOutline.model_validate_json, skip=self.closed)
            for count, (case_id, view) in enumerate(rows, 1):
                if view.is_open:
                    seen.add(case_id)
                    running = self._running(case_id, clocks=clocks, owned=owned)
                    if running is None:
                        continue  # another worker's (a standby copy): it looks at it itself
                    if may_stall(view):
                        may.add(case_id)
                    add(view, running)
                    fed += 1
                else:
                    self.closed.add(case_id)
                if count % WATCH_CHUNK == 0:
                    await asyncio.sleep(0)
        finally:
            folded, self._folded_meanwhile = self._folded_meanwhile, None
        self.closed.intersection_update(self.views.table.keys())  # erased rows are gone
        self.unsettled = (may - folded) | {case_id for case_id in self.unsettled
                                           if case_id in folded or case_id not in seen}
        return fed

    def _running(
        self, case_id: str, *, clocks: bool, owned: Callable[[int | None], bool] | None,
    ) -> dict[str, datetime] | None:
        """{"<step>:<clock>": deadline} of the case's running clocks (its row read, not kept;
        empty without `clocks`); None if `owned` says another worker owns the case."""
        if not clocks and owned is None:
            return {}
        state = self.states.get(case_id, keep=False)
        if state is None:
            return {}
        if owned is not None and not owned(state.partition):
            return None
        return sla.running_deadlines(state.clocks.values(), self.clock()) if clocks else {}

    def _track(self, view: CaseOutline) -> None:
        if self._folded_meanwhile is not None:
            self._folded_meanwhile.add(view.case_id)
        if view.is_open:
            self.closed.discard(view.case_id)
        else:
            self.closed.add(view.case_id)
        if may_stall(view):
            self.unsettled.add(view.case_id)
        else:
            self.unsettled.discard(view.case_id)

    async def rescan(self, owned: Callable[[int | None], bool]) -> int:
        """Rebuild the due index, resubmit pending deliveries and count clocks; returns pending.

        Every row is read (parsed if not cached): in one piece 2,100 cases held the loop for
        142 ms on a quiet core, so the agents get a turn every WATCH_CHUNK rows. A case
        they changed meanwhile is taken as it is now, not from the older snapshot (its due
        instant must not go back); resubmitting a delivery already settled is a no-op.
        """
        async with self._rescanning:
            clocks: Counter[tuple[str, str, str, str]] = Counter()
            pending = 0
            self._applied_meanwhile = set()
            self.index.keep_owned(owned)  # the rows below add back what this worker owns
            try:
                for count, (case_id, read) in enumerate(self.states.items(), 1):
                    if count % WATCH_CHUNK == 0:
                        await asyncio.sleep(0)
                    state = (self.states.get(case_id) if case_id in self._applied_meanwhile
                             else read)
                    if state is None or not owned(state.partition):
                        continue
                    self.index.update(state)
                    for clock in state.clocks.values():
                        label: str = clock.status
                        if clock.breached and clock.status == "running":
                            label = "breached"
                        clocks[(label, clock.kind, clock.urgency, clock.team)] += 1
                    for note in state.outbox:  # in sequence order: lanes keep it
                        self.submit(note)
                        pending += 1
            finally:
                self._applied_meanwhile = None
            metrics.SLA_CLOCKS.clear()
            for (label, kind, urgency, team), count in clocks.items():
                metrics.SLA_CLOCKS.labels(label, kind, urgency, team).set(count)
            return pending

    def due_cases(self, owned: Callable[[int | None], bool],
                  now: datetime | None = None) -> Iterable[str]:
        """Cases whose clocks or chains are due by `now` (default: the clock), the instant their
        ticks are stamped with: a tick is evaluated as of its stamp, so a case due between an
        earlier stamp and a later reading here would be ticked for nothing, and not again for
        RETICK_AFTER (review 22)."""
        return self.index.take_due(now if now is not None else self.clock(), owned)
