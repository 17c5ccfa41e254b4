"""ParsedRows: parsed once per change, written behind, never served stale."""

from __future__ import annotations

from services.common.rows import ParsedRows
from services.notify.domain.state import CaseState
from tests.unit.notify.notify_builders import CountingTable


def rows(table: CountingTable, max_cached: int = 10) -> ParsedRows[str, CaseState]:
    return ParsedRows(table, CaseState.from_json, max_cached=max_cached)


def test_a_row_is_parsed_once_and_then_served_from_the_cache() -> None:
    table = CountingTable()
    table["c1"] = CaseState(case_id="c1", revision=3).to_json().encode()
    states = rows(table)
    first, second = states.get("c1"), states.get("c1")
    assert first is second and first is not None and first.revision == 3
    assert states.parses == 1


def test_equal_bytes_in_a_new_object_are_not_parsed_again() -> None:
    table = CountingTable()
    raw = CaseState(case_id="c1").to_json().encode()
    table["c1"] = raw
    states = rows(table)
    states.get("c1")
    table["c1"] = bytes(bytearray(raw))  # e.g. the same value restored from the changelog
    states.get("c1")
    assert states.parses == 1


def test_a_value_replaced_behind_the_cache_is_read_not_served_stale() -> None:
    table = CountingTable()
    states = rows(table)
    states.put("c1", CaseState(case_id="c1", revision=1))
    states.flush()
    table["c1"] = CaseState(case_id="c1", revision=2).to_json().encode()  # a recovery
    state = states.get("c1")
    assert state is not None and state.revision == 2


def test_puts_are_held_until_the_flush_writes_each_changed_row_once() -> None:
    table = CountingTable()
    states = rows(table)
    for revision in (1, 2, 3):
        states.put("c1", CaseState(case_id="c1", revision=revision))
    pending = states.get("c1")
    assert table.writes == 0 and pending is not None and pending.revision == 3
    assert states.flush() == 1 and states.flush() == 0
    assert table.writes == 1 and CaseState.from_json(table["c1"]).revision == 3


def test_an_unchanged_row_is_not_written_again() -> None:
    table = CountingTable()
    states = rows(table)
    states.put("c1", CaseState(case_id="c1"))
    states.flush()
    states.put("c1", CaseState(case_id="c1"))  # equal content, new object
    assert states.flush() == 0 and table.writes == 1
    assert states.get("c1") == CaseState(case_id="c1")


def test_forgetting_a_partition_drops_its_pending_rows_only() -> None:
    table = CountingTable()
    states = rows(table)
    states.put("c1", CaseState(case_id="c1", revision=1), partition=0)
    states.flush()
    states.put("c1", CaseState(case_id="c1", revision=2), partition=0)
    states.put("c2", CaseState(case_id="c2"), partition=1)
    assert states.forget({0}) == 1
    kept = states.get("c1")
    assert kept is not None and kept.revision == 1  # what was written before
    assert states.flush() == 1 and set(table) == {"c1", "c2"}


def test_forgetting_partitions_lets_go_of_the_parsed_models() -> None:
    table = CountingTable()
    states = rows(table)
    states.put("c1", CaseState(case_id="c1", revision=1), partition=0)
    states.flush()
    assert states.cached("c1") is not None
    states.forget(set())  # nothing revoked: the cache stays
    assert states.cached("c1") is not None
    states.forget({1})
    assert states.cached("c1") is None  # no parsed copy outlives a row the table may drop
    kept = states.get("c1")
    assert kept is not None and kept.revision == 1


def test_a_writer_receives_the_partition_of_each_row() -> None:
    written: list[tuple[str, int | None]] = []
    states = ParsedRows(CountingTable(), CaseState.from_json,
                        write=lambda key, raw, partition: written.append((key, partition)))
    states.put("c1", CaseState(case_id="c1"), partition=3)
    states.put("c2", CaseState(case_id="c2"), partition=1)
    states.flush()
    assert written == [("c1", 3), ("c2", 1)]


def test_the_cache_is_bounded_pending_rows_are_never_evicted() -> None:
    table = CountingTable()
    states = rows(table, max_cached=2)
    for case_id in ("a", "b", "c"):
        states.put(case_id, CaseState(case_id=case_id))
    assert states.pending == 3  # not written yet, so kept whatever the bound
    states.flush()
    assert len(states) == 2 and states.cached("a") is None
    state = states.get("a")
    assert state is not None and state.case_id == "a"
    assert states.parses == 1


def test_items_include_pending_rows_and_skip_empty_ones() -> None:
    table = CountingTable()
    table["empty"] = b""
    table["c1"] = CaseState(case_id="c1").to_json().encode()
    states = rows(table)
    states.put("c2", CaseState(case_id="c2"))
    assert states.get("nobody") is None and states.get("empty") is None
    assert sorted(key for key, _ in states.items()) == ["c1", "c2"]


def test_a_pass_over_every_row_leaves_the_cached_rows_in_place() -> None:
    table = CountingTable()
    for case_id in ("hot", "a", "b", "c"):
        table[case_id] = CaseState(case_id=case_id).to_json().encode()
    states = rows(table, max_cached=2)
    states.get("hot")  # a case in motion
    assert sorted(key for key, _ in states.items()) == ["a", "b", "c", "hot"]
    assert states.cached("hot") is not None  # still there for the agents
    assert states.cached("a") is None and states.cached("c") is None  # parsed, not kept
    parses = states.parses
    states.get("hot")
    assert states.parses == parses  # served from the cache


def test_items_skip_the_rows_named_without_parsing_them() -> None:
    table = CountingTable()
    for case_id in ("open", "closed"):
        table[case_id] = CaseState(case_id=case_id).to_json().encode()
    states = rows(table)
    states.put("closed-pending", CaseState(case_id="closed-pending"))
    keys = [key for key, _ in states.items(skip={"closed", "closed-pending"})]
    assert keys == ["open"] and states.parses == 1


def test_a_read_that_does_not_keep_sees_pending_writes_and_caches_nothing() -> None:
    table = CountingTable()
    table["c1"] = CaseState(case_id="c1", revision=2).to_json().encode()
    states = rows(table)
    peeked = states.get("c1", keep=False)
    assert peeked is not None and peeked.revision == 2 and states.cached("c1") is None
    states.put("c1", CaseState(case_id="c1", revision=3))
    pending = states.get("c1", keep=False)
    assert pending is not None and pending.revision == 3
    assert states.get("nobody", keep=False) is None


def test_a_pass_can_read_uncached_rows_with_a_lighter_parser() -> None:
    """The timer's pass reads only part of each row (notify's outlines): rows not cached go
    through the pass's parser; cached and pending ones are served as they are, and nothing the
    pass parsed is kept."""
    seen: list[bytes] = []

    def light(raw: bytes) -> CaseState:
        seen.append(raw)
        return CaseState(case_id="light")

    table = CountingTable()
    for case_id in ("hot", "cold"):
        table[case_id] = CaseState(case_id=case_id).to_json().encode()
    states = rows(table)
    hot = states.get("hot")
    states.put("new", CaseState(case_id="new"))
    found = dict(states.items_as(light))
    assert found["hot"] is hot and found["new"].case_id == "new"
    assert found["cold"].case_id == "light" and seen == [table["cold"]]
    assert states.cached("cold") is None


def test_past_max_pending_every_pending_row_is_written_at_once() -> None:
    table = CountingTable()
    states = ParsedRows(table, CaseState.from_json, max_pending=2)
    for case_id in ("c1", "c2"):
        states.put(case_id, CaseState(case_id=case_id))
    assert states.pending == 2 and not table
    states.put("c3", CaseState(case_id="c3"))
    assert states.pending == 0 and sorted(table) == ["c1", "c2", "c3"]
