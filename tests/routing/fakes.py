"""Hand-written stand-ins for Kafka around the real RoutingProcessor (no broker needed)."""

from __future__ import annotations

from datetime import datetime

from schemas.directory import Specialist
from schemas.envelope import Event
from services.routing.domain.load import LoadDelta
from services.routing.domain.policy import RoutingPolicy
from services.routing.domain.state import CommandOutcome
from services.routing.processor import RoutingProcessor


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class RecordingPublisher:
    """Keeps what would go to Kafka; load deltas are delivered to the load handler like the
    load agent would, unless `hold_load` keeps them back (to simulate a lagging consumer)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.deltas: list[LoadDelta] = []
        self.processor: RoutingProcessor | None = None
        self.hold_load = False

    async def routing_event(self, event: Event) -> None:
        self.events.append(event)

    async def load_delta(self, delta: LoadDelta) -> None:
        self.deltas.append(delta)
        if self.processor is not None and not self.hold_load:
            self.processor.on_load_delta(delta)

    def types(self) -> list[str]:
        return [type(e).__name__ for e in self.events]


class Tables:
    """The faust tables as plain dicts; survive a simulated restart."""

    def __init__(self) -> None:
        self.cases: dict[bytes, bytes] = {}
        self.loads: dict[bytes, bytes] = {}


def make_processor(
    clock: Clock, tables: Tables | None = None, policy: RoutingPolicy | None = None
) -> tuple[RoutingProcessor, RecordingPublisher, Tables]:
    """A processor over dict tables, rebuilt from them as after recovery."""
    tables = tables or Tables()
    publisher = RecordingPublisher()
    processor = RoutingProcessor(
        cases=tables.cases, loads=tables.loads,
        publisher=publisher, policy=policy or RoutingPolicy(), clock=clock)
    publisher.processor = processor
    processor.rebuild()
    return processor, publisher, tables


class InProcessGateway:
    """The API's gateway without Kafka: directory records and commands go straight in."""

    directory_wait_seconds = 1.0

    def __init__(self, processor: RoutingProcessor) -> None:
        self.processor = processor

    @property
    def directory(self):  # type: ignore[no-untyped-def]
        return self.processor.directory

    @property
    def loads(self):  # type: ignore[no-untyped-def]
        return self.processor.loads

    @property
    def casedata(self):  # type: ignore[no-untyped-def]
        return self.processor.casedata

    def ready(self) -> bool:
        return self.processor.synced

    def case_state(self, case_id: str):  # type: ignore[no-untyped-def]
        return self.processor.case_state(case_id)

    async def publish_specialist(self, specialist_id: str, spec: Specialist | None) -> None:
        value = spec.model_dump_json().encode() if spec else b""
        self.processor.on_directory_record(specialist_id.encode(), value)

    async def submit(self, command: Event) -> CommandOutcome | None:
        return (await self.processor.on_case_input(command)).outcome
