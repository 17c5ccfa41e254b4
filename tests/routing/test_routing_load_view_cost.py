"""The load view's cost per change (issue 13): a worker's own rows coming back on the changelog
are not parsed again, and a change that leaves the reviews alone does not re-index them; the
view still ends as the last record read says."""

from __future__ import annotations

from datetime import timedelta

from services.routing.domain.load import LoadBook, LoadDelta, SpecialistLoad, apply_delta
from services.routing.processor import RoutingProcessor
from tests.routing.fakes import Clock, make_processor
from tests.unit.routing.builders import NOW


def delta(n: int, change: str, case: str | None = None, who: str = "s1") -> LoadDelta:
    return LoadDelta(event_id=f"e{n}{change}", case_id=case or f"c{n}",
                     occurred_at=NOW + timedelta(seconds=n), specialist_id=who,
                     step_id="pain_medicine", team="pain_medicine", change=change,  # type: ignore[arg-type]
                     patient_pseudonym=f"p{n}")


def reviewed(n: int) -> SpecialistLoad:
    load = SpecialistLoad(specialist_id="s1")
    for i in range(n):
        load = apply_delta(apply_delta(load, delta(i, "assigned")), delta(i, "completed"))
    return load


def owner() -> RoutingProcessor:
    worker, _, _ = make_processor(Clock(NOW), reserve_here=lambda specialist_id: True)
    return worker


def test_an_own_row_read_back_is_neither_parsed_nor_applied_again() -> None:
    worker = owner()
    worker._put_load(b"s1", reviewed(3))
    held = worker.loads.get("s1")
    parses = worker.load_rows.cache.parses
    worker.on_load_snapshot(b"s1", bytes(worker.loads_table[b"s1"]))  # a copy of the bytes
    assert worker.load_rows.cache.parses == parses
    assert worker.loads.get("s1") is held


def test_another_writers_row_replaces_the_view_and_ours_then_restores_it() -> None:
    worker = owner()
    ours = reviewed(2)
    worker._put_load(b"s1", ours)
    theirs = apply_delta(ours, delta(9, "offered"))  # an older owner's record, read late
    worker.on_load_snapshot(b"s1", theirs.model_dump_json().encode())
    assert worker.loads.get("s1") == theirs
    assert worker.loads.holding("s1")[0] == ["c9/pain_medicine"]
    # Our own record then comes back: the view must follow it, not skip it as already held.
    worker.on_load_snapshot(b"s1", bytes(worker.loads_table[b"s1"]))
    assert worker.loads.get("s1") == ours and worker.loads.holding("s1") == ([], [])


def test_the_reviewer_index_follows_every_kind_of_change() -> None:
    book = LoadBook()
    load = reviewed(3)
    book.put(load)
    assert book.reviewers("pain_medicine", ["c1"], None) == {"s1"}
    load = apply_delta(load, delta(7, "offered"))  # same review objects: not re-indexed
    book.put(load)
    assert book.reviewers("pain_medicine", ["c0", "c2"], "p1") == {"s1"}
    assert book.slots_of("c7") == {("pain_medicine", "s1"): NOW + timedelta(seconds=7)}
    load = apply_delta(load, delta(1, "erased", case="c1"))  # new review objects: re-indexed
    book.put(load)
    assert book.reviewers("pain_medicine", [], "p1") == set()
    assert book.reviewers("pain_medicine", ["c1"], None) == {"s1"}
    parsed = SpecialistLoad.model_validate_json(load.model_dump_json())  # equal, not identical
    book.put(apply_delta(parsed, delta(8, "assigned")))
    assert book.reviewers("pain_medicine", ["c8"], "p8") == {"s1"}
    assert book.reviewers("pain_medicine", ["c0"], "p0") == {"s1"}
    book.put(SpecialistLoad(specialist_id="s1"))
    assert book.reviewers("pain_medicine", ["c0", "c8"], "p8") == set()
