"""A case's state in the registry never goes back (services/intake/domain/registry.py).

Each worker reads its own registry writes back about BATCH_MS later, and a reconnect re-reads
the topic from the beginning: either way the older record of a case came after the newer one,
last-write-wins put it back, and a cancelled case took an update. Tombstones still delete, and
the other kinds keep the last record.
"""

from __future__ import annotations

from datetime import timedelta

from services.intake.domain.registry import (
    AliasRecord,
    CaseRecord,
    ErasedRecord,
    Registry,
    case_order,
)
from tests.unit.intake.intake_builders import NOW


def state(revision: int, status: str = "open", minutes: int = 0, body: str = "") -> CaseRecord:
    return CaseRecord(case_id="c-1", referrer_id="ref-a", referral_id="R-1", revision=revision,
                      first_body_hash="h1", body_hash=body or f"h{revision}",
                      status=status,  # type: ignore[arg-type]
                      updated_at=NOW + timedelta(minutes=minutes))


def held_after(*records: CaseRecord | None) -> CaseRecord | None:
    registry = Registry()
    for record in records:
        registry.apply("case/c-1", record)
    return registry.cases.get("c-1")


def test_an_older_revision_read_back_after_a_newer_one_is_ignored() -> None:
    # Worker wrote rev 1 then rev 2 within one batch; rev 1 read back afterwards.
    assert held_after(state(1), state(2, minutes=1), state(1)) == state(2, minutes=1)


def test_the_open_state_of_a_cancelled_revision_does_not_reopen_it() -> None:
    cancelled = state(2, "cancelled", minutes=2)
    assert held_after(state(1), state(2, minutes=1), cancelled, state(1), state(2, minutes=1)) \
        == cancelled


def test_cancelled_is_final_even_against_a_higher_open_revision_written_in_a_race() -> None:
    # Worker A cancels at rev 1 while worker B stores rev 2 from the same rev 1: whatever
    # order the topic has them in, every worker holds the case cancelled, as routing does.
    cancelled = state(1, "cancelled", minutes=1)
    assert held_after(cancelled, state(2, minutes=2)) == cancelled
    assert held_after(state(2, minutes=2), cancelled) == cancelled
    assert case_order(state(3)) < case_order(state(1, "cancelled"))


def test_an_equal_state_is_applied_the_later_in_the_topic_wins() -> None:
    # Two workers' writes of one revision: the topic's order decides, as compaction does,
    # not the deciding workers' clocks.
    first, second = state(2, minutes=5, body="x"), state(2, minutes=1, body="y")
    assert held_after(state(1), first, second) == second


def test_a_tombstone_still_deletes_the_newest_state_and_the_indexes_follow() -> None:
    registry = Registry()
    registry.apply("case/c-1", state(2, "cancelled", minutes=3))
    registry.apply("case/c-1", state(1))  # ignored: the indexes keep the held state's entry
    assert list(registry.order.newest_first("ref-a", None)) == ["c-1"]
    assert registry.values.cases("R-1") == ["c-1"]
    registry.apply("case/c-1", None)
    assert "c-1" not in registry.cases
    assert list(registry.order.newest_first("ref-a", None)) == []
    assert registry.values.cases("R-1") == []


def test_an_erased_case_stays_erased_whatever_is_read_back_after_it() -> None:
    registry = Registry()
    registry.apply("case/c-1", state(2, minutes=1))
    registry.apply("erased/c-1", ErasedRecord(case_id="c-1", referrer_id="ref-a",
                                              erased_at=NOW + timedelta(minutes=2)))
    registry.apply("case/c-1", None)
    registry.apply("case/c-1", state(1))  # an own write read back: held until its tombstone
    assert "c-1" in registry.erased and registry.leftovers_of("c-1") == ["case/c-1"]
    registry.apply("case/c-1", None)
    assert "c-1" in registry.erased and registry.leftovers_of("c-1") == []


def test_aliases_keep_the_last_record_and_a_tombstone_deletes_them() -> None:
    registry = Registry()
    alias = AliasRecord(case_id="c-1", referrer_id="ref-a", body_hash="h1")
    registry.apply("alias/k", alias)
    registry.apply("alias/k", alias)  # read back
    assert registry.alias("alias/k") == alias
    registry.apply("alias/k", None)
    assert registry.alias("alias/k") is None
