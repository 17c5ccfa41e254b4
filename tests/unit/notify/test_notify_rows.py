"""ParsedRows: parsed once per change, written only when the bytes change, never stale."""

from __future__ import annotations

from services.notify.domain.state import CaseState
from services.notify.rows import ParsedRows
from tests.unit.notify.notify_builders import CountingTable


def rows(table: CountingTable, max_cached: int = 10) -> ParsedRows[CaseState]:
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
    table["c1"] = CaseState(case_id="c1", revision=2).to_json().encode()  # a recovery
    state = states.get("c1")
    assert state is not None and state.revision == 2


def test_put_writes_only_changed_bytes() -> None:
    table = CountingTable()
    states = rows(table)
    assert states.put("c1", CaseState(case_id="c1")) is True
    assert states.put("c1", CaseState(case_id="c1")) is False  # equal content, new object
    assert states.put("c1", CaseState(case_id="c1", closed=True)) is True
    assert table.writes == 2
    assert CaseState.from_json(table["c1"]).closed is True


def test_the_cache_is_bounded_and_an_evicted_row_still_reads() -> None:
    table = CountingTable()
    states = rows(table, max_cached=2)
    for case_id in ("a", "b", "c"):
        states.put(case_id, CaseState(case_id=case_id))
    assert len(states) == 2 and states.cached("a") is None
    state = states.get("a")
    assert state is not None and state.case_id == "a"
    assert states.parses == 1


def test_missing_and_empty_rows_read_as_none_and_items_skip_them() -> None:
    table = CountingTable()
    table["empty"] = b""
    states = rows(table)
    states.put("c1", CaseState(case_id="c1"))
    assert states.get("nobody") is None and states.get("empty") is None
    assert [key for key, _ in states.items()] == ["c1"]
