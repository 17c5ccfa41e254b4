"""Models parsed from table rows, each kept with the bytes it came from (notify's case rows,
routing's load rows; issue 13).

A model is served only while the table still holds the very bytes it was parsed from
(identity, then equality), so a row replaced behind the holder's back (changelog recovery, a
rebalance, another writer) is parsed again rather than served stale. Least recently used
entries go past `max_cached`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
M = TypeVar("M")
N = TypeVar("N")


class ParseCache(Generic[K, M]):
    def __init__(self, max_cached: int) -> None:
        self.max_cached = max_cached
        self._entries: OrderedDict[K, tuple[bytes, M]] = OrderedDict()
        self.parses = 0  # rows parsed from bytes: how often the cache could not answer

    def current(self, key: K, raw: bytes) -> M | None:
        """The model parsed from exactly `raw`, if it is cached."""
        entry = self._entries.get(key)
        if entry is not None and (entry[0] is raw or entry[0] == raw):
            return entry[1]
        return None

    def parsed(self, key: K, raw: bytes, parse: Callable[[bytes], M]) -> M:
        """The cached model of `raw`, or `raw` parsed now and kept."""
        model = self.current(key, raw)
        if model is not None:
            self._entries.move_to_end(key)
            return model
        self.parses += 1
        model = parse(raw)
        self.remember(key, raw, model)
        return model

    def peek(self, key: K, raw: bytes, parse: Callable[[bytes], N]) -> M | N:
        """The cached model of `raw`, or `raw` parsed now and not kept (passes over many rows)."""
        model = self.current(key, raw)
        if model is not None:
            return model
        self.parses += 1
        return parse(raw)

    def remember(self, key: K, raw: bytes, model: M) -> None:
        self._entries[key] = (raw, model)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_cached:
            self._entries.popitem(last=False)

    def model(self, key: K) -> M | None:
        """The model held for `key`, whatever the table holds now (tests, diagnostics)."""
        entry = self._entries.get(key)
        return entry[1] if entry is not None else None

    def drop(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
