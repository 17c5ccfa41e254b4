"""Notify's HTTP routes: acknowledge an escalation, and read a case's SLA clocks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict, Field

from schemas.envelope import derive_id
from services.common.auth import Principal, require_roles
from services.common.problems import ProblemError
from services.notify.domain import sla
from services.notify.domain.commands import AcknowledgeEscalation
from services.notify.domain.state import CaseState


class AckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # None: for ops every chain of the case, for a specialist the steps they hold (the agent
    # applies that rule itself, with the holders as of the command's turn).
    step_id: str | None = Field(default=None, max_length=64)


class AckAccepted(BaseModel):
    case_id: str
    step_id: str | None
    acknowledged_by: str
    command_id: str


class ClockView(BaseModel):
    step_id: str
    clock: str
    urgency: str
    status: str
    breached: bool
    deadline: datetime | None
    elapsed_fraction: float


class ChainView(BaseModel):
    step_id: str
    clock: str
    status: str
    trigger: str
    steps_sent: int
    closed_by: str | None


class SlaView(BaseModel):
    case_id: str
    waiting_for: list[str]
    clocks: list[ClockView]
    escalations: list[ChainView]
    pending_notifications: int


def ack_id(state: CaseState, step_id: str | None, principal: Principal) -> str:
    """The command id of an ack: what it acknowledges (case, caller, step, and what it can
    end now: active chains, open emergency acknowledgement clocks), so a retried or repeated
    ack is one id the agent applies once. A random id per request pushed the case's real event
    ids out of its bounded memory of applied ids, and a routing event redelivered afterwards
    was applied (its webhooks sent) again."""
    active = [f"{key}={chain.trigger_event_id}" for key, chain in state.chains.items()
              if chain.status == "active"]
    active += [key for key, clock in state.clocks.items() if clock.kind == "acceptance"
               and clock.urgency == "emergency" and clock.status in ("running", "paused")]
    return derive_id(state.case_id, "ack", principal.role, principal.subject, step_id or "*",
                     *sorted(active))


def build_escalation_router(
    *, state_of: Callable[[str], CaseState | None],
    send_command: Callable[[AcknowledgeEscalation], Awaitable[None]],
    clock: Callable[[], datetime],
) -> APIRouter:
    """POST /escalations/{case_id}/ack and GET /sla/{case_id}."""
    router = APIRouter(tags=["escalations"])

    def visible_case(case_id: str, principal: Principal) -> CaseState:
        # A specialist sees only cases where they hold an offer or an assignment; everyone
        # else gets the very answer a case that does not exist gets (F2).
        state = state_of(case_id)
        if state is None or (principal.role == "specialist" and all(
                s.specialist_id != principal.subject for s in state.steps.values())):
            raise ProblemError(404, "Not Found", "no SLA state for this case", kind="not-found")
        return state

    @router.post("/escalations/{case_id}/ack", status_code=202)
    async def acknowledge(
        case_id: str,
        principal: Annotated[Principal, Depends(require_roles("specialist", "ops"))],
        request: Annotated[AckRequest | None, Body()] = None,
    ) -> AckAccepted:
        """Stop escalation chains (ops: the case's or one step's; a specialist: only of steps
        they hold); applied in order with the case's other events."""
        state = visible_case(case_id, principal)
        step_id = request.step_id if request else None
        held = state.steps.get(step_id) if step_id is not None else None
        if principal.role == "specialist" and step_id is not None and (
                held is None or held.specialist_id != principal.subject):
            raise ProblemError(403, "Forbidden", "only the assigned specialist or ops may "
                               "acknowledge", kind="forbidden")
        if step_id is not None and held is None:
            raise ProblemError(404, "Not Found", "step_id names no step of this case",
                               kind="not-found")
        command = AcknowledgeEscalation(
            event_id=ack_id(state, step_id, principal), case_id=case_id, occurred_at=clock(),
            step_id=step_id, acknowledged_by=principal.subject,
            role=principal.role,  # type: ignore[arg-type]
        )
        await send_command(command)
        return AckAccepted(case_id=case_id, step_id=step_id, acknowledged_by=principal.subject,
                           command_id=command.event_id)

    # async: the row is read through the parsed-row cache, whose order the agents change on the
    # event loop; from FastAPI's thread pool the two could race (a KeyError, a 500).
    @router.get("/sla/{case_id}")
    async def sla_state(
        case_id: str,
        principal: Annotated[Principal, Depends(require_roles("specialist", "ops"))],
    ) -> SlaView:
        """The case's clocks, escalation chains and undelivered notifications."""
        state, now = visible_case(case_id, principal), clock()
        return SlaView(
            case_id=case_id, waiting_for=state.waiting_for,
            clocks=[ClockView(
                step_id=c.step_id, clock=c.kind, urgency=c.urgency, status=c.status,
                breached=c.breached,
                deadline=sla.deadline(c, now) if c.status in ("running", "paused") else None,
                elapsed_fraction=round(sla.elapsed_seconds(c, now) / c.target_seconds, 4),
            ) for c in state.clocks.values()],
            escalations=[ChainView(
                step_id=ch.step_id, clock=ch.clock, status=ch.status, trigger=ch.trigger,
                steps_sent=ch.sent, closed_by=ch.closed_by,
            ) for ch in state.chains.values()],
            pending_notifications=len(state.outbox),
        )

    return router
