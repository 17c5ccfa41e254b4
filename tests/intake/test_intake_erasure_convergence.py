"""Erasure converges across intake workers (on the fake log): whatever another worker wrote for
a case after its erasure (a registry record, a ReferralReceived) is tombstoned again on every
topic erasure tombstones, whichever of marker and record a worker reads first; once settled,
re-reading the same records writes nothing; and a worker that sees the marker answers 410."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from schemas.topics import ERASED_BY_TOMBSTONE, INTAKE_REGISTRY, REFERRAL_EVENTS
from services.common.follow import Record
from services.intake.domain.identity import Name, find_case, identity_key
from services.intake.eventlog import OutRecord
from services.intake.referrals import service
from services.intake.settings import IntakeSettings
from services.intake.state import Intake
from tests.intake.intake_fakes import NOW, FakeIntakeLog, bearer, running_intake
from tests.unit.intake.intake_builders import referral, referral_body

GRACE = timedelta(seconds=10)
NORTH, OPS = bearer("ref-north-gp"), bearer("ops-1", role="ops")
SECRET = "Jane Doe, NHS 943 476 5919: now incontinent"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def worker(log: FakeIntakeLog, clock: Clock | None = None) -> Intake:
    """One intake worker on the shared log (it reads the log only when a test feeds it)."""
    return Intake(log=log, settings=IntakeSettings(), clock=clock or Clock())


def read(intake: Intake, records: Sequence[OutRecord]) -> None:
    """What the worker's followers deliver: registry records, and the case topics' records."""
    for r in records:
        if r.topic == INTAKE_REGISTRY:
            intake.on_registry_record(r.key, r.value)
        else:
            intake.on_status_record(Record(r.topic, 0, 0, r.key.encode(), r.value))


async def erased_elsewhere(log: FakeIntakeLog) -> tuple[str, Intake, list[OutRecord]]:
    """A case stored and erased by worker A, and the update worker B decided before it saw the
    erasure (B's view trailed A's writes): B's records land after A's tombstones."""
    a, b = worker(log), worker(log)
    stored = await service.submit_referral(intake=a, referral=referral(), referrer_id="ref-a",
                                           idempotency_key=None)
    read(b, log.records)  # B has read the case
    await service.erase_patient_data(intake=a, case_id=stored.case_id, requested_by="ops-1")
    before = len(log.records)
    await service.update_referral(intake=b, case_id=stored.case_id, referrer_id="ref-a",
                                  referral=referral(clinical_question=SECRET))
    return stored.case_id, a, log.records[before:]


def survivors(log: FakeIntakeLog) -> dict[tuple[str, str], bytes | None]:
    """What compaction keeps: the last value per (topic, key)."""
    return {(r.topic, r.key): r.value for r in log.records}


def assert_erased(log: FakeIntakeLog, case_id: str) -> None:
    kept = survivors(log)
    assert {t for (t, k), v in kept.items() if k == case_id and v is None} == set(
        ERASED_BY_TOMBSTONE)
    assert kept[(INTAKE_REGISTRY, f"case/{case_id}")] is None
    assert kept[(INTAKE_REGISTRY, f"erased/{case_id}")] is not None
    assert SECRET.encode() not in b"".join(v or b"" for v in kept.values())


async def test_a_case_record_read_after_the_marker_gets_every_tombstone_again() -> None:
    log = FakeIntakeLog()
    case_id, a, late = await erased_elsewhere(log)
    assert SECRET.encode() in b"".join(v or b"" for v in survivors(log).values())  # the defect
    read(a, [r for r in late if r.topic == INTAKE_REGISTRY])  # A reads B's case record
    assert await service.repair_erasures(intake=a) == []  # not before the grace period
    a.clock.now += GRACE  # type: ignore[attr-defined]
    assert await service.repair_erasures(intake=a) == [case_id]
    assert_erased(log, case_id)
    assert case_id not in a.registry.cases
    written = len(log.records)
    read(a, log.records[-len(ERASED_BY_TOMBSTONE) - 1:])  # its own tombstones, read back
    a.clock.now += GRACE  # type: ignore[attr-defined]
    assert await service.repair_erasures(intake=a) == [] and len(log.records) == written


async def test_a_name_recorded_after_the_erasure_is_repaired_and_kept_as_erased() -> None:
    """B's late update named the referral anew (a FHIR message's identifier): the repair
    tombstones that name and keeps its hash, so a message by it is 410 on every worker."""
    log = FakeIntakeLog()
    a, b = worker(log), worker(log)
    stored = await service.submit_referral(intake=a, referral=referral(), referrer_id="ref-a",
                                           idempotency_key=None)
    read(b, log.records)
    await service.erase_patient_data(intake=a, case_id=stored.case_id, requested_by="ops-1")
    before = len(log.records)
    late = Name("identifier", "https://north-gp.example/ids", "LATE-1")
    await service.update_referral(intake=b, case_id=stored.case_id, referrer_id="ref-a",
                                  referral=referral(clinical_question=SECRET), names=[late])
    read(a, [r for r in log.records[before:] if r.topic == INTAKE_REGISTRY])
    a.clock.now += GRACE  # type: ignore[attr-defined]
    assert await service.repair_erasures(intake=a) == [stored.case_id]
    assert_erased(log, stored.case_id)
    key = identity_key("ref-a", late)
    assert survivors(log)[(INTAKE_REGISTRY, key)] is None
    restarted = worker(log)
    read(restarted, log.records)
    for intake in (a, restarted):
        assert find_case(intake.registry, referrer_id="ref-a", names=[late]) == stored.case_id
        assert not intake.erasures.unsettled(intake.registry, stored.case_id)


async def test_the_marker_read_after_the_case_record_converges_too() -> None:
    """Worker B holds its own late case record when it reads A's marker."""
    log = FakeIntakeLog()
    clock = Clock()
    case_id, _, _ = await erased_elsewhere(log)
    b = worker(log, clock)
    read(b, [r for r in log.records if r.topic == INTAKE_REGISTRY and r.key.startswith("case/")
             and r.value is not None])  # its view: the case records, the late one last
    read(b, [r for r in log.records if r.key == f"erased/{case_id}"])
    clock.now += GRACE
    assert await service.repair_erasures(intake=b) == [case_id]
    assert_erased(log, case_id)


async def test_an_erasure_read_marker_first_settles_by_itself_and_writes_nothing() -> None:
    """The registry is one partition: an erasure's marker comes just before the case's
    tombstone, so a worker reading them sees marker-and-case for a moment. No repair."""
    log, clock = FakeIntakeLog(), Clock()
    a = worker(log)
    stored = await service.submit_referral(intake=a, referral=referral(), referrer_id="ref-a",
                                           idempotency_key=None)
    await service.erase_patient_data(intake=a, case_id=stored.case_id, requested_by="ops-1")
    c = worker(log, clock)
    for record in log.records:  # C follows the whole log, a record a second (slow)
        read(c, [record])
        clock.now += timedelta(seconds=1)
        assert await service.repair_erasures(intake=c) == []
    clock.now += GRACE
    assert await service.repair_erasures(intake=c) == []
    written = len(log.records)
    restarted = worker(log, clock)
    read(restarted, log.records)
    clock.now += GRACE
    assert await service.repair_erasures(intake=restarted) == [] and len(log.records) == written


async def test_a_referral_event_written_after_the_erasure_alone_is_tombstoned_again() -> None:
    """B wrote its ReferralReceived and stopped before its registry record."""
    log, clock = FakeIntakeLog(), Clock()
    case_id, _, late = await erased_elsewhere(log)
    log.records = [r for r in log.records if r not in late or r.topic == REFERRAL_EVENTS]
    c = worker(log, clock)
    read(c, log.records)  # the late event is the last record on referral.events.v1
    clock.now += GRACE
    assert await service.repair_erasures(intake=c) == [case_id]
    assert_erased(log, case_id)
    written = len(log.records)
    for again in (c, worker(log, clock)):  # its own tombstones read back; a restart re-reads
        read(again, log.records[-len(ERASED_BY_TOMBSTONE) - 1:] if again is c else log.records)
        clock.now += GRACE
        assert await service.repair_erasures(intake=again) == []
    assert len(log.records) == written


async def test_the_review_race_in_one_process_is_serialised() -> None:
    """/tmp/review17/erase_race2.py: the update's ReferralReceived is acknowledged slowly. Its
    records used to land after the erasure's tombstones (then repaired); since review 19 the
    erasure waits for the update on this worker's case lock, so nothing is left to repair."""

    class SlowLog(FakeIntakeLog):
        async def write(self, records: Sequence[OutRecord]) -> None:
            for r in records:  # one after the other, as KafkaIntakeLog does
                await asyncio.sleep(0.05 if r.value and b"ReferralReceived" in r.value else 0)
                self.records.append(r)

    log, clock = SlowLog(), Clock()
    intake = worker(log, clock)
    stored = await service.submit_referral(intake=intake, referral=referral(),
                                           referrer_id="ref-a", idempotency_key=None)
    await asyncio.gather(
        service.update_referral(intake=intake, case_id=stored.case_id, referrer_id="ref-a",
                                referral=referral(clinical_question=SECRET)),
        service.erase_patient_data(intake=intake, case_id=stored.case_id, requested_by="ops"))
    assert_erased(log, stored.case_id)
    clock.now += GRACE
    assert await service.repair_erasures(intake=intake) == []


def test_a_worker_that_sees_the_marker_answers_410_to_an_update_or_cancel() -> None:
    """Its registry holds the marker and a case record another worker wrote after it."""
    log = FakeIntakeLog()
    with running_intake(log) as (client, _):
        case_id = client.post("/referrals", json=referral_body(), headers=NORTH).json()["case_id"]
        late_case = next(r for r in log.records if r.key == f"case/{case_id}")
        client.delete(f"/referrals/{case_id}/patient-data", headers=OPS)
    log.records.append(late_case)
    with running_intake(log) as (client, _):
        written = len(log.records)
        update = client.put(f"/referrals/{case_id}",
                            json=referral_body(clinical_question=SECRET), headers=NORTH)
        cancel = client.delete(f"/referrals/{case_id}", headers=NORTH)
        others = client.put(f"/referrals/{case_id}", json=referral_body(),
                            headers=bearer("ref-city-hospital"))
        shown = client.get(f"/referrals/{case_id}", headers=NORTH)
        task = client.get(f"/fhir/Task/{case_id}", headers=NORTH)
        assert len(log.records) == written
    assert update.status_code == cancel.status_code == 410
    assert update.headers["content-type"] == "application/problem+json"
    assert others.status_code == shown.status_code == task.status_code == 404
    OperationOutcome.model_validate(task.json())


async def test_an_unexpected_failure_does_not_end_the_repairs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = 0

    async def failing(*, intake: object) -> list[str]:
        nonlocal calls
        calls += 1
        raise RuntimeError("boom")

    monkeypatch.setattr(service, "repair_erasures", failing)
    never_used: Intake = object()  # type: ignore[assignment]
    task = asyncio.create_task(service.keep_erasures_converged(never_used, every_seconds=0.01))
    await asyncio.sleep(0.1)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert calls >= 3  # each pass failed, and the next one still ran


async def test_a_late_record_read_while_a_repair_writes_is_repaired_again() -> None:
    """Worker C repairs a case; while its tombstones are in flight another worker's late
    ReferralReceived lands after them and C reads it. The repair must not forget it: it was
    written after C's tombstones, so compaction would keep the patient's text."""
    log, clock = FakeIntakeLog(), Clock()
    case_id, _, late = await erased_elsewhere(log)
    late_event = next(r for r in late if r.topic == REFERRAL_EVENTS)
    c = worker(log, clock)
    read(c, log.records)
    clock.now += GRACE

    class RacingLog(FakeIntakeLog):
        raced = False

        async def write(self, records: Sequence[OutRecord]) -> None:
            await super().write(records)
            if not self.raced and any(r.value is None for r in records):
                self.raced = True  # the late record lands after the tombstones; C reads it
                later = OutRecord(REFERRAL_EVENTS, case_id, late_event.value)
                self.records.append(later)
                read(c, [later])

    racing = RacingLog()
    racing.records = log.records
    c.log = racing
    assert await service.repair_erasures(intake=c) == [case_id]
    assert SECRET.encode() in b"".join(v or b"" for v in survivors(racing).values())
    clock.now += GRACE
    assert await service.repair_erasures(intake=c) == [case_id]  # found again, repaired again
    assert_erased(racing, case_id)
