"""Case content is written behind: one changelog row per commit however many inputs folded
into it, never resurrected after erasure, dropped for revoked partitions (their inputs are
read again). services/routing/casedata.py, services/common/rows.py."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.cases import CaseErased
from schemas.topics import CASE_PARTITIONS
from services.common.partitions import case_partition
from services.routing.casedata import CaseData
from tests.routing.fakes import Clock, make_processor
from tests.routing.test_routing_reviews_api import received
from tests.unit.routing.builders import NOW, triaged


def processor_writing_to(table: dict[bytes, bytes], written: list[tuple[bytes, int | None]]):  # type: ignore[no-untyped-def]
    def write(key: bytes, raw: bytes, partition: int | None) -> None:
        written.append((key, partition))
        table[key] = raw

    processor, _, _ = make_processor(Clock(NOW))
    processor.casedata = CaseData(content=table, reports={}, write_content=write)
    return processor


async def test_a_referral_and_its_triage_cost_one_content_row_at_the_next_flush() -> None:
    table: dict[bytes, bytes] = {}
    written: list[tuple[bytes, int | None]] = []
    processor = processor_writing_to(table, written)
    await processor.on_case_input(received("case-1"))
    await processor.on_case_input(triaged("case-1"))
    content = processor.casedata.content("case-1")
    assert content is not None and content.referral is not None and content.triage is not None
    assert written == [] and table == {}  # nothing reaches the changelog before the commit
    assert processor.casedata.flush() == 1
    assert written == [(b"case-1", case_partition("case-1", CASE_PARTITIONS))]
    assert processor.casedata.content("case-1") == content  # read back from the row
    assert processor.casedata.flush() == 0


async def test_erasure_deletes_the_row_and_a_later_flush_does_not_bring_it_back() -> None:
    table: dict[bytes, bytes] = {}
    written: list[tuple[bytes, int | None]] = []
    processor = processor_writing_to(table, written)
    await processor.on_case_input(received("case-1"))
    processor.casedata.flush()
    await processor.on_case_input(triaged("case-1"))  # pending again
    await processor.on_case_input(CaseErased(
        event_id="erase-1", case_id="case-1", occurred_at=datetime.now(UTC),
        referrer_id="ref-1", requested_by="ops-1"))
    assert processor.casedata.content("case-1") is None and b"case-1" not in table
    assert processor.casedata.flush() == 0 and b"case-1" not in table


def erasure() -> CaseErased:
    return CaseErased(event_id="erase-1", case_id="case-1", occurred_at=datetime.now(UTC),
                      referrer_id="ref-1", requested_by="ops-1")


async def test_a_triage_read_after_erasure_writes_no_content() -> None:
    # case.triaged.v1 and referral.events.v1 have separate agents: triage may come after it.
    table: dict[bytes, bytes] = {}
    written: list[tuple[bytes, int | None]] = []
    processor = processor_writing_to(table, written)
    await processor.on_case_input(received("case-1"))
    await processor.on_case_input(erasure())
    await processor.on_case_input(triaged("case-1"))
    assert processor.casedata.content("case-1") is None
    assert processor.casedata.flush() == 0 and written == [] and table == {}


async def test_inputs_redelivered_after_erasure_write_no_content() -> None:
    table: dict[bytes, bytes] = {}
    written: list[tuple[bytes, int | None]] = []
    processor = processor_writing_to(table, written)
    for event in (received("case-1"), triaged("case-1")):
        await processor.on_case_input(event)
    processor.casedata.flush()
    written.clear()
    await processor.on_case_input(erasure())
    for event in (triaged("case-1"), received("case-1"), erasure()):  # at-least-once
        await processor.on_case_input(event)
        assert processor.casedata.content("case-1") is None, type(event).__name__
    assert processor.casedata.flush() == 0 and written == [] and table == {}


async def test_unwritten_content_of_revoked_partitions_is_dropped_and_others_kept() -> None:
    table: dict[bytes, bytes] = {}
    written: list[tuple[bytes, int | None]] = []
    processor = processor_writing_to(table, written)
    cases = [f"case-{i}" for i in range(12)]
    for case_id in cases:
        await processor.on_case_input(received(case_id))
    revoked = case_partition("case-0", CASE_PARTITIONS)
    gone = [c for c in cases if case_partition(c, CASE_PARTITIONS) == revoked]
    assert processor.casedata.forget({revoked}) == len(gone)
    processor.casedata.flush()
    assert sorted(key.decode() for key in table) == sorted(set(cases) - set(gone))
