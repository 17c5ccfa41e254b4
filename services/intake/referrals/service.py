"""Referral use cases: decide in the pure domain, write to Kafka, then update the registry view."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import timedelta

from schemas.referral import Referral
from schemas.topics import ERASED_BY_TOMBSTONE, INTAKE_REGISTRY, REFERRAL_EVENTS
from services.common.auth import Principal
from services.common.logs import get_logger
from services.intake.domain import decisions, erasure
from services.intake.domain.decisions import Decision, Rejected, Write
from services.intake.domain.identity import Name, identity_writes
from services.intake.domain.ids import alias_key, case_id_for, case_key
from services.intake.domain.registry import (
    CaseRecord,
    Via,
    as_written,
    case_as_written,
    record_bytes,
)
from services.intake.eventlog import BrokerUnavailable, OutRecord, RecordTooLarge
from services.intake.metrics import ERASURE_REPAIRS, REQUESTS
from services.intake.state import Intake

log = get_logger("intake")
# The largest ReferralReceived intake stores, in bytes. Every downstream service is a faust
# worker whose producer refuses records over faust's producer_max_request_size (1,000,000) and
# copies the referral into records of its own, each somewhat larger than the event (triage's
# case context, routing's content row: ~1 KiB more). At the topic's own limit (1,048,588)
# intake accepted referrals that no consumer could forward. 900,000 leaves a 10 % margin.
MAX_REFERRAL_EVENT_BYTES = 900_000
# How long a case may be on referral.events.v1 without its registry record before the record is
# rebuilt from the event: far past a write's own acknowledgement (INTAKE_SEND_TIMEOUT_SECONDS)
# and its read-back, so only a write that failed half-way is repaired.
ORPHAN_GRACE = timedelta(seconds=60)


def _ensure_ready(intake: Intake) -> None:
    if not intake.is_ready():
        # Without the whole registry we cannot tell a resend from a new referral.
        raise BrokerUnavailable("intake is not connected to Kafka yet")


@contextlib.asynccontextmanager
async def _holding(intake: Intake, *keys: str) -> AsyncIterator[None]:
    """Hold `keys` (a case, an Idempotency-Key) from the decision until its result is applied:
    a second request for them on this worker then decides on the first one's outcome, not on
    the registry both started from (replicas still race: docs/intake.md). Taken in sorted order,
    so two requests sharing keys cannot deadlock. The holder only awaits Kafka writes, each
    bounded by the send timeout; the wait is bounded by it too, so a queue of requests behind
    an unacknowledged write answers 503 (nothing written, retry) rather than piling up."""
    async with contextlib.AsyncExitStack() as held:
        try:
            async with asyncio.timeout(intake.settings.send_timeout_seconds):
                for key in sorted(set(keys)):
                    await held.enter_async_context(intake.locks.hold(key))
        except TimeoutError:
            raise BrokerUnavailable("an earlier write for this case is not acknowledged") from None
        yield


async def _commit(
    *, intake: Intake, decision: Decision, via: Via, names: Sequence[Name] = (),
) -> Decision:
    """Write the case's new names, the decision's event, then its other registry records;
    apply them once acknowledged. `names` (FHIR referral names) are recorded for the case, so
    later messages find it.

    A case or alias record never outruns its event: the registry would claim a case downstream
    never saw, and a resend would replay it. A name claims nothing (it points messages at a
    case id, which the names derive anyway), so names go before the event: a write that times
    out after the event loses the case record, which the orphan repair rebuilds from the event,
    but the event carries no names, and a case rebuilt without them was missed by a Task search
    by the sender's identifier and by messages naming it so (domain/orphans.py)."""
    named: tuple[Write, ...] = ()
    if names and decision.case is not None:
        named = identity_writes(
            intake.registry, case_id=decision.case_id, referrer_id=decision.case.referrer_id,
            names=names,
        )
    with_opened = intake.settings.registry_received_at
    decision = replace(decision, writes=named + tuple(
        replace(w, record=as_written(w.record, received_at=with_opened)) for w in decision.writes))
    records = [OutRecord(INTAKE_REGISTRY, w.key, record_bytes(w.record)) for w in decision.writes]
    if decision.event is not None:  # after the names, before the records that claim the case
        event = decision.event.to_bytes()
        if len(event) > MAX_REFERRAL_EVENT_BYTES:  # refused before anything is written
            raise Rejected(
                413, "Referral too large",
                f"the referral would be stored as a {len(event)}-byte event; at most "
                f"{MAX_REFERRAL_EVENT_BYTES} bytes are accepted, so that every service can "
                "forward it: shorten report texts or send fewer imaging studies",
                kind="referral-too-large",
            )
        records.insert(len(named), OutRecord(REFERRAL_EVENTS, decision.case_id, event))
    if records:
        await intake.log.write(records)
    for write in decision.writes:
        intake.registry.apply(write.key, write.record)
    for write in decision.writes:  # decided before an erasure this worker saw meanwhile?
        intake.erasures.registry_record(intake.registry, write.record, intake.clock())
    if decision.event is not None:  # this worker's Task view need not wait for the topic
        intake.tasks.apply(decision.event)
    REQUESTS.labels(via=via, outcome=decision.outcome).inc()
    log.info(
        "referral %s", decision.outcome,
        extra={"case_id": decision.case_id, "via": via,
               "revision": decision.case.revision if decision.case else None},
    )
    return decision


async def submit_referral(
    *, intake: Intake, referral: Referral, referrer_id: str, idempotency_key: str | None,
    via: Via = "json", unmapped: list[str] | None = None, revise_existing: bool = False,
    case_id: str | None = None, names: Sequence[Name] = (),
) -> Decision:
    """Open a case for a new referral, or replay the stored answer for a resend; with
    `revise_existing` (a FHIR update message) an existing case gets a new revision instead."""
    _ensure_ready(intake)
    case_id = case_id or case_id_for(referrer_id=referrer_id, referral_id=referral.referral_id)
    keys = [case_key(case_id)]
    if idempotency_key:
        keys.append(alias_key(referrer_id=referrer_id, idempotency_key=idempotency_key))
    async with _holding(intake, *keys):
        if revise_existing and case_id in intake.registry.cases:
            return await _update(
                intake=intake, case_id=case_id, referral=referral, referrer_id=referrer_id,
                via=via, unmapped=unmapped, names=names, idempotency_key=idempotency_key,
            )
        decision = decisions.decide_submission(
            intake.registry, referral=referral, referrer_id=referrer_id,
            idempotency_key=idempotency_key, via=via, unmapped=unmapped or [],
            now=intake.clock(), case_id=case_id,
        )
        return await _commit(intake=intake, decision=decision, via=via, names=names)


async def update_referral(
    *, intake: Intake, case_id: str, referral: Referral, referrer_id: str, via: Via = "json",
    unmapped: list[str] | None = None, names: Sequence[Name] = (),
    idempotency_key: str | None = None, if_match: str | None = None,
) -> Decision:
    """Store a new revision of the referrer's open case (it is re-triaged downstream); with
    `if_match`, only on the revision it names (checked under the case's lock)."""
    _ensure_ready(intake)
    keys = [case_key(case_id)]
    if idempotency_key:
        keys.append(alias_key(referrer_id=referrer_id, idempotency_key=idempotency_key))
    async with _holding(intake, *keys):
        return await _update(
            intake=intake, case_id=case_id, referral=referral, referrer_id=referrer_id,
            via=via, unmapped=unmapped, names=names, idempotency_key=idempotency_key,
            if_match=if_match,
        )


async def _update(
    *, intake: Intake, case_id: str, referral: Referral, referrer_id: str, via: Via,
    unmapped: list[str] | None, names: Sequence[Name], idempotency_key: str | None,
    if_match: str | None = None,
) -> Decision:
    progress = intake.tasks.get(case_id)
    decision = decisions.decide_update(
        intake.registry, case_id=case_id, referral=referral, referrer_id=referrer_id, via=via,
        unmapped=unmapped or [], now=intake.clock(), idempotency_key=idempotency_key,
        completed=progress is not None and progress.completed, if_match=if_match,
        seen_revision=progress.revision if progress is not None else 0,
    )
    return await _commit(intake=intake, decision=decision, via=via, names=names)


async def cancel_referral(
    *, intake: Intake, case_id: str, referrer_id: str, via: Via = "json",
    names: Sequence[Name] = (), if_match: str | None = None,
) -> Decision:
    """Cancel the referrer's case: routing stops, notify stops the clocks. Refused once the
    Task view saw the case completed; a cancel before it saw that goes through (routing and
    notify ignore it for a completed case: docs/intake.md)."""
    _ensure_ready(intake)
    async with _holding(intake, case_key(case_id)):
        progress = intake.tasks.get(case_id)
        decision = decisions.decide_cancellation(
            intake.registry, case_id=case_id, referrer_id=referrer_id, now=intake.clock(),
            completed=progress is not None and progress.completed, if_match=if_match,
        )
        return await _commit(intake=intake, decision=decision, via=via, names=names)


async def erase_patient_data(*, intake: Intake, case_id: str, requested_by: str) -> Decision:
    """Erase a case's patient data (ops): CaseErased plus tombstones on the registry."""
    _ensure_ready(intake)
    async with _holding(intake, case_key(case_id)):
        decision = erasure.decide_erasure(
            intake.registry, case_id=case_id, requested_by=requested_by, now=intake.clock(),
        )
        if decision.outcome == "replayed":
            # Written again on a repeated request, so a failure half-way is repaired by
            # retrying; the case topics first, the registry's leftovers last (repair_erasures).
            await _tombstone_case_topics(intake, case_id)
            return await _commit(intake=intake, decision=decision, via="json")
        decision = await _commit(intake=intake, decision=decision, via="json")
        # After CaseErased (which consumers still read): a tombstone per case-keyed topic, so
        # compaction removes every record of the case that held patient data (F3).
        await _tombstone_case_topics(intake, case_id)
        return decision


async def _tombstone_case_topics(intake: Intake, case_id: str) -> None:
    await intake.log.write([OutRecord(topic, case_id, None) for topic in ERASED_BY_TOMBSTONE])


async def repair_erasures(*, intake: Intake) -> list[str]:
    """Tombstone again every erased case something was written for after its erasure (by
    another worker that had not seen it yet: domain/erasure.py); the repaired case ids."""
    if not (intake.is_ready() and intake.feed.loaded):
        return []  # on half a view a case's own erasure can look unsettled
    grace = timedelta(seconds=intake.settings.erasure_repair_grace_seconds)
    repaired = []
    for case_id in intake.erasures.due(intake.registry, intake.clock(), grace):
        # Under the case's lock, as a request would be: an erasure replayed meanwhile on this
        # worker then writes after the repair, not between its reads and its writes.
        async with _holding(intake, case_key(case_id)):
            mark = intake.erasures.mark(case_id)
            marker = intake.registry.erased[case_id]  # a suspect is an erased case
            # Tombstones for its leftovers, and erased-name records for the names among them.
            writes = erasure.erasure_writes(intake.registry, case_id, marker.referrer_id)
            leftovers = [w.key for w in writes if w.record is None]
            # The case topics first: the registry's tombstones settle the case here, so if
            # they went first and the topics' failed, nothing would say it needs them.
            await _tombstone_case_topics(intake, case_id)
            await intake.log.write([OutRecord(INTAKE_REGISTRY, w.key, record_bytes(w.record))
                                    for w in writes])
            for write in writes:
                intake.registry.apply(write.key, write.record)
            intake.erasures.repaired(case_id, mark, intake.clock())
            intake.tasks.erase(case_id)
        ERASURE_REPAIRS.inc()
        log.warning("erasure repaired: records written after it tombstoned again",
                    extra={"case_id": case_id, "registry_records": len(leftovers)})
        repaired.append(case_id)
    return repaired


async def repair_orphans(intake: Intake) -> list[str]:
    """Write the registry record of every case whose ReferralReceived landed without it (a
    timeout between the two writes, the client never retrying: domain/orphans.py), so intake
    can read, cancel and erase it; the case ids written."""
    if not (intake.is_ready() and intake.feed.loaded):
        return []
    repaired = []
    for due in intake.orphans.due(intake.registry, intake.clock(), ORPHAN_GRACE):
        record = case_as_written(due, received_at=intake.settings.registry_received_at)
        async with _holding(intake, case_key(record.case_id)):
            if record.case_id in intake.registry.cases or record.case_id in intake.registry.erased:
                continue  # written or erased meanwhile
            await intake.log.write(
                [OutRecord(INTAKE_REGISTRY, case_key(record.case_id), record_bytes(record))])
            intake.registry.apply(case_key(record.case_id), record)
            intake.erasures.registry_record(intake.registry, record, intake.clock())
            intake.orphans.repaired(record.case_id)
        log.warning("case without registry record: rebuilt from its event",
                    extra={"case_id": record.case_id, "revision": record.revision})
        repaired.append(record.case_id)
    return repaired


async def keep_erasures_converged(intake: Intake, every_seconds: float = 1.0) -> None:
    """Run repair_erasures and repair_orphans for the life of the process; a failed write is
    retried next time."""
    while True:
        await asyncio.sleep(every_seconds)
        # Each on its own: an erasure repair that keeps failing must not stop orphan repairs
        # (nor the other way round).
        for name, repair in (("erasure", lambda: repair_erasures(intake=intake)),
                             ("orphan", lambda: repair_orphans(intake))):
            try:
                await repair()
            except (BrokerUnavailable, RecordTooLarge) as exc:
                log.warning("%s repair deferred", name, extra={"error": type(exc).__name__})
            except Exception as exc:  # anything else must not end the repairs for good
                log.error("%s repair failed", name, extra={"error": type(exc).__name__})


def visible_case(*, intake: Intake, case_id: str, principal: Principal) -> CaseRecord:
    """The case if the caller may see it: ops any, a referral system only its own."""
    _ensure_ready(intake)
    owner = None if principal.role == "ops" else principal.subject
    return decisions.owned_case(intake.registry, case_id=case_id, referrer_id=owner)
