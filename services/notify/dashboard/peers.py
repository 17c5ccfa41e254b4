"""The other workers' cases on this worker's board: every notify worker follows the summaries'
changelog in full, so the ops board and its forecast show every case, whichever worker answers.

A faust table holds only the partitions its worker owns (the in-memory store drops standby and
revoked partitions when recovery completes), so with two workers each board showed half the
cases. The changelog carries every summary row the owners write (behind, at each commit: a
peer's card trails its owner's by about a second). A case this worker holds comes from its own
table, which is fresher. One it owns but does not hold yet (its table still recovering after a
rebalance) is shown from here: before, those cards vanished from the board until recovery ended.
Bounded: at most `max_cases` rows (least recently updated forgotten); a tombstone (erasure)
removes the row. A row is parsed at most once per change, whether the board's pass or a lookup of
its one case (`summary`) asks first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from services.common.follow import Record
from services.notify.casefile.cache import SummaryParser
from services.notify.casefile.models import CaseSummary


class PeerSummaries:
    """Raw summary rows by case id from the changelog, parsed when the board asks."""

    def __init__(self, *, max_cases: int = 50_000) -> None:
        self.max_cases = max_cases
        self._rows: OrderedDict[str, bytes] = OrderedDict()
        self._parser = SummaryParser()

    def on_record(self, record: Record) -> None:
        """One changelog record: the row's latest value, or its removal."""
        if record.key is None:
            return
        case_id = record.key.decode("utf-8", "replace")
        if self._rows.pop(case_id, None) != record.value:
            # A parse of bytes gone is dropped now, so parses never outnumber the rows kept (a
            # lookup by id keeps its parse; no board pass may come to sweep it). The same bytes
            # again (a reconnect re-reads the changelog) keep theirs.
            self._parser.forget(case_id)
        if record.value:
            self._rows[case_id] = record.value
            while len(self._rows) > self.max_cases:
                oldest, _ = self._rows.popitem(last=False)
                self._parser.forget(oldest)

    def summaries(self, local: set[str]) -> Iterator[CaseSummary]:
        """Every case but those this worker holds locally."""
        rows = [(case_id, raw) for case_id, raw in list(self._rows.items())
                if case_id not in local]
        yield from self._parser.summaries(rows)

    def summary(self, case_id: str) -> CaseSummary | None:
        """One case's row, parsed at most once per change: a keyed read, not a pass."""
        raw = self._rows.get(case_id)
        return None if raw is None else self._parser.parse(case_id, raw)

    @property
    def parses(self) -> int:
        """Rows parsed from JSON so far (tests, benches)."""
        return self._parser.parses

    def __len__(self) -> int:
        return len(self._rows)
