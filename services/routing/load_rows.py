"""Specialist load rows, parsed once per change (issue 13).

A local reservation read its specialist's row from the table and parsed it every time: with
up to 200 reviews and 48 hours of assignments a row is kilobytes, and the parse was ~5 % of
routing's CPU in the pipeline bench. The parsed model is kept with the bytes it came from
(services/common/parse_cache.py), so a row replaced behind our back is parsed again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import TypeVar

from pydantic import ValidationError

from services.common.parse_cache import ParseCache
from services.routing.domain.load import SpecialistLoad

log = logging.getLogger("spine.routing")
T = TypeVar("T")
MAX_CACHED = 4096  # specialists; a row left out is parsed again from the table


class LoadRows:
    def __init__(self, table: MutableMapping[bytes, bytes],
                 write: Callable[[bytes, bytes], None], max_cached: int = MAX_CACHED) -> None:
        self.table, self._write = table, write
        self.cache: ParseCache[bytes, SpecialistLoad] = ParseCache(max_cached)

    def get(self, key: bytes) -> SpecialistLoad | None:
        raw = self.table.get(key)
        return self.cache.parsed(key, raw, SpecialistLoad.model_validate_json) if raw else None

    def put(self, key: bytes, load: SpecialistLoad) -> None:
        """Write the row now (its answer is sent after it) and keep what was written."""
        raw = load.model_dump_json().encode()
        self._write(key, raw)
        self.cache.remember(key, raw, load)

    def written(self, key: bytes, raw: bytes) -> SpecialistLoad | None:
        """The model this worker wrote or read as exactly `raw`, if it is still cached (its
        own row coming back on the changelog needs no parse)."""
        return self.cache.current(key, raw)


def readable_rows(
    rows: Mapping[bytes, bytes], parse: Callable[[bytes], T],
) -> Iterator[tuple[bytes, T]]:
    """The rows that parse; one that does not (say, written by a later release) is logged and
    left out: rebuilding on every rebalance would otherwise crash the worker each time."""
    for key, raw in rows.items():
        try:
            yield key, parse(raw)
        except ValidationError:
            log.warning("routing row unreadable", extra={"row": key.decode("utf-8", "replace")})
