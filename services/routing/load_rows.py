"""Specialist load rows, parsed once per change (issue 13).

A local reservation read its specialist's row from the table and parsed it every time: with
up to 200 reviews and 48 hours of assignments a row is kilobytes, and the parse was ~5 % of
routing's CPU in the pipeline bench. The parsed model is kept with the bytes it came from and
served while the table still holds those bytes (identity, then equality), so a row replaced
behind our back (changelog recovery, a rebalance, another writer) is parsed again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, MutableMapping

from services.routing.domain.load import SpecialistLoad

MAX_CACHED = 4096  # specialists; a row left out is parsed again from the table


class LoadRows:
    def __init__(self, table: MutableMapping[bytes, bytes],
                 write: Callable[[bytes, bytes], None], max_cached: int = MAX_CACHED) -> None:
        self.table, self._write, self._max = table, write, max_cached
        self._cache: OrderedDict[bytes, tuple[bytes, SpecialistLoad]] = OrderedDict()
        self.parses = 0

    def get(self, key: bytes) -> SpecialistLoad | None:
        raw = self.table.get(key)
        if not raw:
            return None
        cached = self._cache.get(key)
        if cached is not None and (cached[0] is raw or cached[0] == raw):
            self._cache.move_to_end(key)
            return cached[1]
        self.parses += 1
        load = SpecialistLoad.model_validate_json(raw)
        self._remember(key, raw, load)
        return load

    def put(self, key: bytes, load: SpecialistLoad) -> None:
        """Write the row now (its answer is sent after it) and keep what was written."""
        raw = load.model_dump_json().encode()
        self._write(key, raw)
        self._remember(key, raw, load)

    def _remember(self, key: bytes, raw: bytes, load: SpecialistLoad) -> None:
        self._cache[key] = (raw, load)
        self._cache.move_to_end(key)
        if len(self._cache) > self._max:
            self._cache.popitem(last=False)
