"""Delivery slots: a request takes one of its receiver's slots before one of the worker's.

Taken the other way round (as before), requests waiting for a busy receiver's connections held
worker slots while they waited, so one slow receiver with enough open cases held every slot and
starved every other receiver, on-call pages included. Now a request waiting on its receiver
waits in that receiver's queue holding nothing, and one receiver holds at most its own share of
the worker's slots (the dispatcher keeps that share at half of them or less).

Urgent requests are served before others waiting at either gate, each kind in arrival order: an
emergency page waits for a slot to come free, never for a queue of other deliveries to drain.
Every attempt ends by its deadline (webhook.py), which bounds that wait.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager, suppress


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
