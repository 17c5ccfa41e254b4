"""What a submission, update or cancellation does, given the registry: pure decisions (an
erasure's: domain/erasure.py).

Each decision names the event to produce (if any) and the registry writes that must follow it;
the caller writes them to Kafka in that order and only then answers the client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from schemas.cases import ReferralCancelled, ReferralReceived
from schemas.envelope import Event, utc
from schemas.referral import Referral, Referrer
from services.intake.domain import ids, versions
from services.intake.domain.missing_records import missing_records
from services.intake.domain.registry import (
    AliasRecord,
    AnyRecord,
    CaseRecord,
    Registry,
    Via,
)

Outcome = Literal["accepted", "replayed", "updated", "cancelled", "erased"]
Record = AnyRecord
# Idempotency-Keys recorded for one case: the one it was opened under, and any first sent on a
# resend (a client with a new key per retry). Past the cap a resend's new key is not recorded:
# it still replays, and the case's registry records stay bounded.
MAX_ALIASES_PER_CASE = 20


class Rejected(Exception):
    """The request cannot be honoured; `kind` names the problem, `detail` holds no patient data."""

    def __init__(
        self, status: int, title: str, detail: str, *, kind: str,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.kind = status, title, detail, kind
        self.errors = errors  # [{path, message}]: the field or parameter at fault


@dataclass(frozen=True)
class Write:
    key: str
    record: Record | None  # None = tombstone


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    case: CaseRecord | None  # what the client is told (None once erased)
    case_id: str
    event: Event | None = None
    writes: tuple[Write, ...] = ()


def _key_reused() -> Rejected:
    return Rejected(
        409, "Idempotency key reused",
        "this Idempotency-Key was first used with a different body; "
        "send a new key for a new referral or revision", kind="idempotency-key-reused",
    )


def _completed(case_id: str, then: str) -> Rejected:
    return Rejected(409, "Case completed",
                    f"case {case_id} is completed: every requested opinion is reported; {then}",
                    kind="case-completed")


def _not_found(case_id: str) -> Rejected:
    return Rejected(404, "Not found", f"no case {case_id} for this client", kind="not-found")


def owned_case(registry: Registry, *, case_id: str, referrer_id: str | None) -> CaseRecord:
    """The case, if `referrer_id` owns it (None = any owner, for ops); others' cases are 404.
    An erased case is gone even while a record another worker wrote after its erasure is still
    held (it is being tombstoned again, domain/erasure.py)."""
    case = registry.cases.get(case_id)
    if case is None or (referrer_id is not None and case.referrer_id != referrer_id):
        raise _not_found(case_id)
    if case_id in registry.erased:
        raise _not_found(case_id)
    return case


def _refuse_erased(registry: Registry, *, case_id: str, referrer_id: str | None) -> None:
    """410 for a change to the caller's erased case, decided on what this worker's registry
    shows: never a new revision (patient data) written after the erasure."""
    marker = registry.erased.get(case_id)
    if marker is not None and referrer_id in (None, marker.referrer_id):
        raise Rejected(410, "Case erased", f"case {case_id} was erased", kind="case-erased")


def _refuse_stale(case: CaseRecord, if_match: str | None) -> None:
    """412 when the client's If-Match names no state the case is in: it decided on an older
    revision, or on the case open before a cancel (RFC 9110 13.1.1)."""
    if if_match is not None and not versions.matches(case, if_match):
        raise Rejected(
            412, "Precondition failed",
            f"If-Match names no current version of case {case.case_id} (it is at revision "
            f"{case.revision}, {case.status}, ETag {versions.entity_tag(case)}): read it again, "
            "then resend",
            kind="precondition-failed",
        )


def referral_as_sent_by(referral: Referral, referrer_id: str) -> Referral:
    """The referral with its referrer set to the authenticated client, whatever the body said."""
    sent = referral.referrer
    referrer = Referrer(
        id=referrer_id,
        organisation=sent.organisation if sent else None,
        contact_name=sent.contact_name if sent else None,
    )
    return referral.model_copy(update={"referrer": referrer})


def _received(
    case: CaseRecord, referral: Referral, *, now: datetime, unmapped: list[str]
) -> ReferralReceived:
    return ReferralReceived(
        event_id=ids.received_event_id(
            case_id=case.case_id, revision=case.revision, referral_hash=case.body_hash
        ),
        case_id=case.case_id, occurred_at=now, referrer_id=case.referrer_id,
        revision=case.revision, received_via=case.received_via, referral=referral,
        unmapped=unmapped, missing_records=list(case.missing_records),
    )


def decide_submission(
    registry: Registry, *, referral: Referral, referrer_id: str, idempotency_key: str | None,
    via: Via, unmapped: list[str], now: datetime, case_id: str | None = None,
) -> Decision:
    """A new referral: replay a resend, refuse a reused key with another body, or open the case
    (`case_id` when the caller found or derived it from the referral's names, as FHIR does)."""
    referral = referral_as_sent_by(referral, referrer_id)
    digest = ids.body_hash(referral)
    case_id = case_id or ids.case_id_for(referrer_id=referrer_id, referral_id=referral.referral_id)
    alias_key = ids.alias_key(referrer_id=referrer_id, idempotency_key=idempotency_key or "")
    alias = registry.alias(alias_key) if idempotency_key else None
    if alias is not None:
        if alias.body_hash != digest:
            raise _key_reused()
        case_id = alias.case_id
    if case_id in registry.erased:
        raise Rejected(
            410, "Case erased", f"case {case_id} was erased; resend under a new referral_id",
            kind="case-erased",
        )
    existing = registry.cases.get(case_id)
    if existing is not None:
        if digest not in (existing.first_body_hash, existing.body_hash):
            raise Rejected(
                409, "Referral id already used",
                f"referral_id already opened case {case_id} with different content; "
                f"use PUT /referrals/{case_id} to send a new revision", kind="referral-id-reused",
            )
        if alias is None and idempotency_key:  # a key first used on a resend
            first_use = _alias_write(registry, alias_key, existing, digest)
            return Decision("replayed", existing, case_id, writes=first_use)
        return Decision("replayed", existing, case_id)
    case = CaseRecord(
        case_id=case_id, referrer_id=referrer_id, referral_id=referral.referral_id, revision=1,
        first_body_hash=digest, body_hash=digest, received_via=via,
        missing_records=missing_records(referral), unmapped=unmapped, updated_at=utc(now),
        received_at=utc(now),
    )
    writes = [Write(ids.case_key(case_id), case)]
    if idempotency_key:
        record = AliasRecord(case_id=case_id, referrer_id=referrer_id, body_hash=digest)
        writes.append(Write(alias_key, record))
    event = _received(case, referral, now=now, unmapped=unmapped)
    return Decision("accepted", case, case_id, event, tuple(writes))


def _received_at(case: CaseRecord) -> datetime:
    """The case's search position kept through a change: a record from before `received_at`
    existed sat at its `updated_at`, so that is where it stays."""
    return case.received_at or case.updated_at


def _alias_write(
    registry: Registry, key: str, case: CaseRecord, digest: str
) -> tuple[Write, ...]:
    """Record a key first sent on a resend (no event: nothing new happened to the case) or on
    a new revision, so the key then refuses another body (409) like any used key; none past
    the case's cap (a revision still goes through, its key unrecorded)."""
    if len(registry.alias_keys_of(case.case_id)) >= MAX_ALIASES_PER_CASE:
        return ()
    record = AliasRecord(case_id=case.case_id, referrer_id=case.referrer_id, body_hash=digest)
    return (Write(key, record),)


def decide_update(
    registry: Registry, *, case_id: str, referral: Referral, referrer_id: str, via: Via,
    unmapped: list[str], now: datetime, idempotency_key: str | None = None,
    completed: bool = False, if_match: str | None = None, seen_revision: int = 0,
) -> Decision:
    """A new revision of an open case (re-triaged downstream); an unchanged body replays.
    An Idempotency-Key follows a submission's rules: a retry under it replays, even after a
    later revision (else a late retry would put stale clinical content back), and another
    body under it is 409; a new revision records it. `completed` (the Task view saw every
    opinion reported): a new revision is refused, as routing would ignore its triage and the
    new information would reach nobody; the referrer sends a new referral. `if_match` (the
    header): a new revision only on the revision it names, else 412; replays go first, so a
    retry of an update that was stored still replays. `seen_revision`: the highest revision
    read back from the event topic (the Task view); the new one is numbered past it too."""
    _refuse_erased(registry, case_id=case_id, referrer_id=referrer_id)
    case = owned_case(registry, case_id=case_id, referrer_id=referrer_id)
    if referral.referral_id != case.referral_id:
        raise Rejected(
            409, "Referral id mismatch", "referral_id of an update must match the case's",
            kind="referral-id-mismatch",
        )
    referral = referral_as_sent_by(referral, referrer_id)
    digest = ids.body_hash(referral)
    alias_key = ids.alias_key(referrer_id=referrer_id, idempotency_key=idempotency_key or "")
    alias = registry.alias(alias_key) if idempotency_key else None
    if alias is not None:
        if alias.body_hash != digest or alias.case_id != case_id:
            raise _key_reused()
        return Decision("replayed", case, case_id)
    if digest == case.body_hash:
        first_use = _alias_write(registry, alias_key, case, digest) if idempotency_key else ()
        return Decision("replayed", case, case_id, writes=first_use)
    _refuse_stale(case, if_match)
    if completed:
        raise _completed(case_id, "send new information as a new referral")
    if case.status != "open":
        raise Rejected(409, "Case closed", f"case {case_id} is {case.status}", kind="case-closed")
    # Past the registry's revision and past any the topic holds: an update whose event landed
    # but whose registry record did not (a timeout between them) left the registry behind,
    # and a second event of that revision number is dropped downstream as stale.
    updated = case.model_copy(update={
        "revision": max(case.revision, seen_revision) + 1, "body_hash": digest, "received_via": via,
        "missing_records": missing_records(referral), "unmapped": unmapped,
        "updated_at": utc(now), "received_at": _received_at(case),
    })
    event = _received(updated, referral, now=now, unmapped=unmapped)
    writes: tuple[Write, ...] = (Write(ids.case_key(case_id), updated),)
    if idempotency_key:
        writes += _alias_write(registry, alias_key, case, digest)
    return Decision("updated", updated, case_id, event, writes)


def decide_cancellation(
    registry: Registry, *, case_id: str, referrer_id: str, now: datetime,
    reason: str = "cancelled by referrer", completed: bool = False, if_match: str | None = None,
) -> Decision:
    """Close an open case (routing stops, notify stops clocks); a repeat cancel replays.
    `completed`: the Task view saw the case completed. Its opinion is given and a completed
    Task is final (routing ignores a late cancel too), so the cancel is refused."""
    _refuse_erased(registry, case_id=case_id, referrer_id=referrer_id)
    case = owned_case(registry, case_id=case_id, referrer_id=referrer_id)
    if completed:
        raise _completed(case_id, "it cannot be cancelled")
    if case.status == "cancelled":
        return Decision("replayed", case, case_id)
    _refuse_stale(case, if_match)
    cancelled = case.model_copy(update={
        "status": "cancelled", "updated_at": utc(now), "received_at": _received_at(case),
    })
    event = ReferralCancelled(
        event_id=ids.cancelled_event_id(case_id=case_id, revision=case.revision),
        case_id=case_id, occurred_at=now, referrer_id=case.referrer_id, reason=reason,
    )
    return Decision(
        "cancelled", cancelled, case_id, event, (Write(ids.case_key(case_id), cancelled),)
    )
