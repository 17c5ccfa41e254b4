"""Deterministic ids: a resent referral lands on the same case and produces the same events."""

from __future__ import annotations

import hashlib
import json

from schemas.envelope import derive_id
from schemas.referral import Referral


def case_id_for(*, referrer_id: str, referral_id: str) -> str:
    """The case id of a referral: stable per (authenticated referrer, sender's referral id)."""
    return derive_id("case", referrer_id, referral_id)


def body_hash(referral: Referral) -> str:
    """SHA-256 of the referral's canonical JSON (sorted keys), to tell resends from changes."""
    canonical = json.dumps(referral.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def received_event_id(*, case_id: str, revision: int, referral_hash: str) -> str:
    """Id of the ReferralReceived for one revision of one body."""
    return derive_id("ReferralReceived", case_id, revision, referral_hash)


def cancelled_event_id(*, case_id: str, revision: int) -> str:
    """Id of the ReferralCancelled that closes a case at `revision`."""
    return derive_id("ReferralCancelled", case_id, revision)


def erased_event_id(*, case_id: str) -> str:
    """Id of the CaseErased of a case (a case is erased once)."""
    return derive_id("CaseErased", case_id)


def alias_key(*, referrer_id: str, idempotency_key: str) -> str:
    """Registry key of an Idempotency-Key: hashed, so any client key stays short and opaque."""
    digest = hashlib.sha256(f"{referrer_id}\x1f{idempotency_key}".encode()).hexdigest()
    return f"alias/{digest}"


def case_key(case_id: str) -> str:
    """Registry key of a case's state."""
    return f"case/{case_id}"


def erased_key(case_id: str) -> str:
    """Registry key of the marker left after a case's patient data was erased."""
    return f"erased/{case_id}"


def erased_name_key(identity_key: str) -> str:
    """Registry key kept for a name of an erased case: its `identity/<hash>` key's hash."""
    return f"erased-name/{identity_key.partition('/')[2]}"
