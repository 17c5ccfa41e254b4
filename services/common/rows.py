"""A table of JSON rows, parsed once per change and written behind: at most once per commit.

The faust table stays the durable copy. Reads compare a clean row's current bytes with the
bytes its cached model was parsed from (identity, then equality), so a value replaced behind
our back (changelog recovery, a rebalance) is parsed again rather than served stale.

Writes are held as pending models and reach the table, and so its changelog, when `flush()`
runs: each is serialised once there, and skipped if its JSON equals the table's.
The worker flushes just before faust commits input offsets (and faust flushes the producer
between the two), so every committed input still has its rows in the changelog; a crash loses
only rows whose inputs are not committed and are therefore consumed and applied again. Several
events of one case between two commits cost one changelog message instead of one each.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterator, MutableMapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from services.common.parse_cache import ParseCache

K = TypeVar("K", bound=Hashable)  # notify's tables are keyed by str, routing's by bytes
M = TypeVar("M", bound=BaseModel)
N = TypeVar("N", bound=BaseModel)
Writer = Callable[[Any, bytes, int | None], None]  # key, JSON, partition of the input

# A parsed case summary takes ~18 KB and a case state ~6 KB (JSON: ~2.8 KB and ~1.1 KB), so the
# cache holds the cases in motion, not every case a worker has ever seen: 256 of each is ~6 MB.
# 4096 could hold ~100 MB; in the pipeline bench (1,200 cases) notify peaked at 150 MB with 1024
# and 142 MB with 256 (issue 13: 150 MB per service). A case's events arrive within seconds of
# each other; one that fell out of the cache is parsed again from its row (~0.1 ms).
DEFAULT_MAX_CACHED = 256


class ParsedRows(Generic[K, M]):
    """get/put models by key over a bytes table; parsed at most once per change, written behind."""

    def __init__(
        self, table: MutableMapping[K, bytes], parse: Callable[[bytes], M], *,
        write: Writer | None = None, max_cached: int = DEFAULT_MAX_CACHED,
        max_pending: int | None = None,
    ) -> None:
        self.table = table
        self._parse = parse
        self._write = write or self._assign
        self._cache: ParseCache[K, M] = ParseCache(max_cached)
        self._max_pending = max_pending  # past this many pending rows, write them all now
        self._dirty: dict[K, tuple[M, int | None]] = {}  # never evicted

    def get(self, key: K, *, keep: bool = True) -> M | None:
        """The row's model (a pending write included), or None if there is no row. With
        keep=False a row parsed here is not cached: for passes over many rows."""
        dirty = self._dirty.get(key)
        if dirty is not None:
            return dirty[0]
        raw = self.table.get(key)
        if not raw:
            return None
        if keep:
            return self._cache.parsed(key, raw, self._parse)
        return self._cache.peek(key, raw, self._parse)

    def put(self, key: K, model: M, partition: int | None = None) -> None:
        """Hold the model for the next flush, which serialises it once however often it changed."""
        self._dirty[key] = (model, partition)
        self._cache.drop(key)
        if self._max_pending is not None and len(self._dirty) > self._max_pending:
            self.flush()  # earlier than the commit: harmless, and the held models stay few

    def delete(self, key: K) -> None:
        """Remove the row now (erasure); a pending write of it is dropped, never flushed."""
        self._dirty.pop(key, None)
        self._cache.drop(key)
        self.table.pop(key, None)

    def flush(self) -> int:
        """Write every pending row whose JSON differs from the table's; returns how many."""
        pending, self._dirty = self._dirty, {}
        written = 0
        for key, (model, partition) in pending.items():
            raw = model.model_dump_json().encode()
            current = self.table.get(key)
            if current is None or current != raw:
                self._write(key, raw, partition)
                written += 1
            self._cache.remember(key, raw, model)
        return written

    def forget(self, partitions: Collection[int]) -> int:
        """Drop pending rows of those partitions (revoked: the new owner consumes their inputs
        again, as they were not committed); returns how many were dropped. The parsed models
        go too: the table drops the rows of partitions that do not come back
        (services/common/memory_store.py), and a model kept here (routing's is a whole
        referral) would outlive its row, and an erasure by the new owner, until evicted."""
        gone = [key for key, (_, p) in self._dirty.items() if p in partitions]
        for key in gone:
            del self._dirty[key]
        if partitions:
            self._cache.clear()  # rebalances are rare: parsing the cases in motion again is cheap
        return len(gone)

    def items(self, skip: Collection[K] = ()) -> Iterator[tuple[K, M]]:
        """Every row but those in `skip` (not parsed at all), pending writes included.

        A pass over every row leaves the cache as it found it: rows it had to parse are not
        remembered, so the cases in motion stay cached for the agents (a scan of thousands of
        rows would otherwise replace them with the last 256 rows it happened to read).
        """
        return self.items_as(self._parse, skip)

    def items_as(
        self, parse: Callable[[bytes], N], skip: Collection[K] = ()
    ) -> Iterator[tuple[K, M | N]]:
        """items(), but a row not in the cache is read with `parse`: a pass that needs part of
        each row can parse only that part (rows cached or pending are served as they are)."""
        dirty = dict(self._dirty)
        for key, raw in list(self.table.items()):
            if key not in dirty and raw and key not in skip:
                yield key, self._cache.peek(key, raw, parse)
        for key, (model, _) in dirty.items():
            if key not in skip:
                yield key, model

    def cached(self, key: K) -> M | None:
        """The model held for `key` without reading the table (tests, diagnostics)."""
        dirty = self._dirty.get(key)
        if dirty is not None:
            return dirty[0]
        return self._cache.model(key)

    @property
    def pending(self) -> int:
        """Rows changed since the last flush."""
        return len(self._dirty)

    def __len__(self) -> int:
        return len(self._cache) + len(self._dirty)

    @property
    def parses(self) -> int:
        """Rows parsed from bytes: how often the cache could not answer."""
        return self._cache.parses

    def _assign(self, key: K, raw: bytes, partition: int | None) -> None:
        self.table[key] = raw
