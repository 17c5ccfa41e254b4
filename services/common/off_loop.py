"""CPU work of one request run in a worker thread, a bounded number at a time per event loop.

A service's event loop serves everyone: health probes, other callers, Kafka callbacks. A
request whose work is CPU (parsing a 1 MiB JSON body to check it, validating a FHIR Bundle) held
it for up to a second each, and a burst within one caller's rate limit for ~10 s (review 18).
In a thread the loop keeps serving between the work's bytecodes (the GIL is handed over every
few milliseconds). Threads share one GIL, so more slots add no throughput, only contention with
the loop's thread: a few let a small request through beside a costly one, and a burst waits for
a slot without holding a thread (nor the pool FastAPI's sync routes share).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from anyio import CapacityLimiter, to_thread
from anyio.lowlevel import RunVar

T = TypeVar("T")
# One limiter per name and event loop, as anyio keeps its own thread limiter: a limiter made in
# one loop must not be awaited from another (each TestClient runs its own).
_limiters: dict[str, RunVar[CapacityLimiter]] = {}


def slots(name: str, size: int) -> CapacityLimiter:
    """The running event loop's limiter called `name` (made with `size` on first use)."""
    var = _limiters.setdefault(name, RunVar(name))
    try:
        return var.get()
    except LookupError:
        limiter = CapacityLimiter(size)
        var.set(limiter)
        return limiter


async def off_loop(work: Callable[..., T], *args: object, name: str, size: int) -> T:
    """`work(*args)` in a worker thread, at most `size` of `name` at once; what it raises is
    raised here. Not abandoned on cancellation: a caller that goes away still holds its slot
    until the work ends, so the bound counts every thread actually busy."""
    return await to_thread.run_sync(work, *args, limiter=slots(name, size))
