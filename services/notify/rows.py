"""A table of JSON rows with the parsed model of each recently used row kept beside it.

The faust table stays the source of truth: every read compares the row's current bytes with
the bytes the cached model was parsed from (an identity check, then equality), so a value
replaced behind our back (changelog recovery, a rebalance, a test editing the dict) is parsed
again rather than served stale. Writes serialise once and skip the table, and so the changelog,
when the bytes did not change.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping
from typing import Generic, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

# A parsed case summary takes ~18 KB and a case state ~6 KB (JSON: ~2.8 KB and ~1.1 KB), so the
# cache holds the cases in motion, not every case a worker has ever seen.
DEFAULT_MAX_CACHED = 4096


class ParsedRows(Generic[M]):
    """get/put models by key over a bytes table; each row is parsed at most once per change."""

    def __init__(
        self, table: MutableMapping[str, bytes], parse: Callable[[bytes], M], *,
        max_cached: int = DEFAULT_MAX_CACHED,
    ) -> None:
        self.table = table
        self._parse = parse
        self._max_cached = max_cached
        self._cache: OrderedDict[str, tuple[bytes, M]] = OrderedDict()
        self.parses = 0  # rows parsed from bytes: how often the cache could not answer

    def get(self, key: str) -> M | None:
        """The row's model, or None if the table has no row for `key`."""
        raw = self.table.get(key)
        return self.parsed(key, raw) if raw else None

    def parsed(self, key: str, raw: bytes) -> M:
        """The model of `raw`, the table's current value for `key`."""
        cached = self._cache.get(key)
        if cached is not None and (cached[0] is raw or cached[0] == raw):
            self._cache.move_to_end(key)
            return cached[1]
        self.parses += 1
        model = self._parse(raw)
        self._remember(key, raw, model)
        return model

    def put(self, key: str, model: M) -> bool:
        """Store the model's JSON under `key`; True if the row changed (and was written)."""
        raw = model.model_dump_json().encode()
        current = self.table.get(key)
        if current is not None and current == raw:
            self._remember(key, current, model)
            return False
        self.table[key] = raw
        self._remember(key, raw, model)
        return True

    def items(self) -> Iterator[tuple[str, M]]:
        """Every row of the table, parsed (rows cached already are not parsed again)."""
        for key, raw in list(self.table.items()):
            if raw:
                yield key, self.parsed(key, raw)

    def cached(self, key: str) -> M | None:
        """The cached model of `key` without reading the table (tests, diagnostics)."""
        entry = self._cache.get(key)
        return entry[1] if entry is not None else None

    def __len__(self) -> int:
        return len(self._cache)

    def _remember(self, key: str, raw: bytes, model: M) -> None:
        self._cache[key] = (raw, model)
        self._cache.move_to_end(key)
        while len(self._cache) > self._max_cached:
            self._cache.popitem(last=False)
