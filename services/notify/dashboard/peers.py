"""The other workers' cases on this worker's board: every notify worker follows the summaries'
changelog in full, so the ops board and its forecast show every case, whichever worker answers.

A faust table holds only the partitions its worker owns (the in-memory store drops standby and
revoked partitions when recovery completes), so with two workers each board showed half the
cases. The changelog carries every summary row the owners write (behind, at each commit: a
peer's card trails its owner's by about a second). Rows of partitions this worker owns come
from its own table, which is fresher; those kept here only stand ready for a rebalance.
Bounded: at most `max_cases` rows (least recently updated forgotten); a tombstone (erasure)
removes the row.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator

from services.common.follow import Record
from services.notify.casefile.cache import SummaryParser
from services.notify.casefile.models import CaseSummary


class PeerSummaries:
    """Raw summary rows by case id from the changelog, parsed when the board asks."""

    def __init__(self, *, owned: Callable[[int], bool], max_cases: int = 50_000) -> None:
        self.owned, self.max_cases = owned, max_cases
        self._rows: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
        self._parser = SummaryParser()

    def on_record(self, record: Record) -> None:
        """One changelog record: the row's latest value, or its removal."""
        if record.key is None:
            return
        case_id = record.key.decode("utf-8", "replace")
        self._rows.pop(case_id, None)
        if record.value:
            self._rows[case_id] = (record.partition, record.value)
            while len(self._rows) > self.max_cases:
                self._rows.popitem(last=False)

    def summaries(self, local: set[str]) -> Iterator[CaseSummary]:
        """Cases of partitions other workers own now, except those held locally."""
        rows = [(case_id, raw) for case_id, (partition, raw) in list(self._rows.items())
                if case_id not in local and not self.owned(partition)]
        yield from self._parser.summaries(rows)

    def __len__(self) -> int:
        return len(self._rows)
