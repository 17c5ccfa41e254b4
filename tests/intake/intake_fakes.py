"""A hand-written fake of intake's Kafka log, and helpers to run the app against it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from schemas.envelope import Event
from schemas.registry import parse_event
from schemas.topics import INTAKE_REGISTRY, REFERRAL_EVENTS
from services.common.auth import mint_token
from services.intake.app import create_app
from services.intake.eventlog import BrokerUnavailable, OutRecord, RecordSink
from services.intake.settings import IntakeSettings

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


class FakeIntakeLog:
    """Keeps written records in memory; a new app started on it replays the registry records,
    like a restarted intake reading the compacted topic."""

    def __init__(self, *, ready: bool = True) -> None:
        self.records: list[OutRecord] = []
        self.ready = ready
        self.fail_writes = False

    async def start(self, on_registry_record: RecordSink) -> None:
        for record in self.records:
            if record.topic == INTAKE_REGISTRY:
                on_registry_record(record.key, record.value)

    async def stop(self) -> None:
        return None

    def is_ready(self) -> bool:
        return self.ready

    def not_ready_reasons(self) -> list[str]:
        return [] if self.ready else ["fake: not ready"]

    def wedged_reasons(self) -> list[str]:
        return []

    async def write(self, records: Sequence[OutRecord]) -> None:
        if self.fail_writes:
            raise BrokerUnavailable("fake broker down")
        self.records.extend(records)

    def events(self) -> list[Event]:
        """Every event written to referral.events.v1, parsed."""
        return [
            parse_event(REFERRAL_EVENTS, r.value)
            for r in self.records if r.topic == REFERRAL_EVENTS and r.value is not None
        ]


class EventOnlyLog(FakeIntakeLog):
    """Writes the next batch up to its event (what goes before it too), then times out before
    the registry records that follow it."""

    cut = False

    async def write(self, records: Sequence[OutRecord]) -> None:
        if self.cut:
            self.cut = False
            topics = [r.topic for r in records]
            self.records.extend(records[:topics.index(REFERRAL_EVENTS) + 1])
            raise BrokerUnavailable("no acknowledgement in time")
        await super().write(records)


@contextmanager
def running_intake(
    log: FakeIntakeLog | None = None, **settings: object
) -> Iterator[tuple[TestClient, FakeIntakeLog]]:
    """The intake app on a fake log (fresh unless given), with its lifespan running."""
    log = log or FakeIntakeLog()
    config = IntakeSettings(**({"rate_limit_burst": 10_000} | settings))  # type: ignore[arg-type]
    with TestClient(create_app(config, log=log, clock=lambda: NOW)) as client:
        yield client, log


def bearer(subject: str, role: str = "referrer", ttl_seconds: int = 3600) -> dict[str, str]:
    """Authorization header with a freshly minted token."""
    token = mint_token(subject=subject, role=role, ttl_seconds=ttl_seconds)  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {token}"}
