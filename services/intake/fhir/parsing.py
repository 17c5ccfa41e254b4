"""Validating and mapping a referral Bundle in a worker thread, a bounded number at a time.

fhir.resources validation and the mapping are CPU work: 40-75 ms for 500 entries, and up to
about a second for one 1 MiB entry holding thousands of elements (the entry cap does not bound
those). Run inside the async route they held intake's event loop, so health probes and every
other referrer waited behind one referrer's bundles (review 18: /health/live took 9.7 s). In a
thread the loop keeps serving between the parse's bytecodes (the GIL is handed over every few
milliseconds). At most PARSE_SLOTS parses run at once per event loop: a burst queues for a slot
instead of taking the thread pool FastAPI's sync dependencies and file responses share, and
one parse per referrer at a time waits for one (the slots go round the referrers).
"""

from __future__ import annotations

from datetime import datetime

from anyio import CapacityLimiter

from services.common.off_loop import off_loop, slots
from services.intake.fhir.bundle import load_bundle
from services.intake.fhir.mapping import MappedBundle, map_bundle

# Threads share one GIL, so more slots add no throughput, only contention with the loop's
# thread; two let a small bundle through beside a costly one.
PARSE_SLOTS = 2
_SLOTS = "intake_fhir_parse_slots"


def parse_slots() -> CapacityLimiter:
    """The running event loop's limiter on concurrent FHIR parses."""
    return slots(_SLOTS, PARSE_SLOTS)


def _parse(raw: bytes, content_type: str | None, now: datetime) -> MappedBundle:
    return map_bundle(load_bundle(raw, content_type=content_type), now=now)


async def parse_referral(
    raw: bytes, *, content_type: str | None, now: datetime, referrer_id: str,
) -> MappedBundle:
    """load_bundle + map_bundle off the event loop (services/common/off_loop.py), in the
    referrer's turn; their FhirRejected is raised here as is."""
    return await off_loop(_parse, raw, content_type, now, name=_SLOTS, size=PARSE_SLOTS,
                          caller=referrer_id)
