"""A FHIR case's names (`identity/` records: the sender's identifier system and value in clear)
are written before its event. If the event's write then fails and the client never retries, no
case exists, so an erasure by the case id found nothing (404) and left the names for good. The
erasure still answers 404 (there is no case to erase), but tombstones those names first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from schemas.topics import INTAKE_REGISTRY, REFERRAL_EVENTS
from services.common.follow import Record
from services.intake.eventlog import BrokerUnavailable, OutRecord
from tests.intake.intake_fakes import EventOnlyLog, FakeIntakeLog, bearer, running_intake
from tests.intake.test_intake_fhir_identity import message

NORTH = bearer("ref-north-gp")
OPS = bearer("ops-1", role="ops")


class NamesOnlyLog(FakeIntakeLog):
    """Writes the next batch up to its event, not the event itself, then fails."""

    cut = False

    async def write(self, records: Sequence[OutRecord]) -> None:
        if self.cut:
            self.cut = False
            topics = [r.topic for r in records]
            self.records.extend(records[:topics.index(REFERRAL_EVENTS)])
            raise BrokerUnavailable("the event was not acknowledged")
        await super().write(records)


def identities(log: FakeIntakeLog) -> dict[str, Any]:
    """Identity keys as the compacted registry topic ends up holding them."""
    held: dict[str, Any] = {}
    for record in log.records:
        if record.topic == INTAKE_REGISTRY and record.key.startswith("identity/"):
            held[record.key] = record.value
    return {key: value for key, value in held.items() if value is not None}


def test_erasing_a_case_whose_event_never_landed_tombstones_its_names_and_is_404() -> None:
    log = NamesOnlyLog()
    with running_intake(log) as (client, _):
        log.cut = True
        failed = client.post("/fhir/Bundle", json=message(), headers=NORTH)
        assert failed.status_code == 503, failed.text
    assert identities(log)  # the names landed, the event did not
    assert not log.events()
    with running_intake(log) as (client, _):  # a worker that reads the registry topic
        intake = client.app.state.intake  # type: ignore[attr-defined]
        case_id = next(iter(intake.registry.identities.values())).case_id
        erased = client.delete(f"/referrals/{case_id}/patient-data", headers=OPS)
        assert erased.status_code == 404, erased.text
        assert intake.registry.identity_keys_of(case_id) == []
    assert identities(log) == {}
    assert not log.events()  # no CaseErased for a case that never existed
    assert not any(r.key.startswith(("erased/", "erased-name/")) for r in log.records)


def test_a_referral_resent_after_its_stray_names_were_tombstoned_is_named_again() -> None:
    log = NamesOnlyLog()
    with running_intake(log) as (client, _):
        log.cut = True
        assert client.post("/fhir/Bundle", json=message(), headers=NORTH).status_code == 503
    with running_intake(log) as (client, _):
        intake = client.app.state.intake  # type: ignore[attr-defined]
        case_id = next(iter(intake.registry.identities.values())).case_id
        assert client.delete(f"/referrals/{case_id}/patient-data", headers=OPS).status_code == 404
        resent = client.post("/fhir/Bundle", json=message(), headers=NORTH)
        assert resent.status_code == 202, resent.text
        assert resent.json()["case_id"] == case_id
        assert intake.registry.identity_keys_of(case_id)


def test_names_of_a_case_whose_event_landed_are_kept_for_its_rebuild() -> None:
    """Its event was read (an orphan awaiting repair): the erasure is 404 as before, and its
    names stay, so the rebuilt case is still found by them and erased by its id then."""
    log = EventOnlyLog()
    with running_intake(log) as (client, _):
        intake = client.app.state.intake  # type: ignore[attr-defined]
        log.cut = True
        assert client.post("/fhir/Bundle", json=message(), headers=NORTH).status_code == 503
        [landed] = [r for r in log.records if r.topic == REFERRAL_EVENTS]
        for record in log.records:
            if record.topic == INTAKE_REGISTRY:
                intake.on_registry_record(record.key, record.value)
        intake.on_status_record(Record(landed.topic, 0, 0, landed.key.encode(), landed.value))
        named = identities(log)
        erased = client.delete(f"/referrals/{landed.key}/patient-data", headers=OPS)
        assert erased.status_code == 404, erased.text
        assert identities(log) == named and intake.registry.identity_keys_of(landed.key)
