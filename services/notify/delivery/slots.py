"""Delivery slots: a request takes one of its receiver's slots before one of the worker's.

Taken the other way round (as before), requests waiting for a busy receiver's connections held
worker slots while they waited, so one slow receiver with enough open cases held every slot and
starved every other receiver, on-call pages included. Now a request waiting on its receiver
waits in that receiver's queue holding nothing, and one receiver holds at most its own share of
the worker's slots (the dispatcher keeps that share at half of them or less).

Urgent requests are served before others waiting at either gate, each kind in arrival order: an
emergency page waits for a slot to come free, never for a queue of other deliveries to drain.
Every attempt ends by its deadline (webhook.py), which bounds that wait.

ReceiverHolds (below) says when a receiver may be sent to at all: a throttling or unreachable
receiver is held back for all its lanes at once, not probed by each of them.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta


class Gate:
    """At most `size` holders at once; waiters are served urgent first, then in arrival order."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a gate needs at least one slot")
        self._free = size
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._others: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def slot(self, *, urgent: bool = False) -> AsyncIterator[None]:
        """Hold one slot for the body of the `async with`."""
        await self._acquire(urgent)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, urgent: bool) -> None:
        if self._free:  # free slots mean nobody is waiting: release hands slots to waiters
            self._free -= 1
            return
        queue = self._urgent if urgent else self._others
        ticket = asyncio.get_running_loop().create_future()
        queue.append(ticket)
        try:
            await ticket
        except asyncio.CancelledError:
            if ticket.done() and not ticket.cancelled():
                self._release()  # handed a slot just as we were cancelled: pass it on
            else:
                with suppress(ValueError):  # release may have dropped it already
                    queue.remove(ticket)
            raise

    def _release(self) -> None:
        for queue in (self._urgent, self._others):
            while queue:
                ticket = queue.popleft()
                if not ticket.done():  # a cancelled waiter's ticket is skipped
                    ticket.set_result(None)  # the slot passes straight to the waiter
                    return
        self._free += 1


class ReceiverGates:
    """One Gate of `size` slots per receiver, made on first use and dropped once nobody holds or
    awaits it (receivers come and go with the directory; their gates must not pile up)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._gates: dict[Hashable, Gate] = {}
        self._users: Counter[Hashable] = Counter()

    @asynccontextmanager
    async def slot(self, receiver: Hashable, *, urgent: bool = False) -> AsyncIterator[None]:
        """Hold one of `receiver`'s slots for the body of the `async with`."""
        gate = self._gates.get(receiver)
        if gate is None:
            gate = self._gates[receiver] = Gate(self._size)
        self._users[receiver] += 1
        try:
            async with gate.slot(urgent=urgent):
                yield
        finally:
            self._users[receiver] -= 1
            if not self._users[receiver]:
                del self._users[receiver], self._gates[receiver]

    def __len__(self) -> int:
        """Receivers with a request under way or waiting."""
        return len(self._gates)


MAX_HELD_RECEIVERS = 4096  # receivers held back at once; past it the soonest-free are let go
# A receiver that gave no Retry-After is probed again after base * 2^(failed probes - 1), at
# most this long: one request a half-minute costs it nothing, and a receiver back after an
# outage gets its backlog within that (chaos: a 60 s outage held 229 offers past the drain
# when the hold took every lane's failure as one more and grew to the 300 s retry cap).
RECEIVER_PROBE_CAP_SECONDS = 30.0


@dataclass
class _Hold:
    until: datetime  # no request before this (a Retry-After, or the back-off after a failure)
    reason: str  # the last answer that set it, e.g. "HTTP 429": for a dead letter's reason
    failures: int = 0  # in a row: the receiver's own back-off grows with them
    probe_until: datetime | None = None  # one lane is probing: the others wait for its answer
    prober: str | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # set when the hold ends


class ReceiverHolds:
    """When each receiver may be sent to again, shared by all its lanes.

    A receiver that throttles us (429, 503 with its Retry-After) or cannot be reached is one
    receiver however many cases wait for it: each (subscriber, case) lane backing off on its
    own had fifty lanes probing it every few seconds through a Retry-After of an hour. Once
    its hold has passed, one lane probes; the others wait until that answer ends the hold (or
    `probe_seconds` pass, should the prober go away). Waiting here is not an attempt.
    """

    def __init__(self, *, probe_seconds: float, base_seconds: float = 1.0,
                 max_receivers: int = MAX_HELD_RECEIVERS) -> None:
        self._probe = timedelta(seconds=probe_seconds)
        self._base = base_seconds
        self._max = max_receivers
        self._holds: dict[Hashable, _Hold] = {}

    def wait_seconds(self, receiver: Hashable, now: datetime, who: str) -> float:
        """How long `who` (a lane's message) should wait before sending to `receiver`; 0 means
        go, as the receiver's one prober if it is held."""
        hold = self._holds.get(receiver)
        if hold is None:
            return 0.0
        if hold.until > now:
            return (hold.until - now).total_seconds()
        if hold.probe_until is not None and hold.probe_until > now and hold.prober != who:
            return (hold.probe_until - now).total_seconds()
        hold.probe_until, hold.prober = now + self._probe, who  # the others wait for its answer
        return 0.0

    def reason(self, receiver: Hashable) -> str:
        hold = self._holds.get(receiver)
        return hold.reason if hold is not None else "receiver unavailable"

    def failed(self, receiver: Hashable, *, now: datetime, retry_after: float | None,
               reason: str) -> None:
        """The receiver throttled us or could not be reached: nothing goes to it before its
        `retry_after`, else before its own back-off (a hold that ends later stands). Only a
        failure with no hold running counts towards that back-off (the first, or a probe's):
        the requests already under way when it failed say nothing new."""
        hold = self._holds.get(receiver)
        if hold is None:
            hold = self._holds[receiver] = _Hold(until=now, reason=reason)
            self._prune(keep=receiver)
        if hold.until <= now:
            hold.failures += 1
        wait = retry_after if retry_after is not None else min(
            RECEIVER_PROBE_CAP_SECONDS, self._base * 2 ** min(hold.failures - 1, 30))
        hold.until, hold.reason = max(hold.until, now + timedelta(seconds=wait)), reason
        hold.probe_until = hold.prober = None

    def answered(self, receiver: Hashable, now: datetime) -> None:
        """Any other answer: the receiver is back, unless a hold (a Retry-After another lane
        got) still runs; the waiting lanes are woken."""
        hold = self._holds.get(receiver)
        if hold is not None and hold.until <= now:
            self._release(receiver)

    async def wait(
        self, receiver: Hashable, seconds: float, sleep: Callable[[float], Awaitable[None]]
    ) -> None:
        """Sleep `seconds`, or less if the receiver's hold ends first."""
        hold = self._holds.get(receiver)
        if hold is None:
            return
        sleeping = asyncio.ensure_future(sleep(seconds))
        woken = asyncio.ensure_future(hold.changed.wait())
        try:
            await asyncio.wait({sleeping, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeping.cancel()
            woken.cancel()

    def _release(self, receiver: Hashable) -> None:
        self._holds.pop(receiver).changed.set()

    def _prune(self, *, keep: Hashable) -> None:
        # Receivers are bounded by the directory, but entries of receivers nobody sends to
        # any more would stay: past the cap, let go those whose hold ends soonest.
        surplus = len(self._holds) - self._max
        if surplus > 0:
            others = [(r, h) for r, h in self._holds.items() if r != keep]
            for receiver, _ in sorted(others, key=lambda item: item[1].until)[:surplus]:
                self._release(receiver)

    def __len__(self) -> int:
        return len(self._holds)
