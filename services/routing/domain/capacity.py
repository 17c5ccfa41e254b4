"""Capacity reservations: the owner of a specialist's load partition decides each one, in order.

Two routing workers may pick the same specialist at once from views that lag each other. A
reservation is the "offered" load change on routing.load.v1, keyed by specialist id: one
partition, one owner, one order. The owner grants it only if the authoritative load (its table,
restored from the changelog on takeover) still has room, and answers the case's owner, who
publishes the offer only once granted (services/routing/reservations.py).
"""

from __future__ import annotations

from datetime import datetime

from schemas.envelope import derive_id
from schemas.routing import CapacityDecided
from services.routing.domain.directory import Profile
from services.routing.domain.eligibility import AT_DAILY_CAPACITY, AT_OPEN_CAPACITY
from services.routing.domain.load import LoadDelta, SpecialistLoad, day_start, figures, slot_key

NOT_IN_DIRECTORY = "not_in_directory"
# The specialist's load row cannot be read (say, written by a later release): refusing moves the
# case to the next candidate; an exception would have dead-lettered the case input itself.
LOAD_UNREADABLE = "load_unreadable"


def refusal(load: SpecialistLoad | None, delta: LoadDelta, profile: Profile | None) -> str | None:
    """Why the reservation `delta` cannot be held (None: grant it). Deterministic in its inputs,
    so a replay after a takeover decides the same."""
    slot = slot_key(delta.case_id, delta.step_id)
    if load is not None and (slot in load.offers or slot in load.open):
        return None  # already held: a redelivered reservation is granted again
    if profile is None:
        return NOT_IN_DIRECTORY
    # The request's own time, not the wall clock: the same request always sees the same day.
    now = figures(load, day_start(delta.occurred_at, profile.zone))
    if now.held >= profile.max_open:
        return AT_OPEN_CAPACITY
    if now.new_today >= profile.max_new_per_day:
        return AT_DAILY_CAPACITY
    return None


def decision(delta: LoadDelta, reason: str | None, *, at: datetime) -> CapacityDecided:
    """The answer to the case's owner, stamped `at` (when it was decided); its id derives from
    the reservation's.

    The case decides the answer at its stamp (commands carry their clock), and a refusal offers
    the next candidate then. Stamped with the reservation's own time, a refusal that came late
    (a load owner down or lagging, asked again every few minutes) offered the next candidate
    back-dated to the first offer: an offer window of 4 h left them minutes. A redelivered
    reservation is answered again with a later stamp but the same id, which the case drops.
    """
    return CapacityDecided(
        event_id=derive_id("capacity-decided", delta.event_id), case_id=delta.case_id,
        occurred_at=at, reservation_id=delta.event_id, step_id=delta.step_id,
        specialist_id=delta.specialist_id, team=delta.team, granted=reason is None,
        reason=reason or "",
    )
