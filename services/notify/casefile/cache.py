"""Parse stored summaries once: table values are JSON, the dashboard needs CaseSummary objects."""

from __future__ import annotations

from collections.abc import Iterable

from services.notify.casefile.models import CaseSummary


class SummaryParser:
    """Re-parses a case's JSON only when it changed; forgets cases no longer in the table."""

    def __init__(self) -> None:
        self._parsed: dict[str, tuple[str | bytes, CaseSummary]] = {}
        self.parses = 0  # JSON parsed: how often the cache could not answer (tests, benches)

    def parse(self, case_id: str, raw: str | bytes) -> CaseSummary:
        """The summary stored as `raw` (`summary.model_dump_json()`), parsed at most once."""
        cached = self._parsed.get(case_id)
        if cached is not None and cached[0] == raw:
            return cached[1]
        self.parses += 1
        summary = CaseSummary.model_validate_json(raw)
        self._parsed[case_id] = (raw, summary)
        return summary

    def forget(self, case_id: str) -> None:
        """Drop the case's parsed summary (its row changed or went)."""
        self._parsed.pop(case_id, None)

    def summaries(self, items: Iterable[tuple[str, str | bytes]]) -> list[CaseSummary]:
        """All summaries of a table's (case id, JSON) items, e.g. `table.items()`."""
        seen: set[str] = set()
        result = []
        for case_id, raw in items:
            seen.add(case_id)
            result.append(self.parse(case_id, raw))
        for gone in self._parsed.keys() - seen:
            # pop: board passes run on FastAPI's thread pool; the changelog's follower, on the
            # event loop, may have forgotten it meanwhile
            self._parsed.pop(gone, None)
        return result
