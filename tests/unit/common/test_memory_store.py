"""A worker's tables forget every row of a partition it lost, rows it wrote itself included
(services/common/memory_store.py): faust's memory store forgot only rows learnt in recovery."""

from __future__ import annotations

import weakref
from types import SimpleNamespace
from typing import Any

import faust
from faust.stores.memory import Store as FaustMemoryStore
from faust.streams import _current_event
from faust.types import TP
from prometheus_client import REGISTRY

from services.common.faust_app import make_app, table_writer
from services.common.memory_store import Store


def rows_table(app: faust.App, name: str) -> Any:
    table: Any = app.Table(name, default=None, key_type=str, value_type=bytes, partitions=4)
    table.send_changelog = lambda *args, **kwargs: None  # no broker here: the rows are the point
    return table


async def keep_only(table: Any, partition: int) -> None:
    """faust's end of a rebalance: recovery completed with one active changelog partition."""
    await table.on_recovery_completed({TP(table.changelog_topic.get_topic_name(), partition)},
                                      set())


def rows_gauge(table: str) -> float | None:
    return REGISTRY.get_sample_value("spine_table_rows", {"table": table})


class Handling:
    """The event an agent is handling (faust keeps a weak reference to it)."""

    def __init__(self, partition: int) -> None:
        self.message = SimpleNamespace(partition=partition)


def assigned_inside(table: Any, key: str, value: bytes, partition: int) -> None:
    """`table[key] = value` as an agent does it, while handling an event of `partition`."""
    event = Handling(partition)
    token = _current_event.set(weakref.ref(event))  # type: ignore[arg-type]
    try:
        table.data[key] = value  # the store's side of faust's assignment (no changelog here)
    finally:
        _current_event.reset(token)


async def test_rows_written_by_the_worker_go_with_their_partition() -> None:
    table = rows_table(make_app("store-test"), "rows")
    assert isinstance(table.data, Store)
    write = table_writer(table)
    write("kept", b"0", 0)
    write("moved", b"1", 1)
    assigned_inside(table, "moved-too", b"2", 1)
    assigned_inside(table, "kept-too", b"3", 0)
    assert rows_gauge("rows") == 4
    await keep_only(table, 0)
    assert dict(table.items()) == {"kept": b"0", "kept-too": b"3"}
    assert rows_gauge("rows") == 2  # the gauge ops size workers by


async def test_a_row_deleted_is_forgotten_with_its_partition() -> None:
    table = rows_table(make_app("store-test"), "deleted")
    table_writer(table)("gone", b"x", 1)
    table.data.pop("gone")
    assert table.data._key_partition == {}


async def test_faust_own_memory_store_keeps_them() -> None:
    """Why the store exists: faust's forgets only rows that came through recovery (if this
    fails, faust has fixed it and services/common/memory_store.py can go)."""
    table = rows_table(make_app("store-test"), "faust-own")
    table._data = FaustMemoryStore("memory://", table.app, table, table_name=table.name,
                                   key_type=str, value_type=bytes)
    table.data["moved"] = b"1"
    await keep_only(table, 0)
    assert dict(table.items()) == {"moved": b"1"}
