"""Validating and mapping a referral Bundle in a worker thread, a bounded number at a time.

fhir.resources validation and the mapping are CPU work: 40-75 ms for 500 entries, and up to
about a second for one 1 MiB entry holding thousands of elements (the entry cap does not bound
those). Run inside the async route they held intake's event loop, so health probes and every
other referrer waited behind one referrer's bundles (review 18: /health/live took 9.7 s). In a
thread the loop keeps serving between the parse's bytecodes (the GIL is handed over every few
milliseconds). At most PARSE_SLOTS parses run at once per event loop: a burst queues for a slot
instead of taking the thread pool FastAPI's sync dependencies and file responses share.
"""

from __future__ import annotations

from datetime import datetime

from anyio import CapacityLimiter, to_thread
from anyio.lowlevel import RunVar

from services.intake.fhir.bundle import load_bundle
from services.intake.fhir.mapping import MappedBundle, map_bundle

# Threads share one GIL, so more slots add no throughput, only contention with the loop's
# thread; two let a small bundle through beside a costly one.
PARSE_SLOTS = 2
# One limiter per event loop, as anyio keeps its own thread limiter: a limiter made in one loop
# must not be awaited from another (each TestClient runs its own).
_slots: RunVar[CapacityLimiter] = RunVar("intake_fhir_parse_slots")


def parse_slots() -> CapacityLimiter:
    """The running event loop's limiter on concurrent FHIR parses."""
    try:
        return _slots.get()
    except LookupError:
        limiter = CapacityLimiter(PARSE_SLOTS)
        _slots.set(limiter)
        return limiter


def _parse(raw: bytes, content_type: str | None, now: datetime) -> MappedBundle:
    return map_bundle(load_bundle(raw, content_type=content_type), now=now)


async def parse_referral(
    raw: bytes, *, content_type: str | None, now: datetime
) -> MappedBundle:
    """load_bundle + map_bundle off the event loop; their FhirRejected is raised here as is.

    Not abandoned on cancellation: a client that goes away still holds its slot until its parse
    ends, so the bound counts every thread actually busy."""
    return await to_thread.run_sync(_parse, raw, content_type, now, limiter=parse_slots())
