"""Per-request replies: the HTTP handler awaits the agent's decision on its own command."""

from __future__ import annotations

import asyncio

from services.routing.domain.state import CommandOutcome

# Waiting requests across all commands. Beyond it a request is not held (it answers "pending"
# with its command id) rather than the book growing with a flood of slow requests.
MAX_WAITERS = 10_000


class ReplyBook:
    """Futures keyed by command id; the agent resolves them after deciding the command.

    One command id may have several waiters: concurrent requests under one Idempotency-Key
    are the same command, and each must get its decision. Every waiter has its own future, so
    one that times out (asyncio.wait_for cancels what it waits on) leaves the others waiting.
    """

    def __init__(self, *, max_waiters: int = MAX_WAITERS) -> None:
        self._waiting: dict[str, list[asyncio.Future[CommandOutcome]]] = {}
        self._count = 0
        self.max_waiters = max_waiters

    @property
    def waiting(self) -> int:
        """How many requests wait now. (Not __len__: an empty book would be falsy, and
        `replies or ReplyBook()` would quietly swap the shared book for a new one.)"""
        return self._count

    def expect(self, command_id: str) -> asyncio.Future[CommandOutcome] | None:
        """Register interest in a command's outcome before sending it; None when the book is
        full (the caller sends without waiting)."""
        if self._count >= self.max_waiters:
            return None
        future: asyncio.Future[CommandOutcome] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(command_id, []).append(future)
        self._count += 1
        return future

    def resolve(self, command_id: str, outcome: CommandOutcome | None) -> None:
        """Hand the outcome to everyone waiting for it (no-op for commands from elsewhere)."""
        futures = self._waiting.pop(command_id, [])
        self._count -= len(futures)
        for future in futures:
            if outcome is not None and not future.done():
                future.set_result(outcome)

    def forget(self, command_id: str, future: asyncio.Future[CommandOutcome]) -> None:
        """Stop waiting (the caller timed out or was cancelled); other waiters stay."""
        futures = self._waiting.get(command_id, [])
        if future in futures:
            futures.remove(future)
            self._count -= 1
            if not futures:
                del self._waiting[command_id]
