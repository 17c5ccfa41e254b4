"""Offers wait for their capacity reservation: held in the case row until the load owner grants.

The domain decides an offer and its "offered" load change (the reservation) as before. Here the
AssignmentOffered is kept back in `CaseRouting.held_offers` while the reservation travels to the
owner of the specialist's load partition. Granted: the offer is published. Refused: the domain
withdraws the never-published offer and picks the next candidate (which is reserved in turn).
An offer withdrawn while still held (timeout, re-triage, cancellation) was never seen by anyone,
so its OfferExpired is not published either; its "offer_closed" load change still goes out and
frees whatever the owner granted meanwhile.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas.envelope import Event, derive_id
from schemas.routing import (
    AcceptOffer,
    AssignmentOffered,
    CapacityDecided,
    DeclineOffer,
    OfferExpired,
)
from services.routing.domain.handlers import RoutingResult
from services.routing.domain.load import LoadDelta
from services.routing.domain.state import CaseRouting, CommandOutcome

NOT_YOURS = CommandOutcome(status="conflict", detail="you hold no offer on this step")
# An answer lost in a crash must not park the case until the offer times out (hours): after
# this long the reservation is sent again, same id, and its owner answers it again.
RESERVATION_RETRY = timedelta(seconds=30)


def _held(state: CaseRouting) -> dict[tuple[str, str], str]:
    """(step id, specialist id) -> reservation id of every held offer."""
    found = {}
    for reservation_id, raw in state.held_offers.items():
        offer = AssignmentOffered.model_validate_json(raw)
        found[(offer.step_id, offer.specialist_id)] = reservation_id
    return found


def hold_offers(result: RoutingResult) -> None:
    """Keep new offers back until granted; drop the expiries of offers nobody saw."""
    if not any(isinstance(e, AssignmentOffered | OfferExpired) for e in result.events):
        return
    state = result.state
    reservations = {(d.step_id, d.specialist_id): d.event_id
                    for d in result.load_deltas if d.change == "offered"}
    kept: list[Event] = []
    for event in result.events:
        if isinstance(event, OfferExpired):
            reservation_id = _held(state).get((event.step_id, event.specialist_id))
            if reservation_id is not None:
                del state.held_offers[reservation_id]
                continue
        if isinstance(event, AssignmentOffered):
            reservation_id = reservations[(event.step_id, event.specialist_id)]
            state.held_offers[reservation_id] = event.model_dump_json()
            continue
        kept.append(event)
    result.events = kept


def refuses_unseen_offer(state: CaseRouting | None, command: Event) -> CommandOutcome | None:
    """A specialist cannot accept or decline an offer that was never published to them."""
    if state is None or not state.held_offers or not isinstance(command,
                                                                 AcceptOffer | DeclineOffer):
        return None
    return NOT_YOURS if (command.step_id, command.specialist_id) in _held(state) else None


def on_granted(state: CaseRouting, decided: CapacityDecided) -> RoutingResult:
    """Publish the held offer; a grant for an offer no longer held is released again."""
    # Only `applied` and `held_offers` change here: copy those two, share the rest (a deep
    # copy of the whole case was ~10 % of routing's CPU in the pipeline, issue 13).
    held = dict(state.held_offers)
    raw = held.pop(decided.reservation_id, None)
    work = state.model_copy(update={"applied": [*state.applied, decided.event_id],
                                    "held_offers": held})
    if raw is not None:
        return RoutingResult(work, [AssignmentOffered.model_validate_json(raw)], [])
    step = work.steps.get(decided.step_id)
    if step is not None and step.offer is not None \
            and step.offer.specialist_id == decided.specialist_id:
        return RoutingResult(work, [], [])  # published already (a redelivered grant)
    release = LoadDelta(
        event_id=derive_id("capacity-released", decided.event_id), case_id=decided.case_id,
        occurred_at=decided.occurred_at, specialist_id=decided.specialist_id,
        step_id=decided.step_id, team=decided.team, change="offer_closed",
    )
    return RoutingResult(work, [], [release])


def is_unpublished(state: CaseRouting, step_id: str, specialist_id: str) -> bool:
    """True while this specialist's offer on the step waits for its reservation."""
    return bool(state.held_offers) and (step_id, specialist_id) in _held(state)


def is_held(state: CaseRouting | None, decided: CapacityDecided) -> bool:
    """True while the reservation's offer still waits in the case row."""
    return state is not None and decided.reservation_id in state.held_offers


def next_due(state: CaseRouting) -> datetime | None:
    """When the case next needs a tick: offers and retries due, or a reservation to ask again."""
    due = state.next_due()
    if state.held_offers and state.status == "open":
        oldest = min(AssignmentOffered.model_validate_json(raw).occurred_at
                     for raw in state.held_offers.values())
        retry = oldest + RESERVATION_RETRY
        due = min(due, retry) if due else retry
    return due


def unanswered(state: CaseRouting, now: datetime) -> list[LoadDelta]:
    """Reservations waiting longer than RESERVATION_RETRY, to be sent again with the same id."""
    pseudonym = state.context.patient_pseudonym if state.context else None
    again = []
    for reservation_id, raw in state.held_offers.items():
        offer = AssignmentOffered.model_validate_json(raw)
        if now - offer.occurred_at >= RESERVATION_RETRY:
            again.append(LoadDelta(
                event_id=reservation_id, case_id=state.case_id, occurred_at=offer.occurred_at,
                specialist_id=offer.specialist_id, step_id=offer.step_id, team=offer.team,
                change="offered", patient_pseudonym=pseudonym))
    return again
