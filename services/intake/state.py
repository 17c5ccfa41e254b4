"""The intake process's state: the registry view, the Kafka log, the clock and the locks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from fastapi import Request
from pydantic import ValidationError

from schemas.cases import CaseErased, ReferralReceived
from schemas.registry import parse_event
from schemas.topics import ERASED_BY_TOMBSTONE
from services.common.case_locks import CaseLocks
from services.common.follow import Record
from services.common.logs import get_logger
from services.intake.domain.erasure import ErasureWatch
from services.intake.domain.orphans import OrphanWatch
from services.intake.domain.registry import ErasedRecord, Registry, parse_record
from services.intake.eventlog import IntakeLog
from services.intake.fhir.taskview import TaskView
from services.intake.settings import IntakeSettings

log = get_logger("intake")


def utc_now() -> datetime:
    """The wall clock, timezone-aware."""
    return datetime.now(UTC)


class StatusFeed(Protocol):
    """What feeds the Task view: the downstream topics, followed in full (see fhir/taskview)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    @property
    def loaded(self) -> bool: ...

    @property
    def alive(self) -> bool:
        """False once the feed stopped: the Task view and erasure watch no longer change."""

    @property
    def stopped(self) -> bool:
        """True once the feed ended for good in this process (liveness: restart it)."""


class LocalFeed:
    """No downstream topics: the view holds only what this process wrote (tests)."""

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    @property
    def loaded(self) -> bool:
        return True

    @property
    def alive(self) -> bool:
        return True

    @property
    def stopped(self) -> bool:
        return False


@dataclass
class Intake:
    log: IntakeLog
    settings: IntakeSettings
    clock: Callable[[], datetime] = utc_now
    registry: Registry = field(default_factory=Registry)
    tasks: TaskView = field(default_factory=TaskView)
    feed: StatusFeed = field(default_factory=LocalFeed)
    erasures: ErasureWatch = field(default_factory=ErasureWatch)
    orphans: OrphanWatch = field(default_factory=OrphanWatch)  # events without registry record
    # Held from a decision until its result is applied (referrals/service.py), per case and
    # per Idempotency-Key: this worker's requests never decide on the same registry state.
    locks: CaseLocks = field(default_factory=CaseLocks)

    def is_ready(self) -> bool:
        """Ready once Kafka is connected and the registry has been read to its end."""
        return self.log.is_ready()

    def not_ready_reasons(self) -> list[str]:
        """For /health/ready: what keeps intake from taking referrals now ([] = nothing).
        The status feed counts once it has stopped, not while it loads: referrals never
        waited for the Task view, but a stopped feed freezes it and the erasure watch."""
        feed = [] if self.feed.alive else ["status feed: follower not running"]
        return self.log.not_ready_reasons() + feed

    def live_reasons(self) -> list[str]:
        """For /health/live: a follower that ended will not follow again in this process, so
        the pod is restarted rather than left out of rotation for good ([] = live)."""
        feed = ["status feed: follower stopped"] if self.feed.stopped else []
        return self.log.wedged_reasons() + feed

    def on_registry_record(self, key: str, raw: bytes | None) -> None:
        """Apply one registry record read from Kafka; an unreadable one is skipped, not fatal."""
        try:
            record = parse_record(raw)
            self.registry.apply(key, record)
        except (ValidationError, KeyError):
            log.warning("unreadable intake registry record skipped", extra={"kind": key[:6]})
            if key.startswith("case/"):
                self.orphans.unreadable_record(key.removeprefix("case/"))
            return
        if isinstance(record, ErasedRecord):  # the view may have read the case's events first
            self.tasks.erase(record.case_id)
            self.orphans.erased(record.case_id)
        self.erasures.registry_record(self.registry, record, self.clock())

    def on_status_record(self, record: Record) -> None:
        """Fold one downstream event into the Task view; an unreadable one is skipped, and so
        is one of a case the registry knows as erased (it arrived late, from another topic)."""
        if record.topic in ERASED_BY_TOMBSTONE and record.key is not None:
            self.erasures.topic_record(
                self.registry, record.topic, record.key.decode(errors="replace"),
                tombstone=not record.value, now=self.clock(),
            )
        if not record.value:
            return  # a tombstone: nothing to fold
        try:
            event = parse_event(record.topic, record.value)
        except (ValidationError, KeyError, ValueError):
            log.warning("unreadable status event skipped", extra={"topic": record.topic})
            return
        if event.case_id in self.registry.erased:
            self.tasks.erase(event.case_id)
            return
        if isinstance(event, CaseErased):
            self.orphans.erased(event.case_id)
        elif isinstance(event, ReferralReceived) and self.log.is_ready():
            # Only against a registry read to its end: before that every case looks missing.
            self.orphans.received(self.registry, event, self.clock())
        self.tasks.apply(event)


async def get_intake(request: Request) -> Intake:
    """FastAPI dependency: the app's Intake."""
    intake: Intake = request.app.state.intake
    return intake
