"""faust's in-memory table store, forgetting every row of a partition this worker lost.

faust's memory store drops the rows of partitions a worker no longer owns when recovery
completes, but only rows it learnt through recovery: it records a row's partition only there.
Rows the worker wrote itself (every row written since it started) stayed after their partition
moved to another worker: patient data the new owner's erasure never reaches, memory that grew
with every rebalance, and stale copies next to the owner's. This store records the partition
of every row written (the event's for a table assignment, the given one for `put`), so faust's
own pass drops them too. Registered in place of faust's `memory://` (services/common/
faust_app.py); `FAUST_STORE=rocksdb://` keeps a database per partition and needs none of this.
"""

from __future__ import annotations

from typing import Any

from faust import current_event
from faust.stores import STORES
from faust.stores.memory import Store as FaustMemoryStore

from services.common.metrics import TABLE_ROWS


class Store(FaustMemoryStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rows = self.data  # counted when scraped: what a worker holds, by table
        TABLE_ROWS.labels(self.table_name).set_function(lambda: len(rows))

    def __setitem__(self, key: Any, value: Any) -> None:
        self.data[key] = value
        event = current_event()  # a table assignment writes to the event's partition
        if event is not None:
            self._key_partition[key] = event.message.partition

    def __delitem__(self, key: Any) -> None:
        del self.data[key]
        self._key_partition.pop(key, None)

    def put(self, key: Any, value: Any, partition: int | None) -> None:
        """A row written to the changelog partition given (services.common.faust_app's
        table_writer), whatever event is being handled; None: the event's, as faust does."""
        if partition is None:
            self[key] = value
        else:
            self.data[key] = value
            self._key_partition[key] = partition


def use_memory_store() -> None:
    """`memory://` tables get this store (faust's registry of store schemes)."""
    STORES.aliases["memory"] = f"{__name__}:Store"
