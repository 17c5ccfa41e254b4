"""Per-request replies: the HTTP handler awaits the agent's decision on its own command."""

from __future__ import annotations

import asyncio

from services.routing.domain.state import CommandOutcome


class ReplyBook:
    """Futures keyed by command id; the agent resolves them after deciding the command."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[CommandOutcome]] = {}

    def expect(self, command_id: str) -> asyncio.Future[CommandOutcome]:
        """Register interest in a command's outcome before sending it."""
        future: asyncio.Future[CommandOutcome] = asyncio.get_running_loop().create_future()
        self._waiting[command_id] = future
        return future

    def resolve(self, command_id: str, outcome: CommandOutcome | None) -> None:
        """Hand the outcome to whoever waits for it (no-op for commands from elsewhere)."""
        future = self._waiting.pop(command_id, None)
        if future is not None and outcome is not None and not future.done():
            future.set_result(outcome)

    def forget(self, command_id: str) -> None:
        """Stop waiting (the caller timed out)."""
        self._waiting.pop(command_id, None)
