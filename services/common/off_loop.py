"""CPU work of one request run in a worker thread, a bounded number at a time per event loop.

A service's event loop serves everyone: health probes, other callers, Kafka callbacks. A
request whose work is CPU (parsing a 1 MiB JSON body to check it, validating a FHIR Bundle) held
it for up to a second each, and a burst within one caller's rate limit for ~10 s (review 18).
In a thread the loop keeps serving between the work's bytecodes (the GIL is handed over every
few milliseconds). Threads share one GIL, so more slots add no throughput, only contention with
the loop's thread: a few let a small request through beside a costly one, and a burst waits for
a slot without holding a thread (nor the pool FastAPI's sync routes share).

With a `caller`, each caller has at most one piece of work waiting for or holding a slot; the
rest of a caller's burst waits its turn behind that one. The limiter's queue is first come,
first served, so without it one referrer's burst of costly bundles queued ahead of every other
referrer's next request; now the slots go round the callers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from anyio import CapacityLimiter, to_thread
from anyio.lowlevel import RunVar

from services.common.case_locks import CaseLocks

T = TypeVar("T")
# One limiter per name and event loop, as anyio keeps its own thread limiter: a limiter made in
# one loop must not be awaited from another (each TestClient runs its own).
_limiters: dict[str, RunVar[CapacityLimiter]] = {}
_turns: dict[str, RunVar[CaseLocks]] = {}  # the same, for the callers' turns


def slots(name: str, size: int) -> CapacityLimiter:
    """The running event loop's limiter called `name` (made with `size` on first use)."""
    var = _limiters.setdefault(name, RunVar(name))
    try:
        return var.get()
    except LookupError:
        limiter = CapacityLimiter(size)
        var.set(limiter)
        return limiter


def _turns_of(name: str) -> CaseLocks:
    var = _turns.setdefault(name, RunVar(f"{name}:turns"))
    try:
        return var.get()
    except LookupError:
        turns = CaseLocks()  # a lock per caller with work in flight, dropped after
        var.set(turns)
        return turns


def waiting_turns(name: str) -> int:
    """How many pieces of work of `name` wait for their caller's turn (on this loop)."""
    return _turns_of(name).waiting()


async def off_loop(
    work: Callable[..., T], *args: object, name: str, size: int, caller: str | None = None,
) -> T:
    """`work(*args)` in a worker thread, at most `size` of `name` at once, and with `caller`
    one of that caller's at a time; what it raises is raised here. Not abandoned on
    cancellation: a caller that goes away still holds its slot (and turn) until the work ends,
    so the bound counts every thread actually busy."""
    if caller is None:
        return await to_thread.run_sync(work, *args, limiter=slots(name, size))
    async with _turns_of(name).hold(caller):
        return await to_thread.run_sync(work, *args, limiter=slots(name, size))
