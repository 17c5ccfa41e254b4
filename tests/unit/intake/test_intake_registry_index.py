"""The registry's search indexes follow every record: an update moves a case to the front, a
tombstone removes it, and an identifier value shared by two records of a case stays indexed
until both are gone. A stale entry would make a search read a case that is not there."""

from __future__ import annotations

from datetime import timedelta

from services.intake.domain.identity import Name, identity_key
from services.intake.domain.registry import CaseRecord, IdentityRecord, Registry
from tests.unit.intake.intake_builders import NOW


def case(case_id: str, minutes: int, referrer_id: str = "ref-a") -> CaseRecord:
    return CaseRecord(case_id=case_id, referrer_id=referrer_id, referral_id=f"R-{case_id}",
                      revision=1, first_body_hash="h", body_hash="h",
                      updated_at=NOW + timedelta(minutes=minutes))


def identity(case_id: str, system: str, value: str) -> tuple[str, IdentityRecord]:
    key = identity_key("ref-a", Name("identifier", system, value))
    return key, IdentityRecord(case_id=case_id, referrer_id="ref-a", scheme="identifier",
                               system=system, value=value)


def test_the_update_order_follows_updates_and_tombstones_per_referrer() -> None:
    registry = Registry()
    for record in (case("a", 1), case("b", 2), case("c", 3), case("x", 4, "ref-b")):
        registry.apply(f"case/{record.case_id}", record)
    registry.apply("case/a", case("a", 9))  # updated: now the newest
    registry.apply("case/b", None)  # erased
    assert list(registry.order.newest_first("ref-a", None)) == ["a", "c"]
    assert list(registry.order.newest_first(None, None)) == ["a", "x", "c"]
    assert list(registry.order.newest_first("ref-a", (NOW + timedelta(minutes=9), "a"))) == ["c"]
    assert registry.values.cases("R-b") == [] and registry.values.cases("R-a") == ["a"]


def test_a_value_a_case_carries_twice_stays_indexed_until_both_records_are_gone() -> None:
    registry = Registry()
    registry.apply("case/a", case("a", 1))
    first, second = identity("a", "https://x", "R-a"), identity("a", "https://y", "R-a")
    registry.apply(*first)
    registry.apply(*second)
    registry.apply(first[0], None)
    assert registry.values.cases("R-a") == ["a"]
    registry.apply(second[0], None)
    registry.apply("case/a", None)
    assert registry.values.cases("R-a") == []
