"""Offers wait for their capacity reservation: held in the case row until the load owner grants.

The domain decides an offer and its "offered" load change (the reservation) as before. Here the
AssignmentOffered is kept back in `CaseRouting.held_offers` while the reservation travels to the
owner of the specialist's load partition. Granted: the offer is published. Refused: the domain
withdraws the never-published offer and picks the next candidate (which is reserved in turn).
An offer withdrawn while still held (timeout, re-triage, cancellation) was never seen by anyone,
so its OfferExpired is not published either; its "offer_closed" load change still goes out and
frees whatever the owner granted meanwhile.

An unanswered reservation is sent again on the case's tick, each wait twice the last (30 s up
to 5 min), and the time of each ask is kept in `CaseRouting.held_asked_at`: every retry is due
later than the one before, so its tick has a new id. The held offer's own `expires_at` is
decided by the same ticks like any offer's, whether or not an answer ever comes.
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
    OfferExpiryChanged,
    ReviewDeadlineChanged,
    RoutingStopped,
)
from services.routing.domain.handlers import RoutingResult
from services.routing.domain.load import LoadDelta
from services.routing.domain.state import CaseRouting, CommandOutcome

NOT_YOURS = CommandOutcome(status="conflict", detail="you hold no offer on this step")
# An answer lost in a crash must not park the case until the offer times out (hours): after
# this long the reservation is sent again, same id, and its owner answers it again.
RESERVATION_RETRY = timedelta(seconds=30)
# An owner that still does not answer (down for long, or its copy of the delta dead-lettered)
# is asked less and less often: a window of hours costs tens of re-sends, not thousands. The
# offer's own expiry does not wait for any of this (next_due).
RESERVATION_RETRY_MAX = timedelta(minutes=5)


def _held(state: CaseRouting) -> dict[tuple[str, str], str]:
    """(step id, specialist id) -> reservation id of every held offer."""
    found = {}
    for reservation_id, raw in state.held_offers.items():
        offer = AssignmentOffered.model_validate_json(raw)
        found[(offer.step_id, offer.specialist_id)] = reservation_id
    return found


def _next_ask(offered_at: datetime, asked_at: datetime) -> datetime:
    """When a held reservation last sent at `asked_at` is sent again: the wait since the offer,
    at least RESERVATION_RETRY, at most RESERVATION_RETRY_MAX (so each wait doubles)."""
    return asked_at + min(max(asked_at - offered_at, RESERVATION_RETRY), RESERVATION_RETRY_MAX)


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
                state.held_asked_at.pop(reservation_id, None)
                continue
        if isinstance(event, AssignmentOffered):
            reservation_id = reservations[(event.step_id, event.specialist_id)]
            state.held_offers[reservation_id] = event.model_dump_json()
            continue
        kept.append(event)
    result.events = kept


def name_only_the_told(before: CaseRouting | None, result: RoutingResult) -> None:
    """Name no specialist whose hold on a step is an offer still waiting for its reservation:
    nobody told them of it. In RoutingStopped notify sent them a "case withdrawn" notice, with
    the referrer's reason, for a case they never heard of; in ReviewDeadlineChanged, a new
    deadline for it; an OfferExpiryChanged would tell them of the offer itself (the offer,
    once published, carries the deadline and expiry as they then stand: on_granted)."""
    held = set(_held(before)) if before is not None and before.held_offers else set()
    held |= set(_held(result.state)) if result.state.held_offers else set()
    if not held or not any(isinstance(e, RoutingStopped | ReviewDeadlineChanged
                                      | OfferExpiryChanged) for e in result.events):
        return
    told = set()
    if before is not None:
        told = {step.offer.specialist_id for sid, step in before.steps.items()
                if step.offer is not None and (sid, step.offer.specialist_id) not in held}
        told |= {step.assignee for step in before.steps.values()
                 if step.assignee and step.status == "assigned"}
    events: list[Event] = []
    for e in result.events:
        if isinstance(e, RoutingStopped):
            e = e.model_copy(update={"specialist_ids": [s for s in e.specialist_ids
                                                        if s in told]})
        elif isinstance(e, ReviewDeadlineChanged) and (e.step_id, e.specialist_id) in held:
            e = e.model_copy(update={"specialist_id": None})
        elif isinstance(e, OfferExpiryChanged) and (e.step_id, e.specialist_id) in held:
            continue
        events.append(e)
    result.events = events


def refuses_unseen_offer(state: CaseRouting | None, command: Event) -> CommandOutcome | None:
    """A specialist cannot accept or decline an offer that was never published to them."""
    if state is None or not state.held_offers or not isinstance(command,
                                                                 AcceptOffer | DeclineOffer):
        return None
    return NOT_YOURS if (command.step_id, command.specialist_id) in _held(state) else None


def on_granted(state: CaseRouting, decided: CapacityDecided) -> RoutingResult:
    """Publish the held offer as the case now stands; a grant for an offer no longer held is
    released again, and one that comes after the offer's expiry publishes nothing (the tick
    withdraws the offer and frees the slot)."""
    # Only `applied` and the held offers change here: copy those, share the rest (a deep
    # copy of the whole case was ~10 % of routing's CPU in the pipeline, issue 13).
    step = state.steps.get(decided.step_id)
    offer = step.offer if step is not None else None
    if offer is not None and offer.specialist_id != decided.specialist_id:
        offer = None
    if offer is not None and not offer.open_at(decided.occurred_at) and is_held(state, decided):
        return RoutingResult(state.model_copy(
            update={"applied": [*state.applied, decided.event_id]}), [], [])
    held = dict(state.held_offers)
    raw = held.pop(decided.reservation_id, None)
    asked = {rid: at for rid, at in state.held_asked_at.items() if rid in held}
    work = state.model_copy(update={"applied": [*state.applied, decided.event_id],
                                    "held_offers": held, "held_asked_at": asked})
    if raw is not None and state.status == "open":
        published = AssignmentOffered.model_validate_json(raw)
        # Published when granted: the specialist hears of it now, and notify's acceptance clock
        # starts at the event's time (an offer held for hours breached as it arrived). The id
        # stays the one decided, so a repeat is still one offer.
        published = published.model_copy(
            update={"occurred_at": max(published.occurred_at, decided.occurred_at)})
        if step is not None and offer is not None:
            # A re-triage while it waited raised the urgency, brought the deadline forward and
            # cut the offer's window in the row: the held copy still said what it was decided as.
            published = published.model_copy(update={
                "urgency": state.urgency, "deadline": step.deadline or state.deadline,
                "offer_expires_at": offer.expires_at})
        return RoutingResult(work, [published], [])
    # A case cancelled or erased while its offer waited: nobody is offered a stopped case, and
    # the capacity granted meanwhile is given back.
    step = work.steps.get(decided.step_id)
    if raw is None and step is not None and step.offer is not None \
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
    """When the case next needs a tick: offers and retries due, or a reservation to ask again.

    Each ask moves its next one later (`_next_ask`), so successive dues differ and so do their
    ticks' derived ids; the earliest offer expiry is always among the candidates.
    """
    due = state.next_due()
    if state.held_offers and state.status == "open":
        retry = min(_next_ask(offer.occurred_at, state.held_asked_at.get(rid, offer.occurred_at))
                    for rid, offer in _held_items(state))
        due = min(due, retry) if due else retry
    return due


def ask_again(state: CaseRouting, now: datetime) -> list[LoadDelta]:
    """The held reservations due to be sent again at `now` (same id, so the owner's answer
    does not change); their ask time is recorded in `state`, which the caller then stores.

    Called for a tick that was applied, never for a redelivered one: a repeated tick asks
    nothing and leaves the schedule as it was.
    """
    if state.status != "open":
        return []
    pseudonym = state.context.patient_pseudonym if state.context else None
    asked = {rid: at for rid, at in state.held_asked_at.items() if rid in state.held_offers}
    again = []
    for reservation_id, offer in _held_items(state):
        if now < _next_ask(offer.occurred_at, asked.get(reservation_id, offer.occurred_at)):
            continue
        asked[reservation_id] = now
        again.append(LoadDelta(
            event_id=reservation_id, case_id=state.case_id, occurred_at=offer.occurred_at,
            specialist_id=offer.specialist_id, step_id=offer.step_id, team=offer.team,
            change="offered", patient_pseudonym=pseudonym))
    state.held_asked_at = asked  # a new dict: the input's may be shared (on_granted's copy)
    return again


def _held_items(state: CaseRouting) -> list[tuple[str, AssignmentOffered]]:
    return [(rid, AssignmentOffered.model_validate_json(raw))
            for rid, raw in state.held_offers.items()]
