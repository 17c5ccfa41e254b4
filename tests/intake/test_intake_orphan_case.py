"""A new case whose ReferralReceived landed but whose registry record did not (the write timed
out between the two: 503), and whose client never retried: triage and routing work it, yet
intake answered 404 to its read, its cancellation and its erasure, so its patient data could
not be erased. Every worker now rebuilds the registry record from the event it reads, once the
record is still missing after a grace period."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from schemas.topics import INTAKE_REGISTRY, REFERRAL_EVENTS
from services.common.follow import Record
from services.intake.app import create_app
from services.intake.referrals.service import ORPHAN_GRACE, repair_orphans
from services.intake.settings import IntakeSettings
from tests.intake.intake_fakes import NOW, EventOnlyLog, FakeIntakeLog, bearer
from tests.intake.test_intake_fhir_identity import message
from tests.unit.intake.intake_builders import referral_body

NORTH = bearer("ref-north-gp")
OPS = bearer("ops-1", role="ops")
FIRST_ID = {"system": "https://north-gp.example/referrals", "value": "NGP-2026-0042"}
SECOND_ID = {"system": "https://ubrn.example/ids", "value": "UBRN-000123"}


def test_a_case_whose_registry_record_was_lost_is_rebuilt_and_can_be_erased() -> None:
    clock = [NOW]

    def now() -> datetime:
        return clock[0]

    log = EventOnlyLog()
    app = create_app(IntakeSettings(rate_limit_burst=10_000), log=log, clock=now)
    with TestClient(app) as client:
        intake = app.state.intake
        log.cut = True
        lost = client.post("/referrals", json=referral_body(), headers=NORTH)
        assert lost.status_code == 503
        [landed] = [r for r in log.records if r.topic == REFERRAL_EVENTS]
        intake.on_status_record(Record(landed.topic, 0, 0, landed.key.encode(), landed.value))
        case_id = landed.key
        assert client.portal.call(repair_orphans, intake) == []  # within its grace: waits
        clock[0] = NOW + ORPHAN_GRACE + timedelta(seconds=1)
        assert client.portal.call(repair_orphans, intake) == [case_id]
        read = client.get(f"/referrals/{case_id}", headers=NORTH)
        assert read.status_code == 200 and read.json()["revision"] == 1
        resend = client.post("/referrals", json=referral_body(), headers=NORTH)
        assert resend.status_code == 200 and resend.json()["case_id"] == case_id
        erased = client.delete(f"/referrals/{case_id}/patient-data", headers=OPS)
        assert erased.status_code == 202, erased.text
        assert client.get(f"/referrals/{case_id}", headers=NORTH).status_code == 404
        # Its event read again (a reconnect) does not bring the erased case back.
        intake.on_status_record(Record(landed.topic, 0, 0, landed.key.encode(), landed.value))
        clock[0] += ORPHAN_GRACE * 2
        assert client.portal.call(repair_orphans, intake) == []


def test_a_registry_record_that_follows_its_event_settles_the_case() -> None:
    log = FakeIntakeLog()
    app = create_app(IntakeSettings(rate_limit_burst=10_000), log=log, clock=lambda: NOW)
    with TestClient(app) as client:
        intake = app.state.intake
        client.post("/referrals", json=referral_body(), headers=NORTH)
        [event] = [r for r in log.records if r.topic == REFERRAL_EVENTS]
        intake.on_status_record(Record(event.topic, 0, 0, event.key.encode(), event.value))
        assert intake.orphans.suspects == {}
        written = len(log.records)
        intake.clock = lambda: NOW + ORPHAN_GRACE * 2
        assert client.portal.call(repair_orphans, intake) == [] and len(log.records) == written


def test_a_case_whose_registry_record_this_worker_could_not_read_is_never_rebuilt() -> None:
    """A rollback past a field, a damaged record: the case is missing to this worker only, and
    rebuilding it from its event would write a cancelled case back as open."""
    clock = [NOW]
    log = EventOnlyLog()
    app = create_app(IntakeSettings(rate_limit_burst=10_000), log=log, clock=lambda: clock[0])
    with TestClient(app) as client:
        intake = app.state.intake
        log.cut = True
        assert client.post("/referrals", json=referral_body(), headers=NORTH).status_code == 503
        [landed] = [r for r in log.records if r.topic == REFERRAL_EVENTS]
        case_id = landed.key
        # its record as a later release wrote it: a field this worker does not know
        intake.on_registry_record(f"case/{case_id}", b'{"kind": "case", "case_id": "'
                                  + case_id.encode() + b'", "from_the_future": 1}')
        intake.on_status_record(Record(landed.topic, 0, 0, landed.key.encode(), landed.value))
        clock[0] = NOW + ORPHAN_GRACE + timedelta(seconds=1)
        assert client.portal.call(repair_orphans, intake) == []


def test_an_erasure_repair_that_keeps_failing_does_not_stop_orphan_repairs(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import asyncio
    import contextlib

    from services.intake.referrals import service

    calls: list[str] = []

    async def failing_erasures(*, intake: object) -> None:
        calls.append("erasures")
        raise RuntimeError("a bug in the erasure repair")

    async def orphans(intake: object) -> list[str]:
        calls.append("orphans")
        return []

    monkeypatch.setattr(service, "repair_erasures", failing_erasures)
    monkeypatch.setattr(service, "repair_orphans", orphans)

    async def run() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(service.keep_erasures_converged(object(), every_seconds=0), 0.05)

    asyncio.run(run())
    assert calls.count("orphans") >= 2 and calls.count("erasures") >= 2


def test_a_rebuilt_fhir_case_is_found_by_the_senders_identifiers() -> None:
    """Its names (ServiceRequest identifiers, message id, fullUrl) were registry records written
    after the event, so they were lost with the case record, and the event does not carry them:
    a Task search by `system|value` of the sender's identifier, or by its second identifier,
    missed the rebuilt case, and a cancel naming it by one was 404. They are now written before
    the event (they say nothing about the case existing), so they outlive a lost case record."""
    clock = [NOW]
    log = EventOnlyLog()
    bundle = message(identifier=True)
    bundle["entry"][1]["resource"]["identifier"].append(SECOND_ID)
    app = create_app(IntakeSettings(rate_limit_burst=10_000), log=log, clock=lambda: clock[0])
    with TestClient(app) as client:
        intake = app.state.intake
        log.cut = True
        lost = client.post("/fhir/Bundle", json=bundle, headers=NORTH)
        assert lost.status_code == 503
        [landed] = [r for r in log.records if r.topic == REFERRAL_EVENTS]
        case_id = landed.key
        for record in log.records:  # what the two followers read of the half-written batch
            if record.topic == INTAKE_REGISTRY:
                intake.on_registry_record(record.key, record.value)
        intake.on_status_record(Record(landed.topic, 0, 0, landed.key.encode(), landed.value))
        clock[0] = NOW + ORPHAN_GRACE + timedelta(seconds=1)
        assert client.portal.call(repair_orphans, intake) == [case_id]
        written = len(log.records)
        assert client.portal.call(repair_orphans, intake) == []
        found = {}
        for ident in (f"{FIRST_ID['system']}|{FIRST_ID['value']}",
                      f"{SECOND_ID['system']}|{SECOND_ID['value']}"):
            search = client.get("/fhir/Task", params={"identifier": ident}, headers=NORTH)
            found[ident] = [e["resource"]["id"] for e in search.json().get("entry", [])]
        task = client.get(f"/fhir/Task/{case_id}", headers=NORTH).json()
        resent = client.post("/fhir/Bundle", json=bundle, headers=NORTH)
        assert len(log.records) == written  # the resend replays: nothing written again
    assert list(found.values()) == [[case_id], [case_id]]
    assert FIRST_ID in task["identifier"] and SECOND_ID in task["identifier"]
    assert resent.status_code == 200 and resent.json()["case_id"] == case_id
