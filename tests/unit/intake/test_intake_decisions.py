"""Intake's pure decisions: case ids, idempotency, revisions, cancellation and erasure."""

from __future__ import annotations

from datetime import timedelta

import pytest

from schemas.cases import CaseErased, ReferralCancelled, ReferralReceived
from services.intake.domain import ids
from services.intake.domain.decisions import (
    MAX_ALIASES_PER_CASE,
    Decision,
    Rejected,
    decide_cancellation,
    decide_submission,
    decide_update,
    owned_case,
)
from services.intake.domain.erasure import decide_erasure
from services.intake.domain.identity import Name, find_case, identity_key
from services.intake.domain.registry import IdentityRecord, Registry
from tests.unit.intake.intake_builders import NOW, referral


def applied(registry: Registry, decision: Decision) -> Decision:
    for write in decision.writes:
        registry.apply(write.key, write.record)
    return decision


def submit(registry: Registry, key: str | None = None, referrer: str = "ref-a", **body: object):
    return applied(registry, decide_submission(
        registry, referral=referral(**body), referrer_id=referrer, idempotency_key=key,
        via="json", unmapped=[], now=NOW,
    ))


def test_new_referral_opens_a_case_keyed_by_referrer_and_referral_id() -> None:
    decision = submit(Registry())
    assert decision.outcome == "accepted"
    assert decision.case_id == ids.case_id_for(referrer_id="ref-a", referral_id="REF-1")
    assert isinstance(decision.event, ReferralReceived)
    assert decision.event.case_id == decision.case_id and decision.event.revision == 1


def test_event_names_the_authenticated_referrer_not_the_body() -> None:
    event = submit(Registry(), referrer="ref-a").event
    assert isinstance(event, ReferralReceived)
    assert event.referrer_id == "ref-a"
    assert event.referral.referrer is not None and event.referral.referrer.id == "ref-a"
    assert event.referral.referrer.organisation == "North GP"


def test_same_referral_id_from_another_referrer_is_another_case() -> None:
    registry = Registry()
    assert submit(registry, referrer="ref-a").case_id != submit(registry, referrer="ref-b").case_id


def test_resend_replays_without_new_event_or_writes() -> None:
    registry = Registry()
    first = submit(registry)
    again = submit(registry)
    assert again.outcome == "replayed" and again.case_id == first.case_id
    assert again.event is None and again.writes == ()


def test_event_id_is_deterministic_for_the_same_body() -> None:
    one, two = submit(Registry()).event, submit(Registry()).event
    assert one is not None and two is not None
    assert one.event_id == two.event_id


def test_same_referral_id_with_different_body_is_a_conflict() -> None:
    registry = Registry()
    submit(registry)
    with pytest.raises(Rejected) as info:
        submit(registry, age=60)
    assert info.value.status == 409 and info.value.kind == "referral-id-reused"


def test_idempotency_key_with_different_body_is_a_conflict() -> None:
    registry = Registry()
    submit(registry, key="k-1")
    with pytest.raises(Rejected) as info:
        submit(registry, key="k-1", referral_id="REF-2")
    assert info.value.status == 409 and info.value.kind == "idempotency-key-reused"


def test_idempotency_key_resend_replays_the_case() -> None:
    registry = Registry()
    first = submit(registry, key="k-1")
    assert submit(registry, key="k-1").case_id == first.case_id


def test_key_first_used_on_a_resend_is_recorded_then_refuses_another_body() -> None:
    registry = Registry()
    first = submit(registry)  # no key
    again = submit(registry, key="k-7")
    assert again.outcome == "replayed" and again.case_id == first.case_id
    assert again.event is None  # nothing new happened to the case: no event
    assert [w.key for w in again.writes] == [ids.alias_key(referrer_id="ref-a",
                                                           idempotency_key="k-7")]
    assert submit(registry, key="k-7").writes == ()  # recorded once
    with pytest.raises(Rejected) as info:
        submit(registry, key="k-7", referral_id="R-OTHER")
    assert info.value.status == 409 and info.value.kind == "idempotency-key-reused"


def test_keys_first_used_on_resends_are_capped_per_case() -> None:
    registry = Registry()
    case_id = submit(registry, key="k-0").case_id
    for n in range(1, MAX_ALIASES_PER_CASE + 5):
        assert submit(registry, key=f"k-{n}").outcome == "replayed"
    assert len(registry.alias_keys_of(case_id)) == MAX_ALIASES_PER_CASE
    late = submit(registry, key="k-late")
    assert late.outcome == "replayed" and late.writes == ()  # still answered, not recorded


def test_update_raises_the_revision_and_recomputes_missing_records() -> None:
    registry = Registry()
    case_id = submit(registry, imaging=[]).case_id
    assert registry.cases[case_id].missing_records == ["imaging"]
    decision = applied(registry, decide_update(
        registry, case_id=case_id, referral=referral(), referrer_id="ref-a", via="json",
        unmapped=[], now=NOW + timedelta(days=1),
    ))
    assert decision.outcome == "updated"
    assert isinstance(decision.event, ReferralReceived)
    assert decision.event.revision == 2 and decision.event.missing_records == []
    # The original POST still replays after the update (it is the same referral).
    assert submit(registry, imaging=[]).outcome == "replayed"


def update(registry: Registry, case_id: str, key: str | None, **body: object) -> Decision:
    return applied(registry, decide_update(
        registry, case_id=case_id, referral=referral(**body), referrer_id="ref-a", via="json",
        unmapped=[], now=NOW, idempotency_key=key,
    ))


def test_an_update_under_a_key_records_it_and_its_retry_replays_after_a_later_revision() -> None:
    registry = Registry()
    case_id = submit(registry).case_id
    first = update(registry, case_id, "u-1", age=60)
    assert first.outcome == "updated"
    assert ids.alias_key(referrer_id="ref-a", idempotency_key="u-1") in [
        w.key for w in first.writes]
    assert update(registry, case_id, "u-2", age=61).outcome == "updated"
    retry = update(registry, case_id, "u-1", age=60)
    assert retry.outcome == "replayed" and retry.event is None and retry.writes == ()
    assert registry.cases[case_id].revision == 3
    with pytest.raises(Rejected) as info:
        update(registry, case_id, "u-1", age=62)
    assert info.value.status == 409 and info.value.kind == "idempotency-key-reused"


def test_a_key_used_for_another_case_refuses_an_update() -> None:
    registry = Registry()
    submit(registry, key="k-1")
    other = submit(registry, referral_id="REF-2").case_id
    with pytest.raises(Rejected) as info:
        update(registry, other, "k-1", referral_id="REF-2", age=60)
    assert info.value.kind == "idempotency-key-reused"


def test_keys_of_updates_are_capped_per_case_and_updates_past_the_cap_still_go_through() -> None:
    registry = Registry()
    case_id = submit(registry, key="k-0").case_id
    for n in range(1, MAX_ALIASES_PER_CASE + 3):
        assert update(registry, case_id, f"k-{n}", age=20 + n).outcome == "updated"
    assert len(registry.alias_keys_of(case_id)) == MAX_ALIASES_PER_CASE
    assert registry.cases[case_id].revision == MAX_ALIASES_PER_CASE + 3


def test_update_of_another_referrers_case_is_not_found() -> None:
    registry = Registry()
    case_id = submit(registry, referrer="ref-a").case_id
    with pytest.raises(Rejected) as info:
        decide_update(registry, case_id=case_id, referral=referral(age=70), referrer_id="ref-b",
                      via="json", unmapped=[], now=NOW)
    assert info.value.status == 404


def test_update_cannot_change_the_referral_id() -> None:
    registry = Registry()
    case_id = submit(registry).case_id
    with pytest.raises(Rejected) as info:
        decide_update(registry, case_id=case_id, referral=referral(referral_id="OTHER"),
                      referrer_id="ref-a", via="json", unmapped=[], now=NOW)
    assert info.value.status == 409


def test_cancellation_closes_the_case_once() -> None:
    registry = Registry()
    case_id = submit(registry).case_id
    first = applied(registry, decide_cancellation(
        registry, case_id=case_id, referrer_id="ref-a", now=NOW))
    assert isinstance(first.event, ReferralCancelled) and first.case is not None
    assert first.case.status == "cancelled"
    assert decide_cancellation(
        registry, case_id=case_id, referrer_id="ref-a", now=NOW).outcome == "replayed"
    with pytest.raises(Rejected) as info:
        decide_update(registry, case_id=case_id, referral=referral(age=70), referrer_id="ref-a",
                      via="json", unmapped=[], now=NOW)
    assert info.value.kind == "case-closed"


def test_a_cancellation_of_a_completed_case_is_refused() -> None:
    registry = Registry()
    case_id = submit(registry).case_id
    with pytest.raises(Rejected) as info:
        decide_cancellation(registry, case_id=case_id, referrer_id="ref-a", now=NOW,
                            completed=True)
    assert info.value.status == 409 and info.value.kind == "case-completed"
    assert registry.cases[case_id].status == "open"


def test_erasure_tombstones_case_and_aliases_and_blocks_reuse() -> None:
    registry = Registry()
    case_id = submit(registry, key="k-9").case_id
    decision = applied(registry, decide_erasure(
        registry, case_id=case_id, requested_by="ops-1", now=NOW))
    assert isinstance(decision.event, CaseErased)
    assert set(decision.event.model_dump()) == {  # no referral, no patient fields
        "event_id", "case_id", "occurred_at", "schema_version", "event_type", "referrer_id",
        "requested_by", "reason"}
    tombstones = {w.key for w in decision.writes if w.record is None}
    assert tombstones == {ids.case_key(case_id),
                          ids.alias_key(referrer_id="ref-a", idempotency_key="k-9")}
    assert case_id not in registry.cases and not registry.aliases
    with pytest.raises(Rejected) as info:
        submit(registry)
    assert info.value.status == 410
    assert decide_erasure(
        registry, case_id=case_id, requested_by="ops-1", now=NOW).outcome == "replayed"


def test_a_name_written_after_the_erasure_is_kept_as_erased_when_tombstoned_again() -> None:
    """Another worker, not yet seeing the marker, recorded a new name for the case: the
    replayed erasure (as the erasure repair) tombstones it and keeps its hash, so a message by
    that name too finds the erased case (410), never a new one."""
    registry = Registry()
    case_id = submit(registry).case_id
    applied(registry, decide_erasure(registry, case_id=case_id, requested_by="ops", now=NOW))
    late = Name("identifier", "https://north-gp.example/ids", "LATE-1")
    assert find_case(registry, referrer_id="ref-a", names=[late]) is None
    registry.apply(identity_key("ref-a", late), IdentityRecord(
        case_id=case_id, referrer_id="ref-a", scheme="identifier",
        system=late.system, value=late.value))
    again = applied(registry, decide_erasure(
        registry, case_id=case_id, requested_by="ops", now=NOW))
    assert again.outcome == "replayed"
    assert [w.key for w in again.writes] == [
        ids.erased_name_key(identity_key("ref-a", late)), identity_key("ref-a", late)]
    assert registry.identity_keys_of(case_id) == []
    assert find_case(registry, referrer_id="ref-a", names=[late]) == case_id
    assert find_case(registry, referrer_id="ref-b", names=[late]) is None


def test_ops_may_see_any_case_referrers_only_their_own() -> None:
    registry = Registry()
    case_id = submit(registry, referrer="ref-a").case_id
    assert owned_case(registry, case_id=case_id, referrer_id=None).case_id == case_id
    with pytest.raises(Rejected):
        owned_case(registry, case_id=case_id, referrer_id="ref-b")
