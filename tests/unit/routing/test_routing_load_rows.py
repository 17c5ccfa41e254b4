"""Specialist load rows are parsed once per change, never served stale
(services/routing/load_rows.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.routing.domain.load import SpecialistLoad
from services.routing.load_rows import LoadRows

AT = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def load(specialist_id: str, *slots: str) -> SpecialistLoad:
    return SpecialistLoad(specialist_id=specialist_id, offers=dict.fromkeys(slots, AT))


def test_a_row_is_parsed_once_until_it_changes() -> None:
    table: dict[bytes, bytes] = {b"s1": load("s1", "c1/neuro").model_dump_json().encode()}
    rows = LoadRows(table, table.__setitem__)
    first = rows.get(b"s1")
    assert first is not None and rows.get(b"s1") is first and rows.cache.parses == 1
    assert rows.get(b"nobody") is None


def test_a_row_replaced_behind_its_back_is_parsed_again() -> None:
    table: dict[bytes, bytes] = {}
    rows = LoadRows(table, table.__setitem__)
    rows.put(b"s1", load("s1", "c1/neuro"))
    assert rows.get(b"s1") == load("s1", "c1/neuro") and rows.cache.parses == 0  # what it wrote
    table[b"s1"] = load("s1", "c2/pain").model_dump_json().encode()  # recovery, a rebalance
    assert rows.get(b"s1") == load("s1", "c2/pain") and rows.cache.parses == 1
    del table[b"s1"]
    assert rows.get(b"s1") is None


def test_writes_go_through_the_writer_at_once() -> None:
    written: list[tuple[bytes, bytes]] = []
    table: dict[bytes, bytes] = {}
    rows = LoadRows(table, lambda key, raw: written.append((key, raw)))
    rows.put(b"s1", load("s1", "c1/neuro"))
    assert written == [(b"s1", load("s1", "c1/neuro").model_dump_json().encode())]


def test_the_cache_is_capped_and_an_evicted_row_is_read_again() -> None:
    table = {f"s{i}".encode(): load(f"s{i}").model_dump_json().encode() for i in range(3)}
    rows = LoadRows(table, table.__setitem__, max_cached=2)
    for key in (b"s0", b"s1", b"s2"):
        rows.get(key)
    assert len(rows.cache) == 2 and rows.cache.parses == 3
    rows.get(b"s0")  # the oldest went first
    assert rows.cache.parses == 4
