"""Cross-case load per specialist: held offers, open assignments, recent assignments, reviews."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, Field

from schemas.envelope import Contract, Event, derive_id

LoadChange = Literal["offered", "offer_closed", "assigned", "completed", "released", "erased",
                     "lapsed"]
RECENT_WINDOW = timedelta(hours=48)  # per-day capacity needs only today's assignments
MAX_REVIEWS = 200  # continuity looks at recent history only


class LoadDelta(Event):
    """One change to one specialist's load; travels on routing.load.v1 keyed by specialist id."""

    event_type: Literal["LoadChanged"] = "LoadChanged"
    specialist_id: str
    step_id: str
    team: str
    change: LoadChange
    patient_pseudonym: str | None = None


class Review(Contract):
    case_id: str
    team: str
    patient_pseudonym: str | None = None


class SpecialistLoad(Contract):
    """What one specialist holds now; applying the same delta twice changes nothing."""

    specialist_id: str
    offers: dict[str, AwareDatetime] = Field(default_factory=dict)  # "case/step" -> offered at
    open: dict[str, AwareDatetime] = Field(default_factory=dict)  # "case/step" -> assigned at
    recent: dict[str, AwareDatetime] = Field(default_factory=dict)  # assignments in 48 h
    last_assigned_at: AwareDatetime | None = None
    reviews: list[Review] = Field(default_factory=list)


def slot_key(case_id: str, step_id: str) -> str:
    """How a load row names one case step's offer or assignment ("case/step")."""
    return f"{case_id}/{step_id}"


def apply_delta(load: SpecialistLoad | None, delta: LoadDelta) -> SpecialistLoad:
    """The load after `delta`; set semantics keep it idempotent."""
    current = load or SpecialistLoad(specialist_id=delta.specialist_id)
    offers, open_, recent = dict(current.offers), dict(current.open), dict(current.recent)
    reviews, last = list(current.reviews), current.last_assigned_at
    slot = slot_key(delta.case_id, delta.step_id)
    if delta.change == "offered":
        # A copy arriving after the slot was accepted (a re-sent reservation from a former
        # case owner) is granted again, but must not count the step twice.
        if slot not in open_:
            offers[slot] = delta.occurred_at
    elif delta.change == "offer_closed":
        offers.pop(slot, None)
    elif delta.change == "lapsed":  # only the hold it was sent for: a new offer stays held
        if offers.get(slot) == delta.occurred_at:
            del offers[slot]
    elif delta.change == "assigned":
        offers.pop(slot, None)
        open_.setdefault(slot, delta.occurred_at)
        recent.setdefault(slot, delta.occurred_at)
        last = max(last, delta.occurred_at) if last else delta.occurred_at
        review = Review(case_id=delta.case_id, team=delta.team,
                        patient_pseudonym=delta.patient_pseudonym)
        if review not in reviews:
            reviews = [*reviews, review][-MAX_REVIEWS:]
    elif delta.change == "erased":  # patient data erased: keep the review, drop the pseudonym
        reviews = [r.model_copy(update={"patient_pseudonym": None})
                   if r.case_id == delta.case_id else r for r in reviews]
    else:  # completed or released: the slot is free again
        offers.pop(slot, None)
        open_.pop(slot, None)
    horizon = delta.occurred_at - RECENT_WINDOW
    recent = {k: v for k, v in recent.items() if v >= horizon}
    return SpecialistLoad(specialist_id=current.specialist_id, offers=offers, open=open_,
                          recent=recent, last_assigned_at=last, reviews=reviews)


def lapsed_offers(load: SpecialistLoad, now: datetime, hold_limit: timedelta) -> list[LoadDelta]:
    """Lapses for the offers `load` has held longer than any offer window allows.

    A case closes its offers itself (expired, declined, accepted). A slot it never closes is
    one its case no longer knows of (a replay now decides as the first time did, see
    ranking.WithoutOwnSlot, but a row lost some other way would leave the same), and the
    specialist would be one case short of capacity for good. Each lapse carries the offer's
    own time (stored again by a new offer of the same slot, which it then leaves alone) and an
    id derived from it, so every sweep, on any worker, sends the same lapse.
    """
    deltas = []
    for slot, offered_at in load.offers.items():
        if now - offered_at >= hold_limit:
            case_id, _, step_id = slot.rpartition("/")  # step ids are team names: no "/"
            deltas.append(LoadDelta(
                event_id=derive_id("offer-lapsed", load.specialist_id, slot,
                                   offered_at.isoformat()),
                case_id=case_id, occurred_at=offered_at, specialist_id=load.specialist_id,
                step_id=step_id, team="", change="lapsed"))
    return deltas


@dataclass(slots=True)  # not frozen: built once per candidate, frozen init is slower
class LoadFigures:
    """The numbers eligibility and ranking use for one specialist at one moment."""

    held: int  # open assignments plus offers awaiting an answer
    new_today: int  # assignments today (specialist's local day) plus offers awaiting an answer
    last_assigned_at: datetime | None
    idle_since: float = float("-inf")  # last assignment as a timestamp; never = idle longest


IDLE = LoadFigures(held=0, new_today=0, last_assigned_at=None)


def day_start(now: datetime, zone: ZoneInfo) -> datetime:
    """Midnight of `now`'s date in `zone`, in UTC: where a specialist's "today" begins."""
    midnight = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(UTC)  # UTC against UTC compares without zone lookups


def figures(load: SpecialistLoad | None, today_starts: datetime) -> LoadFigures:
    """Load figures, counting "today" from `today_starts` (the specialist's local midnight)."""
    if load is None:
        return IDLE
    assigned_today = sum(1 for at in load.recent.values() if at >= today_starts)
    last = load.last_assigned_at
    return LoadFigures(held=len(load.open) + len(load.offers),
                       new_today=assigned_today + len(load.offers),
                       last_assigned_at=last,
                       idle_since=last.timestamp() if last else float("-inf"))


class LoadBook:
    """All specialists' load, with a reverse index of who reviewed which case or patient."""

    def __init__(self, loads: Iterable[SpecialistLoad] = ()) -> None:
        self._loads: dict[str, SpecialistLoad] = {}
        self._by_case: dict[tuple[str, str], set[str]] = {}
        self._by_patient: dict[tuple[str, str], set[str]] = {}
        self._figures: dict[str, tuple[datetime, LoadFigures]] = {}  # decisions read far more
        self._slots: dict[str, dict[tuple[str, str], datetime]] = {}  # case -> (step, who) -> at
        for load in loads:
            self.put(load)

    def get(self, specialist_id: str) -> SpecialistLoad | None:
        """One specialist's load, if they ever held anything."""
        return self._loads.get(specialist_id)

    def figures(self, specialist_id: str, today_starts: datetime) -> LoadFigures:
        """Load figures for one specialist, remembered until their load or day changes."""
        memo = self._figures.get(specialist_id)
        if memo is not None and memo[0] == today_starts:
            return memo[1]
        result = figures(self._loads.get(specialist_id), today_starts)
        self._figures[specialist_id] = (today_starts, result)
        return result

    def put(self, load: SpecialistLoad) -> None:
        """Replace one specialist's load (as restored from the load table)."""
        sid = load.specialist_id
        old = self._loads.get(sid)
        # Most changes (offers, their answers, releases) leave the reviews as they were, the
        # very objects (apply_delta copies the list, not its items): re-indexing up to 200
        # reviews on each was routing's largest cost per load change (issue 13).
        reindex = old is None or not _same_items(old.reviews, load.reviews)
        for review in old.reviews if old and reindex else ():
            self._by_case.get((review.case_id, review.team), set()).discard(sid)
            if review.patient_pseudonym:
                self._by_patient.get((review.patient_pseudonym, review.team), set()).discard(sid)
        for case_id, step_id, _ in _slots(old):
            case_slots = self._slots.get(case_id, {})
            case_slots.pop((step_id, sid), None)
            if not case_slots:
                self._slots.pop(case_id, None)
        self._loads[sid] = load
        self._figures.pop(sid, None)
        for case_id, step_id, at in _slots(load):
            self._slots.setdefault(case_id, {})[(step_id, sid)] = at
        for review in load.reviews if reindex else ():
            self._by_case.setdefault((review.case_id, review.team), set()).add(sid)
            if review.patient_pseudonym:
                self._by_patient.setdefault((review.patient_pseudonym, review.team), set()).add(sid)

    def apply(self, delta: LoadDelta) -> SpecialistLoad:
        """Apply one delta and return the specialist's new load."""
        load = apply_delta(self._loads.get(delta.specialist_id), delta)
        self.put(load)
        return load

    def reviewers(self, team: str, case_ids: Iterable[str], pseudonym: str | None) -> set[str]:
        """Who reviewed any of these cases, or this patient, for `team`: continuity candidates."""
        found: set[str] = set()
        for case_id in case_ids:
            found |= self._by_case.get((case_id, team), set())
        if pseudonym:
            found |= self._by_patient.get((pseudonym, team), set())
        return found

    def slots_of(self, case_id: str) -> dict[tuple[str, str], datetime]:
        """The slots load rows hold for one case: (step, specialist) -> offered or assigned at."""
        return dict(self._slots.get(case_id, {}))

    def __iter__(self) -> Iterator[SpecialistLoad]:
        return iter(list(self._loads.values()))

    def holding(self, specialist_id: str) -> tuple[list[str], list[str]]:
        """The "case/step" slots a specialist holds as (offers, open assignments)."""
        load = self._loads.get(specialist_id)
        return (sorted(load.offers), sorted(load.open)) if load else ([], [])


def _same_items(old: list[Review], new: list[Review]) -> bool:
    """The same review objects in the same order (identity: an equality check costs as much as
    the re-indexing it would save)."""
    return len(old) == len(new) and all(a is b for a, b in zip(old, new, strict=True))


def _slots(load: SpecialistLoad | None) -> Iterator[tuple[str, str, datetime]]:
    """(case, step, since) for each offer and open assignment a load row holds."""
    if load is None:
        return
    for slot, at in (*load.offers.items(), *load.open.items()):
        case_id, _, step_id = slot.rpartition("/")
        yield case_id, step_id, at


def first_decision_time(
    offered_to: Iterable[str], slots: dict[tuple[str, str], datetime], now: datetime,
    hold_limit: timedelta,
) -> datetime:
    """The clock a case input is decided with: `now`, or the first decision's time on a replay.

    Load rows are written before the case row, so a crash between them brings the input again
    with slots the case row does not know: held by specialists it never asked (`offered_to`
    names everyone a case was ever offered or assigned to). Those slots carry the first
    decision's clock. Deciding with a later one could cross a working-hours or on-call
    boundary and choose someone else under the same derived ids, which consumers drop as
    repeats. Slots older than `hold_limit` are left to lapse and do not set the clock.
    """
    asked = set(offered_to)
    first = [at for (_, who), at in slots.items()
             if who not in asked and now - hold_limit <= at <= now]
    return min(first, default=now)
