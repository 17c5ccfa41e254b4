"""What the HTTP API needs from the running service, as a protocol the routes depend on."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Protocol

from fastapi import Depends, FastAPI, Request

from schemas.directory import Specialist
from schemas.envelope import Event
from services.routing.casedata import CaseData
from services.routing.domain.directory import DirectoryIndex
from services.routing.domain.load import LoadBook
from services.routing.domain.state import CaseRouting, CommandOutcome


class RoutingGateway(Protocol):
    """Reads come from the agent's tables and views; writes go through Kafka topics."""

    directory_wait_seconds: float  # how long PUT/DELETE wait to see their change applied

    @property
    def directory(self) -> DirectoryIndex: ...

    @property
    def loads(self) -> LoadBook: ...

    @property
    def casedata(self) -> CaseData: ...

    def ready(self) -> bool | list[str]:
        """True/[] when it can work now; else False or the reasons (see /health/ready)."""

    def case_state(self, case_id: str) -> CaseRouting | None: ...

    def now(self) -> datetime:
        """The service's clock (the processor's): commands from the routes carry it, and the
        processor decides a command at its stamp."""

    async def publish_specialist(self, specialist_id: str, spec: Specialist | None) -> None:
        """Produce a directory record (None = tombstone) and wait for the broker's ack."""

    async def submit(self, command: Event) -> CommandOutcome | None:
        """Send a command keyed by case id and await the agent's decision (None: timed out)."""


def set_gateway(api: FastAPI, gateway: RoutingGateway) -> None:
    """Bind the gateway to the app."""
    api.state.routing_gateway = gateway


async def _gateway(request: Request) -> RoutingGateway:
    gateway: RoutingGateway = request.app.state.routing_gateway
    return gateway


Gateway = Annotated[RoutingGateway, Depends(_gateway)]
