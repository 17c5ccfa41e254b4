"""What the HTTP API needs from the running service, as a protocol the routes depend on."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Protocol

from fastapi import Depends, FastAPI, Request

from schemas.directory import Specialist
from schemas.envelope import Event
from services.common.problems import ProblemError
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

    def answers_for(self, case_id: str) -> bool:
        """Whether this worker's table speaks for the case now: it actively owns the case's
        partition and no rebalance (table recovery included) is running. Otherwise a missing
        row, or one without the caller, may only mean it has not read the case yet."""

    def now(self) -> datetime:
        """The service's clock (the processor's): commands from the routes carry it, and the
        processor decides a command at its stamp."""

    async def publish_specialist(self, specialist_id: str, spec: Specialist | None) -> None:
        """Produce a directory record (None = tombstone) and wait for the broker's ack."""

    async def submit(self, command: Event) -> CommandOutcome | None:
        """Send a command keyed by case id and await the agent's decision (None: timed out)."""


def not_found_here(gateway: RoutingGateway, case_id: str, problem: ProblemError) -> ProblemError:
    """`problem` (a 404) when this worker's table speaks for the case; else "retry" (503).

    In a rebalance the worker taking a case over serves HTTP while it restores the table from
    the changelog (memory store), and requests reach it directly or relayed by a worker that
    already sees the new assignment; with more than two workers it often held no copy of the
    partition before (one standby replica), so it found no row and told a specialist holding
    a valid offer that there was nothing of theirs (404). A stale standby or former owner, to
    which a relay on an older assignment goes, may lack the newest offer the same way."""
    return problem if gateway.answers_for(case_id) else taking_over()


def taking_over() -> ProblemError:
    """503 with Retry-After: the case's row here may be missing or behind (not_found_here)."""
    return ProblemError(503, "Service Unavailable",
                        "this worker is taking the case over and has not read it yet; retry "
                        "shortly", kind="case-moving", headers={"Retry-After": "1"})


def set_gateway(api: FastAPI, gateway: RoutingGateway) -> None:
    """Bind the gateway to the app."""
    api.state.routing_gateway = gateway


async def _gateway(request: Request) -> RoutingGateway:
    gateway: RoutingGateway = request.app.state.routing_gateway
    return gateway


Gateway = Annotated[RoutingGateway, Depends(_gateway)]
