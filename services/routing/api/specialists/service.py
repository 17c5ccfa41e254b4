"""Specialists' offers and assignments, and their commands decided by the routing agent."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from schemas.envelope import derive_id
from schemas.routing import AcceptOffer, AmendReport, CompleteAssignment, DeclineOffer, RequestTeam
from services.common.kafka_wait import KafkaAckTimeout
from services.common.problems import ProblemError
from services.routing.api.gateway import RoutingGateway, taking_over
from services.routing.api.specialists.models import AssignmentView, CommandResult, OfferView
from services.routing.domain.handlers import CLOSED, NOT_YOURS
from services.routing.domain.plans import attachments_for
from services.routing.domain.state import CaseRouting, CommandOutcome, holds_anything
from services.routing.reservations import is_unpublished

Command = AcceptOffer | DeclineOffer | CompleteAssignment | AmendReport | RequestTeam


def _slots(held: list[str]) -> list[tuple[str, str]]:
    return [tuple(slot.rsplit("/", 1)) for slot in held]  # type: ignore[misc]


# Case rows read on the event loop between two turns of the agents (a route reading hundreds of
# slots, each a row parse, would otherwise hold them up; as notify's board, BOARD_CHUNK).
READ_CHUNK = 100
States = Mapping[str, CaseRouting | None]


async def read_states(
    gateway: RoutingGateway, case_ids: Iterable[str],
) -> dict[str, CaseRouting | None]:
    """The routing state of each case, read on the event loop (the agents' thread: from
    FastAPI's thread pool a read raced the parsed-row caches they change), with a turn for the
    agents every READ_CHUNK rows. Each row is read whole between two turns, so it is consistent."""
    states: dict[str, CaseRouting | None] = {}
    for count, case_id in enumerate(dict.fromkeys(case_ids), 1):
        states[case_id] = gateway.case_state(case_id)
        if count % READ_CHUNK == 0:
            await asyncio.sleep(0)
    return states


def held(gateway: RoutingGateway, specialist_id: str) -> tuple[list[tuple[str, str]], ...]:
    """The (case, step) slots a specialist holds as (offers, open assignments)."""
    offers, assignments = gateway.loads.holding(specialist_id)
    return _slots(offers), _slots(assignments)


def _read_now(gateway: RoutingGateway, slots: list[tuple[str, str]]) -> States:
    return {case_id: gateway.case_state(case_id) for case_id, _ in slots}


def offers_for(*, gateway: RoutingGateway, specialist_id: str) -> list[OfferView]:
    """Open offers this specialist holds, soonest expiry first (read at once: tests, tools)."""
    slots = held(gateway, specialist_id)[0]
    return offer_views(slots, _read_now(gateway, slots), specialist_id, gateway.now())


def assignments_for(*, gateway: RoutingGateway, specialist_id: str) -> list[AssignmentView]:
    """Open assignments of this specialist, earliest deadline first (read at once)."""
    slots = held(gateway, specialist_id)[1]
    return assignment_views(slots, _read_now(gateway, slots), specialist_id)


async def offers_read_in_turns(*, gateway: RoutingGateway, specialist_id: str) -> list[OfferView]:
    """offers_for() for the route: on the event loop, in turns (read_states)."""
    slots = held(gateway, specialist_id)[0]
    states = await read_states(gateway, (c for c, _ in slots))
    return offer_views(slots, states, specialist_id, gateway.now())


async def assignments_read_in_turns(
    *, gateway: RoutingGateway, specialist_id: str,
) -> list[AssignmentView]:
    """assignments_for() for the route: on the event loop, in turns (read_states)."""
    slots = held(gateway, specialist_id)[1]
    return assignment_views(slots, await read_states(gateway, (c for c, _ in slots)),
                            specialist_id)


def offer_views(
    slots: list[tuple[str, str]], states: States, specialist_id: str, now: datetime,
) -> list[OfferView]:
    """Offers this specialist holds among `states` that are open at `now` (the service's
    clock), soonest expiry first."""
    views = []
    for case_id, step_id in slots:
        state = states.get(case_id)
        step = state.steps.get(step_id) if state else None
        if state is None or step is None or step.offer is None:
            continue
        mine = step.offer.specialist_id == specialist_id
        if not mine or is_unpublished(state, step_id, specialist_id):
            continue  # an offer still waiting for its capacity reservation is nobody's yet
        if not step.offer.open_at(now):
            # Left out, not listed as expired: the list is what the specialist can still
            # answer, and it is what the case's tick (due now) leaves; notify's offer_expired
            # webhook tells them it lapsed.
            continue
        views.append(OfferView(
            case_id=case_id, step_id=step_id, team=step.team, urgency=state.urgency,
            offered_at=step.offer.offered_at, expires_at=step.offer.expires_at,
            attempt=step.offer.attempt, relaxed=step.offer.relaxed,
            deadline=step.deadline or state.deadline,
            attachments=attachments_for(state, step),
            missing_records=list(state.context.missing_records) if state.context else [],
            case_view=case_view_path(case_id)))
    return sorted(views, key=lambda v: v.expires_at)


def assignment_views(
    slots: list[tuple[str, str]], states: States, specialist_id: str,
) -> list[AssignmentView]:
    """Open assignments of this specialist among `states`, earliest deadline first."""
    views = []
    for case_id, step_id in slots:
        state = states.get(case_id)
        step = state.steps.get(step_id) if state else None
        if state is None or step is None or step.assignee != specialist_id:
            continue
        views.append(AssignmentView(
            case_id=case_id, step_id=step_id, team=step.team, urgency=state.urgency,
            status=step.status, assigned_at=step.assigned_at,
            deadline=step.deadline or state.deadline,
            attachments=attachments_for(state, step), case_view=case_view_path(case_id),
            report_ref=step.report_ref, report_version=step.report_version))
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(views, key=lambda v: v.deadline or far)


def case_view_path(case_id: str) -> str:
    """Where the reviewer reads the case."""
    return f"/cases/{case_id}/review"


def command_id(
    *, kind: str, specialist_id: str, case_id: str, step_id: str, idempotency_key: str | None,
) -> str:
    """The command's id. Under an Idempotency-Key it is derived from who sends which command
    for which step under that key, so a retry after a timeout is the same command: routing
    remembers the ids it applied and answers a repeat with the first decision, never filing a
    second addendum or team request; the same key with another body is refused (409,
    domain/idempotency.py). Without a key every request is a new attempt."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    return derive_id("specialist-command", kind, specialist_id, case_id, step_id, idempotency_key)


async def decide(
    *, gateway: RoutingGateway, command: Command, repeatable: bool,
) -> CommandResult:
    """Send the command through the agent and turn its decision into an HTTP outcome.

    `repeatable`: sent under an Idempotency-Key, so a repeat is the same command. Without one,
    a command whose ack from Kafka did not come in time may still be written, and a retry would
    be a second command (a second addendum): 504 outcome-unknown naming the command id, as a
    relay answers (services/common/forwarding.py), not 503 "retry"."""
    state = gateway.case_state(command.case_id)
    if not gateway.answers_for(command.case_id) and (
            state is None or not holds_anything(state, command.specialist_id)):
        # Not "no such case": this worker is taking the case over, or its copy is a standby's.
        # A caller its row names (the holder or assignee) is served as before; anyone else gets
        # 503 whether or not a row is here: a 404 for a held row and a 503 for none told a
        # stranger which cases exist (review 22).
        raise taking_over()
    known = answered_here(state, command)
    if known is not None:
        _raise_for(known, command)
    try:
        outcome = await gateway.submit(command)
    except KafkaAckTimeout:
        if repeatable:
            raise
        raise ProblemError(
            504, "Gateway Timeout",
            "Kafka did not confirm the command in time, so it may still be applied. Read the "
            "case before repeating it; a request sent with an Idempotency-Key may be repeated "
            "under the same key", kind="outcome-unknown",
            extra={"case_id": command.case_id, "step_id": command.step_id,
                   "command_id": command.event_id}) from None
    result = CommandResult(status="pending", detail="decision not yet known",
                           case_id=command.case_id, step_id=command.step_id,
                           command_id=command.event_id)
    if outcome is None:
        return result
    _raise_for(outcome, command)
    return result.model_copy(update={"status": "ok", "detail": outcome.detail})


def answered_here(state: CaseRouting | None, command: Command) -> CommandOutcome | None:
    """The agent's answer when this worker's row already decides it, so the command is never
    written: unknown case, or an erased one. A command's text (a report, a decline reason, an
    addendum) may name the patient, and on the compacted commands topic a record written after
    the erasure's tombstone would outlive the erasure. `erased` is set once and never cleared,
    so even a stale row (a standby's, during a rebalance) that says so is right."""
    if state is None:
        return NOT_YOURS  # the agent's answer for strangers, too
    if state.erased:  # as handlers.handle decides it: strangers are told nothing
        return CLOSED if holds_anything(state, command.specialist_id) else NOT_YOURS
    return None


def _raise_for(outcome: CommandOutcome, command: Command) -> None:
    """The HTTP problem for an outcome other than ok; nothing for ok."""
    if outcome.status == "not_found":
        raise ProblemError(404, "Not found", outcome.detail)
    if outcome.status == "reused":  # as intake's referrals: the second body was not read
        raise ProblemError(409, "Idempotency key reused", outcome.detail,
                           kind="idempotency-key-reused")
    if outcome.status == "forbidden":  # an accept by a holder no longer eligible
        raise ProblemError(403, "Forbidden", outcome.detail, kind="not-eligible",
                           extra={"case_id": command.case_id, "step_id": command.step_id})
    if outcome.status == "invalid":
        raise ProblemError(422, "Unprocessable content", outcome.detail, kind="invalid")
    if outcome.status != "ok":  # the domain's reason, when it names one, is the problem type
        kind = outcome.reason.replace("_", "-") if outcome.reason else "conflict"
        raise ProblemError(409, "Conflict", outcome.detail, kind=kind,
                           extra={"case_id": command.case_id, "step_id": command.step_id})
