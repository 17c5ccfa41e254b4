"""Referral identity: the names a sender gives a referral, and finding a case by any of them.

A FHIR referral is named, in order of preference, by its ServiceRequest.identifier (system and
value: the sender's referral id), else by its Bundle.identifier or MessageHeader id, else by its
ServiceRequest fullUrl (or id) *within one sender* — public examples reuse the same urn:uuid
fullUrl across different senders. Every name is stored (registry `identity/<hash>` records, at
most MAX_NAMES_PER_CASE per case) so an update or cancellation that names the referral
differently (the NHS Wales cancel names it by identifier) still finds the case. Names live per
authenticated referral system.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal, NamedTuple

from services.intake.domain.decisions import Write
from services.intake.domain.registry import IdentityRecord, Registry

Scheme = Literal["identifier", "bundle", "message", "local"]
# Names a case may collect across all its messages: one message brings at most 13 (ten
# identifiers, its bundle and message ids, its fullUrl), and each update a new message id and
# often a bundle id. Past the cap a message's new names are not recorded: the case is still
# found by the names it already has, and its registry records and Task view stay bounded.
MAX_NAMES_PER_CASE = 20


class Name(NamedTuple):
    scheme: Scheme
    system: str  # identifier system; for `local`, the sender the value is scoped to
    value: str


def identity_key(referrer_id: str, name: Name) -> str:
    """Registry key of one name of a referral (hashed: any sender's strings stay short)."""
    raw = "\x1f".join((referrer_id, name.scheme, name.system, name.value))
    return f"identity/{hashlib.sha256(raw.encode()).hexdigest()}"


def derivation_key(names: Sequence[Name]) -> str:
    """What a new case's id is derived from: an identifier's value alone (so the JSON contract's
    `referral_id` twin lands on the same case), anything else with its scheme and scope."""
    first = names[0]
    return first.value if first.scheme == "identifier" else "|".join(first)


def find_case(
    registry: Registry, *, referrer_id: str, names: Sequence[Name], submit: bool = False,
) -> str | None:
    """The case the most preferred name that names one points at, live or erased (an erased
    case's requests then answer 410 Gone, as by case id: erasure tombstones the names, and a
    message naming the case by one its id does not derive from answered 404, or as an update
    opened a new case with the patient's data).

    One pass in order of preference, each name tried live then erased: with every live name
    tried first, a message naming an erased case by its identifier and a live one by a reused
    bundle id or fullUrl was applied to the live case (the erased patient's data onto another
    case). A `submit` (a new referral) is Gone only by its first name, the one its case id
    derives from: a secondary name it shares with an erased case does not make a new
    referral_id 410 (that name stays with the erased case: identity_writes)."""
    for position, name in enumerate(names):
        key = identity_key(referrer_id, name)
        record = registry.identity(key)
        if record is not None:
            return record.case_id
        erased = registry.erased_name(key) if position == 0 or not submit else None
        if erased is not None:
            return erased.case_id
    return None


def identity_writes(
    registry: Registry, *, case_id: str, referrer_id: str, names: Sequence[Name]
) -> tuple[Write, ...]:
    """Records for the names not yet known, in order of preference while the case has room for
    them (MAX_NAMES_PER_CASE); a name already taken by another case, or by an erased one,
    stays put."""
    writes: list[Write] = []
    room = MAX_NAMES_PER_CASE - len(registry.identity_keys_of(case_id))
    for name in dict.fromkeys(names):
        if len(writes) >= room:
            break
        key = identity_key(referrer_id, name)
        if registry.identity(key) is None and registry.erased_name(key) is None:
            writes.append(Write(key, IdentityRecord(
                case_id=case_id, referrer_id=referrer_id, scheme=name.scheme,
                system=name.system, value=name.value,
            )))
    return tuple(writes)
