"""A coroutine run at once, up to its first wait, by whoever holds it -- no task, no trip
through the event loop when it does not wait at all (Python 3.12's eager tasks, for one call
site on 3.11: services/common/safe_offsets.py, note 5).

`run()` steps the coroutine once: True if it finished (`result` holds its value), False if it
is waiting. Awaiting the `Eager` then -- or wrapping it in a task -- carries on from that wait,
with sends, throws (cancellation included) and close passed through to the coroutine.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from typing import Any

_NOT_RUN = object()


class Eager:
    __slots__ = ("_pending", "coro", "result")

    def __init__(self, coro: Coroutine[Any, Any, Any]) -> None:
        self.coro = coro
        self.result: Any = None
        self._pending: Any = _NOT_RUN

    def run(self) -> bool:
        """Step the coroutine once; True if it finished (an exception it raises propagates)."""
        if self._pending is not _NOT_RUN:
            raise RuntimeError("an Eager coroutine runs once")
        try:
            self._pending = self.coro.send(None)
        except StopIteration as done:
            self.result = done.value
            return True
        return False

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, pending = self.coro, self._pending
        if pending is _NOT_RUN:  # never stepped: an ordinary await
            return (yield from coro.__await__())
        while True:  # what `yield from` does, from the wait run() left it in
            try:
                sent = yield pending
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:
                try:
                    pending = coro.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    pending = coro.send(sent)
                except StopIteration as done:
                    return done.value
