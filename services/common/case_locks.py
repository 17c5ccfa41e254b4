"""One handler at a time per case, in every service that keeps per-case state.

A worker runs one agent per input topic; events of one case arrive on several topics, so two
agents can interleave on the same case wherever a handler awaits (publishing, a reservation) and
the second would read the row before the first wrote it. Each case gets its own lock for as long
as someone waits for it (so memory is bounded by the cases in flight, and unrelated cases never
wait for each other, as they did on routing's striped locks).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class CaseLocks:
    """Per-case asyncio locks, created on demand and dropped once nobody holds or awaits them."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, case_id: str) -> AsyncIterator[None]:
        """Wait for the case, keep it for the block; the lock is dropped once nobody wants it."""
        lock, users = self._held.get(case_id) or self._held.setdefault(
            case_id, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._held[case_id]

    def __len__(self) -> int:
        return len(self._held)

    def waiting(self) -> int:
        """How many wait for a case someone else holds."""
        return sum(users[0] - 1 for _, users in self._held.values())
