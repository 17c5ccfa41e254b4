"""The routing agent's work, free of faust: load state, call the domain, publish, write back."""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from datetime import datetime
from typing import Protocol

from pydantic import ValidationError

from schemas.envelope import Event, derive_id
from schemas.routing import (
    AcceptOffer,
    CapacityDecided,
    CompleteAssignment,
    DeclineOffer,
    ExpireOffers,
)
from schemas.topics import CASE_PARTITIONS
from services.common.case_locks import CaseLocks
from services.common.partitions import case_partition
from services.common.rows import Writer
from services.routing import reservations
from services.routing.casedata import CaseData
from services.routing.domain import capacity
from services.routing.domain.directory import DirectoryIndex, apply_record
from services.routing.domain.handlers import RoutingResult, handle
from services.routing.domain.idempotency import SPECIALIST_COMMANDS
from services.routing.domain.load import (
    LoadBook,
    LoadDelta,
    SpecialistLoad,
    apply_delta,
    first_decision_time,
    lapsed_offers,
)
from services.routing.domain.policy import RoutingPolicy
from services.routing.domain.state import CaseRouting, new_case
from services.routing.load_rows import LoadRows, readable_rows
from services.routing.metrics import CASES_WAITING, DIRECTORY_SIZE, OFFERS_LAPSED, count_outcome
from services.routing.replies import ReplyBook

Table = MutableMapping[bytes, bytes]
LoadWriter = Callable[[bytes, bytes], None]
# A refused local reservation makes the domain pick the next candidate, reserved in turn; a
# case with more refusals than this waits for the rest over Kafka, as before.
MAX_LOCAL_RESERVATIONS = 16
COMMANDS = (AcceptOffer, DeclineOffer, CompleteAssignment, ExpireOffers, CapacityDecided)

log = logging.getLogger("spine.routing")


class Publisher(Protocol):
    """Where the processor sends what it decided."""

    async def routing_event(self, event: Event) -> None: ...

    async def load_delta(self, delta: LoadDelta) -> None: ...

    async def capacity_decided(self, decided: CapacityDecided) -> None:
        """To the case's owner, on the commands topic keyed by case id."""

    async def forget_commands(self, case_id: str) -> None:
        """A tombstone for the case on the commands topic (its last record, for compaction)."""


class RoutingProcessor:
    """Per-case decisions serialised by case id; cross-case load and directory held in memory."""

    def __init__(
        self, *, cases: Table, loads: Table, publisher: Publisher,
        policy: RoutingPolicy, clock: Callable[[], datetime], replies: ReplyBook | None = None,
        content: Table | None = None, reports: Table | None = None,
        reserve_here: Callable[[str], bool] = lambda specialist_id: False,
        write_load: LoadWriter | None = None, write_content: Writer | None = None,
    ) -> None:
        self.cases_table, self.loads_table = cases, loads
        # Whether this worker owns a specialist's load partition now, and how to write a load
        # row from outside that partition's agent (faust writes a table's changelog to the
        # partition of the event being handled: the case's, not the specialist's).
        self.reserve_here = reserve_here
        self.load_rows = LoadRows(loads, write_load or loads.__setitem__)
        self.casedata = CaseData(content={} if content is None else content,
                                 reports={} if reports is None else reports,
                                 write_content=write_content)
        self.publisher, self.policy, self.clock = publisher, policy, clock
        self.replies = replies or ReplyBook()
        self.directory = DirectoryIndex()
        self.loads = LoadBook()
        self.due: dict[str, datetime] = {}
        # Each due case's partition, hashed once when it becomes due: the timer's ownership
        # check ran murmur2 and rebuilt faust's assignment set for every open case every tick.
        self._due_partition: dict[str, int] = {}
        self.locks = CaseLocks()  # one handler at a time per case (services/common)
        self.synced = False

    def rebuild(self) -> None:
        """Rebuild the in-memory views from the tables (after recovery or a rebalance).

        The directory is not a table: every worker follows its whole topic (on_directory_record),
        and the load view also follows the whole load changelog (on_load_snapshot); the table
        rows only add what this worker owns and may have written since.
        """
        for _, load in readable_rows(self.loads_table, SpecialistLoad.model_validate_json):
            self.loads.put(load)
        self.due.clear()
        self._due_partition.clear()
        for key, routing in readable_rows(self.cases_table, CaseRouting.model_validate_json):
            self._set_due(key.decode(), reservations.next_due(routing))
        self.synced = True

    def case_state(self, case_id: str) -> CaseRouting | None:
        """The routing state of one case, if routing has seen it."""
        raw = self.cases_table.get(case_id.encode())
        return CaseRouting.model_validate_json(raw) if raw else None

    async def on_case_input(self, event: Event) -> RoutingResult:
        """Decide one case event or command; publish its events, then write the new state."""
        async with self.locks.hold(event.case_id):
            before = self.case_state(event.case_id)
            # Commands carry their own clock (ticks, API stamps) so tests can drive time by
            # sending; other inputs are decided now, or at the first decision's time on a replay.
            now = event.occurred_at if isinstance(event, COMMANDS) else first_decision_time(
                before.offered_to if before else (), self.loads.slots_of(event.case_id),
                self.clock(), self.policy.offer_hold_limit())
            result = self._reserve_locally(self._decide(before, event, now), now)
            applied = event.event_id in result.state.applied and result.state is not before
            if isinstance(event, ExpireOffers) and applied:  # a lost answer is asked for again
                result.load_deltas += reservations.ask_again(result.state, now)
            for delta in result.load_deltas:  # at once, so the next decision sees this one
                self.loads.apply(delta)
            for out in result.events:
                await self.publisher.routing_event(out)
            if before is not None and before.erased and isinstance(event, SPECIALIST_COMMANDS):
                # written after the erasure's tombstone (a report, a reason): tombstone it again
                await self.publisher.forget_commands(event.case_id)
            for delta in result.load_deltas:
                await self.publisher.load_delta(delta)
            self.casedata.apply(event, result, result.state.steps)
            # After publishing: a crash before this write redelivers the input, and the
            # derived ids let consumers drop the repeats. Inputs routing ignored leave no state.
            if applied and result.state.status != "new":
                self.cases_table[event.case_id.encode()] = result.state.model_dump_json().encode()
                self._set_due(event.case_id, reservations.next_due(result.state))
        self.replies.resolve(event.event_id, result.outcome)
        count_outcome(event, result.events, result.outcome)
        return result

    def _decide(self, before: CaseRouting | None, event: Event, now: datetime) -> RoutingResult:
        """The domain's decision, with offers held back until their capacity is granted."""
        if isinstance(event, CapacityDecided):
            if event.granted:
                if before is None or event.event_id in before.applied:
                    return RoutingResult(before or new_case(event.case_id), [], [])
                return reservations.on_granted(before, event)
            if not reservations.is_held(before, event):
                return RoutingResult(before or new_case(event.case_id), [], [])  # stale
        refused = reservations.refuses_unseen_offer(before, event)
        if refused is not None:
            return RoutingResult(before or new_case(event.case_id), [], [], refused)
        result = handle(before, event, directory=self.directory, loads=self.loads,
                        policy=self.policy, now=now)
        reservations.hold_offers(result)
        reservations.name_only_the_told(before, result)
        return result

    def _reserve_locally(self, result: RoutingResult, now: datetime) -> RoutingResult:
        """Decide here the reservations whose load partition this worker owns (issue 13).

        Over Kafka a reservation is two more hops and two more agent passes per offer (the
        delta to the load partition's owner, its CapacityDecided back to the case). When this
        worker *is* that owner, it takes the same decision on the same table at once: nothing
        awaits between reading the load row and writing it, so the load agent (same loop)
        cannot interleave a decision on the same specialist. A replay after a crash finds the
        slot already held and grants it again, as a redelivered reservation is.
        """
        for _ in range(MAX_LOCAL_RESERVATIONS):
            mine = [d for d in result.load_deltas if d.change == "offered"
                    and d.event_id in result.state.held_offers
                    and self.reserve_here(d.specialist_id)]
            if not mine:
                break
            for delta in mine:
                result.load_deltas.remove(delta)
                answer = self._decide(result.state, self._reserve(delta, now), now)
                result.state = answer.state
                result.events += answer.events
                result.load_deltas += answer.load_deltas
        return result

    def _reserve(self, delta: LoadDelta, now: datetime) -> CapacityDecided:
        """The load owner's decision on one reservation, stamped `now`; a granted one is held
        at once."""
        key = delta.specialist_id.encode()
        try:
            current = self.load_rows.get(key)
        except ValidationError:
            log.warning("load row unreadable", extra={"specialist_id": delta.specialist_id})
            return capacity.decision(delta, capacity.LOAD_UNREADABLE, at=now)
        reason = capacity.refusal(current, delta, self.directory.get(delta.specialist_id))
        if reason is None:
            self._put_load(key, apply_delta(current, delta))
        return capacity.decision(delta, reason, at=now)

    def _put_load(self, key: bytes, updated: SpecialistLoad) -> None:
        self.load_rows.put(key, updated)
        self.loads.put(updated)

    async def on_load_delta(self, delta: LoadDelta) -> None:
        """As the owner of the specialist's load partition: decide reservations, keep the load.

        Deltas of one specialist arrive here in log order, on one worker at a time, over a table
        restored before processing resumes: so two reservations never both take the last slot.
        The row is written before the answer is sent (a replay grants a held slot again).
        """
        if delta.change == "offered":
            await self.publisher.capacity_decided(self._reserve(delta, self.clock()))
            return
        key = delta.specialist_id.encode()
        before = self.load_rows.get(key)
        after = apply_delta(before, delta)
        if delta.change == "lapsed" and before is not None and after.offers != before.offers:
            OFFERS_LAPSED.inc()  # capacity a lost case row held: worth an ops look if frequent
        self._put_load(key, after)

    def offers_to_lapse(self, now: datetime, owns_load: Callable[[str], bool]) -> list[LoadDelta]:
        """Lapses for offers held past the policy's limit (domain/load.py: slots no case will
        close), for specialists whose load partition this worker owns: one sender per slot."""
        limit = self.policy.offer_hold_limit()
        return [delta for load in self.loads if load.offers and owns_load(load.specialist_id)
                for delta in lapsed_offers(load, now, limit)]

    def on_load_snapshot(self, key: bytes | None, value: bytes | None) -> None:
        """One record of the load table's changelog, read by every worker (the shared view).

        Most records a worker reads are its own writes coming back: the row it wrote is still
        cached with its bytes (load_rows), so it is not parsed again (a parse of a row with 200
        reviews is ~0.6 ms), and if the view already holds that very model nothing is done.
        Anything else (another writer's row, an older record of ours) is applied as read.
        """
        if not (key and value):
            return
        load = self.load_rows.written(key, value)
        if load is None:
            load = SpecialistLoad.model_validate_json(value)
        elif self.loads.get(load.specialist_id) is load:
            return
        self.loads.put(load)

    def on_directory_record(self, key: bytes | None, value: bytes | None) -> str:
        """Apply one directory record (empty value = removal); returns the specialist id.

        A changed or removed entry may rule out a holder of open offers: their cases' ticks are
        brought forward to now, and a tick withdraws such offers (offers.withdraw_ineligible)
        rather than leave them open for up to 12 h. A first entry (as every one is when a
        worker reads the directory from the start) cannot, and ticks nothing."""
        specialist_id, before = apply_record(self.directory, key, value)
        DIRECTORY_SIZE.set(len(self.directory))
        after = self.directory.get(specialist_id)
        if before is not None and (after is None or after.specialist != before.specialist):
            now = self.clock()
            for slot in self.loads.holding(specialist_id)[0]:
                case_id = slot.rsplit("/", 1)[0]
                if case_id in self.due:  # an open case of this worker's table: ticked soon
                    self.due[case_id] = min(self.due[case_id], now)
        return specialist_id

    def _set_due(self, case_id: str, due: datetime | None) -> None:
        if due is None:
            self.due.pop(case_id, None)
            self._due_partition.pop(case_id, None)
            return
        if case_id not in self._due_partition:
            self._due_partition[case_id] = case_partition(case_id, CASE_PARTITIONS)
        self.due[case_id] = due

    def due_ticks(
        self, now: datetime, owns: Callable[[int], bool] = lambda partition: True
    ) -> list[ExpireOffers]:
        """ExpireOffers commands for cases with an offer or retry due on partitions `owns`
        accepts; same due, same id (a tick sent again is dropped as a redelivery), and every
        applied tick moves its case's due on (reservations.next_due), so the next one is new.

        The table also holds rows of standby and revoked partitions (faust keeps them in
        memory): only the owner of a case's partition may tick it.
        """
        waiting, due_now = 0, []
        for case_id, due in self.due.items():
            if owns(self._due_partition[case_id]):
                waiting += 1
                if due <= now:
                    due_now.append((case_id, due))
        CASES_WAITING.set(waiting)
        return [
            ExpireOffers(event_id=derive_id("expire-offers", case_id, due.isoformat()),
                         case_id=case_id, occurred_at=now)
            for case_id, due in sorted(due_now)
        ]

