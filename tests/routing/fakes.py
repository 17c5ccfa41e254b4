"""Hand-written stand-ins for Kafka around the real RoutingProcessor (no broker needed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from schemas.directory import Specialist
from schemas.envelope import Event
from schemas.routing import CapacityDecided
from services.routing.domain.handlers import RoutingResult
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


class Bus:
    """The internal topics between workers: load changes go to the owner of the specialist's
    load partition, capacity decisions to the owner of the case, in the order sent."""

    def __init__(self) -> None:
        self.queue: list[LoadDelta | CapacityDecided] = []
        self.load_owner: Callable[[str], RoutingProcessor] | None = None
        self.case_owner: Callable[[str], RoutingProcessor] | None = None
        self.delivering = False

    async def drain(self) -> None:
        """Deliver until quiet (what the load and commands agents do between decisions)."""
        if self.delivering:
            return
        self.delivering = True
        try:
            while self.queue:
                item = self.queue.pop(0)
                if isinstance(item, LoadDelta):
                    assert self.load_owner is not None
                    await self.load_owner(item.specialist_id).on_load_delta(item)
                else:
                    assert self.case_owner is not None
                    await RoutingProcessor.on_case_input(self.case_owner(item.case_id), item)
        finally:
            self.delivering = False


class RecordingPublisher:
    """Keeps what would go to Kafka and puts the internal topics on the bus; `hold_load` keeps
    load changes back (to simulate a load consumer that had not caught up)."""

    def __init__(self, bus: Bus | None = None) -> None:
        self.events: list[Event] = []
        self.deltas: list[LoadDelta] = []
        self.decisions: list[CapacityDecided] = []
        self.tombstoned: list[str] = []  # case ids tombstoned on the commands topic
        self.bus = bus or Bus()
        self.hold_load = False

    async def routing_event(self, event: Event) -> None:
        self.events.append(event)

    async def load_delta(self, delta: LoadDelta) -> None:
        self.deltas.append(delta)
        if not self.hold_load:
            self.bus.queue.append(delta)

    async def capacity_decided(self, decided: CapacityDecided) -> None:
        self.decisions.append(decided)
        self.bus.queue.append(decided)

    async def forget_commands(self, case_id: str) -> None:
        self.tombstoned.append(case_id)

    def types(self) -> list[str]:
        return [type(e).__name__ for e in self.events]


class Tables:
    """The faust tables as plain dicts; survive a simulated restart."""

    def __init__(self) -> None:
        self.cases: dict[bytes, bytes] = {}
        self.loads: dict[bytes, bytes] = {}


class Worker(RoutingProcessor):
    """A processor whose inputs also run the bus afterwards, as the agents would."""

    bus: Bus

    async def on_case_input(self, event: Event) -> RoutingResult:
        result = await super().on_case_input(event)
        await self.bus.drain()
        return result


def make_processor(
    clock: Clock, tables: Tables | None = None, policy: RoutingPolicy | None = None,
    bus: Bus | None = None, reserve_here: Callable[[str], bool] = lambda specialist_id: False,
) -> tuple[Worker, RecordingPublisher, Tables]:
    """A processor over dict tables, rebuilt from them as after recovery; alone on its bus
    unless the test wires `bus.load_owner` and `bus.case_owner` to several workers."""
    tables = tables or Tables()
    publisher = RecordingPublisher(bus)
    processor = Worker(
        cases=tables.cases, loads=tables.loads,
        publisher=publisher, policy=policy or RoutingPolicy(), clock=clock,
        reserve_here=reserve_here)
    processor.bus = publisher.bus
    if bus is None:
        publisher.bus.load_owner = publisher.bus.case_owner = lambda key: processor
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

    def answers_for(self, case_id: str) -> bool:
        return True  # one worker owning every partition, tables recovered

    def now(self) -> datetime:
        return self.processor.clock()

    async def publish_specialist(self, specialist_id: str, spec: Specialist | None) -> None:
        value = spec.model_dump_json().encode() if spec else b""
        self.processor.on_directory_record(specialist_id.encode(), value)

    async def submit(self, command: Event) -> CommandOutcome | None:
        return (await self.processor.on_case_input(command)).outcome
