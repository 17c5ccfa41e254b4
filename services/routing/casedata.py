"""Case content and reports in their own tables, beside the routing state (faust-free).

Rows are changed inside the case's lock, after the case's events are published, so a crash
before the write redelivers the input and the same rows are written again. Content is written
behind (services/common/rows.py): a referral and its triage, which arrive within milliseconds,
cost one changelog message instead of two; the worker flushes before each offset commit
(services/common/write_behind.py), so a crash loses only content of uncommitted inputs, which
are read and folded again. Reports stay written at once: a specialist's filed report is
acknowledged only once it is in the table. A content row is capped (domain/content.py): a row
faust's producer refuses, written behind, crashes the worker on every redelivery of its input.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, MutableMapping

from schemas.cases import CaseTriaged, ReferralReceived
from schemas.envelope import Event
from schemas.reports import StoredReport
from schemas.topics import CASE_PARTITIONS
from services.common.partitions import case_partition
from services.common.rows import ParsedRows, Writer
from services.routing.domain.content import CaseContent, fold_content
from services.routing.domain.handlers import RoutingResult
from services.routing.domain.reports import AddendumWrite, report_key, with_addendum

Table = MutableMapping[bytes, bytes]
CONTENT_CACHED = 16
# Pending rows wait for the next commit (up to 100 inputs or 1 s): held as models, ~13 MB more
# at routing's peak in the pipeline bench. A referral's triage follows within milliseconds, so
# the last few cases are enough to fold the two into one row.
CONTENT_PENDING = 32


class CaseData:
    """Reads and writes of the case-content table (by case id) and report table (case/step)."""

    def __init__(self, *, content: Table, reports: Table, write_content: Writer | None = None
                 ) -> None:
        # A parsed content row is tens of KB (the whole referral) and is read again only by a
        # reviewer's view: keep few (256 added ~18 MB to routing's peak in the pipeline bench).
        self.content_rows: ParsedRows[bytes, CaseContent] = ParsedRows(
            content, CaseContent.model_validate_json, write=write_content,
            max_cached=CONTENT_CACHED, max_pending=CONTENT_PENDING)
        self.content_table, self.reports_table = content, reports

    def content(self, case_id: str) -> CaseContent | None:
        """The reviewer-facing content of one case, if routing has seen its referral."""
        return self.content_rows.get(case_id.encode())

    def flush(self) -> int:
        """Write the content changed since the last flush (call before committing)."""
        return self.content_rows.flush()

    def forget(self, partitions: Collection[int]) -> int:
        """Drop unwritten content of revoked partitions: their inputs are read again."""
        return self.content_rows.forget(partitions)

    def report(self, case_id: str, step_id: str) -> StoredReport | None:
        """One step's stored report."""
        raw = self.reports_table.get(report_key(case_id, step_id).encode())
        return StoredReport.model_validate_json(raw) if raw else None

    def reports(self, case_id: str, step_ids: Iterable[str]) -> list[StoredReport]:
        """The stored reports of these steps, in the order given."""
        found = (self.report(case_id, step_id) for step_id in step_ids)
        return [r for r in found if r is not None]

    def apply(self, event: Event, result: RoutingResult, step_ids: Iterable[str]) -> None:
        """Fold the input into the content, write the result's reports, or erase both."""
        if result.erase_case_data:
            self.content_rows.delete(event.case_id.encode())
            for step_id in step_ids:
                self.reports_table.pop(report_key(event.case_id, step_id).encode(), None)
            return
        if result.state.erased:
            # A triage read by another agent after CaseErased, or a redelivered referral:
            # folding it would put the erased patient data back in the row and its changelog.
            return
        if isinstance(event, ReferralReceived | CaseTriaged):
            folded = fold_content(self.content(event.case_id), event)
            if folded is not None:
                self.content_rows.put(event.case_id.encode(), folded,
                                      case_partition(event.case_id, CASE_PARTITIONS))
        for write in result.report_writes:
            if isinstance(write, AddendumWrite):
                raw = self.reports_table.get(write.key.encode())
                if raw is None:
                    continue  # the report itself was erased
                stored = with_addendum(StoredReport.model_validate_json(raw), write.addendum)
                self.reports_table[write.key.encode()] = stored.model_dump_json().encode()
            else:
                key = report_key(write.case_id, write.step_id).encode()
                self.reports_table[key] = write.model_dump_json().encode()
