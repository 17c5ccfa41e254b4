"""Intake's registry follower goes on past a record it cannot apply, and intake is not ready once
a follower of its has stopped (services/intake/eventlog.py, services/intake/state.py).

The registry follower ran as a bare asyncio task: a key that is not UTF-8 (`key.decode()`) or
an error after the record was parsed (the erasure watch, outside `on_registry_record`'s `try`)
ended it in silence, `loaded` stayed true and `/health/ready` said 200 while intake decided
resends and erasures on a registry frozen at that record.

Its view never goes back, and intake is not ready while a reconnect re-reads it: a worker reads
its own writes back BATCH_MS later, and a reconnect re-read the topic from the beginning with
`loaded` still set; the older record of a case overwrote the newer one, and a cancelled case
took an update (`Registry.apply`, services/common/follow.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiokafka.errors import KafkaConnectionError

from schemas.cases import ReferralCancelled, ReferralReceived
from schemas.topics import INTAKE_REGISTRY, REFERRAL_EVENTS
from services.common.follow import TopicFollower
from services.intake.domain.erasure import ErasureWatch
from services.intake.domain.registry import AnyRecord, CaseRecord, Registry, record_bytes
from services.intake.eventlog import KafkaIntakeLog
from services.intake.settings import IntakeSettings
from services.intake.state import Intake
from tests.intake.intake_fakes import NOW, FakeIntakeLog, bearer, running_intake
from tests.unit.common.follower_fakes import FakeTopics, install, until
from tests.unit.intake.intake_builders import referral_body


def case(case_id: str, revision: int = 1, status: str = "open") -> bytes | None:
    return record_bytes(CaseRecord(
        case_id=case_id, referrer_id="ref-a", referral_id=f"R-{case_id}", revision=revision,
        first_body_hash="h", body_hash=f"h{revision}", status=status,  # type: ignore[arg-type]
        updated_at=NOW + timedelta(minutes=revision)))


class BrokenWatch(ErasureWatch):
    """An erasure watch that fails on one case: any error past the registry's own `try`."""

    def registry_record(self, registry: Registry, record: AnyRecord | None, now: object) -> None:
        if record is not None and record.case_id == "c-bad":
            raise RuntimeError("a bug in the erasure watch")


@pytest.fixture
def topics(monkeypatch: pytest.MonkeyPatch) -> FakeTopics:
    fake = FakeTopics()
    install(monkeypatch, fake)

    async def no_producer(self: KafkaIntakeLog) -> None:
        return None  # the producer is not what these tests are about

    monkeypatch.setattr(KafkaIntakeLog, "_run_producer", no_producer)
    return fake


def registry_reasons(log: KafkaIntakeLog) -> list[str]:
    return [r for r in log.not_ready_reasons() if r.startswith("registry")]


async def test_the_registry_follower_goes_on_past_a_bad_key_and_a_failing_record(
    topics: FakeTopics,
) -> None:
    topics.add(INTAKE_REGISTRY, b"case/c-1", case("c-1"))
    topics.add(INTAKE_REGISTRY, b"case/\xff\xfe", case("c-x"))  # not UTF-8: no registry key
    topics.add(INTAKE_REGISTRY, b"case/c-bad", case("c-bad"))
    topics.add(INTAKE_REGISTRY, b"case/c-2", case("c-2"))
    log = KafkaIntakeLog(bootstrap="fake:9092", send_timeout=1.0)
    intake = Intake(log=log, settings=IntakeSettings(), erasures=BrokenWatch())
    assert registry_reasons(log) == ["registry: not read to its end"]
    await log.start(intake.on_registry_record)
    try:
        await until(lambda: registry_reasons(log) == [])
        topics.add(INTAKE_REGISTRY, b"case/c-3", case("c-3"))  # and it keeps following
        await until(lambda: "c-3" in intake.registry.cases)
        assert sorted(intake.registry.cases) == ["c-1", "c-2", "c-3", "c-bad"]
        assert registry_reasons(log) == []
    finally:
        await log.stop()
    assert registry_reasons(log) == ["registry: follower not running"]  # stopped on shutdown


async def test_intake_is_not_ready_once_its_registry_follower_stopped(
    topics: FakeTopics,
) -> None:
    topics.add(INTAKE_REGISTRY, b"case/c-1", case("c-1"))
    log = KafkaIntakeLog(bootstrap="fake:9092", send_timeout=1.0)
    intake = Intake(log=log, settings=IntakeSettings())
    await log.start(intake.on_registry_record)
    try:
        await until(lambda: registry_reasons(log) == [])
        assert intake.live_reasons() == []
        topics.fail_with = RuntimeError("an error the follower does not retry")
        # Read to its end once, frozen since: it used to stay ready for good.
        await until(lambda: registry_reasons(log) == ["registry: follower not running"])
        assert not intake.is_ready()
        assert "registry: follower not running" in intake.not_ready_reasons()
        # It will not follow again in this process: liveness asks for a restart.
        assert intake.live_reasons() == ["registry: follower stopped"]
    finally:
        await log.stop()


async def test_intake_is_not_ready_once_its_status_feed_stopped(topics: FakeTopics) -> None:
    topics.add(REFERRAL_EVENTS, b"c-1", b"{}")
    intake = Intake(log=FakeIntakeLog(), settings=IntakeSettings())
    feed = intake.feed = TopicFollower(bootstrap="fake:9092", topics=[REFERRAL_EVENTS],
                                       on_record=intake.on_status_record, client_id="test")
    assert intake.not_ready_reasons() == ["status feed: follower not running"]  # not started
    assert intake.live_reasons() == []  # not started is not stopped: start-up stays live
    await feed.start()
    try:
        # Running is enough: referrals never waited for the Task view to load.
        await until(lambda: intake.not_ready_reasons() == [])
        topics.fail_with = RuntimeError("an error the follower does not retry")
        await until(lambda: not feed.alive)
        assert intake.not_ready_reasons() == ["status feed: follower not running"]
        await until(lambda: feed.stopped)
        assert intake.live_reasons() == ["status feed: follower stopped"]
    finally:
        await feed.stop()


def test_a_worker_reading_its_own_writes_back_keeps_the_case_cancelled() -> None:
    north = bearer("ref-north-gp")
    with running_intake() as (client, log):
        cid = client.post("/referrals", json=referral_body(), headers=north).json()["case_id"]
        client.put(f"/referrals/{cid}", json=referral_body(age=60), headers=north)
        assert client.delete(f"/referrals/{cid}", headers=north).json()["status"] == "cancelled"
        intake = client.app.state.intake  # type: ignore[attr-defined]
        for record in [r for r in log.records if r.topic == INTAKE_REGISTRY]:
            intake.on_registry_record(record.key, record.value)  # the follower's batch, late
            held = intake.registry.cases[cid]
            assert (held.status, held.revision) == ("cancelled", 2)
        late = client.put(f"/referrals/{cid}", json=referral_body(age=75), headers=north)
    assert late.status_code == 409 and late.json()["type"].endswith("/case-closed")
    assert [(type(e), getattr(e, "revision", None)) for e in log.events()] == [
        (ReferralReceived, 1), (ReferralReceived, 2), (ReferralCancelled, None)]


async def test_intake_is_not_ready_while_a_reconnect_reads_the_registry_again(
    topics: FakeTopics,
) -> None:
    topics.add(INTAKE_REGISTRY, b"case/c-1", case("c-1"))
    topics.add(INTAKE_REGISTRY, b"case/c-1", case("c-1", revision=2))
    topics.add(INTAKE_REGISTRY, b"case/c-1", case("c-1", revision=2, status="cancelled"))
    log = KafkaIntakeLog(bootstrap="fake:9092", send_timeout=1.0)
    intake = Intake(log=log, settings=IntakeSettings())
    ready_when_applied: list[bool] = []

    def sink(key: str, raw: bytes | None) -> None:
        ready_when_applied.append(registry_reasons(log) == [])
        intake.on_registry_record(key, raw)

    await log.start(sink)
    try:
        await until(lambda: registry_reasons(log) == [])
        topics.fail_with = KafkaConnectionError("broker away")  # a blip: the follower retries
        await until(lambda: topics.consumers > 1)
        topics.fail_with = None
        await until(lambda: len(ready_when_applied) == 6, seconds=6.0)  # read again from 0
        assert ready_when_applied == [False] * 6  # not ready on a re-read in progress
        await until(lambda: registry_reasons(log) == [])  # and ready again at its end
        held = intake.registry.cases["c-1"]
        assert (held.status, held.revision) == ("cancelled", 2)
    finally:
        await log.stop()
