"""The idempotency registry: what intake has stored, rebuilt from the compacted registry topic.

Five record kinds share the topic, told apart by their key prefix and `kind`:
`case/<case id>` (state of a case), `alias/<hash>` (an Idempotency-Key), `identity/<hash>` (one
name a sender gives the referral: FHIR identifier, bundle or message id, or a fullUrl within one
sender; see services/intake/fhir/identity.py), `erased/<case id>` (marker left after erasure)
and `erased-name/<hash>` (an erased case's name, by the hash of its identity key only).
None of them holds patient data; a value of None is a tombstone.

A case's state never goes back (`case_order`): each worker reads its own writes back about
BATCH_MS later (services/common/follow.py), and a key written twice meanwhile had its older
record overwrite the newer one, so a cancelled case took an update. The other kinds keep the
last record: an alias or identity is written only while its key is not held, so no worker
writes one twice, and an erased marker or name is never tombstoned. A record of any kind read back
after its tombstone (an erasure) is held again until the tombstone is read back too; meanwhile
the case's erased marker decides every request (410 or 404), and the erasure watch repairs
only what is still held past its grace period (services/intake/domain/erasure.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, TypeAdapter

from schemas.envelope import Contract
from services.intake.domain.case_index import CaseOrder, Position, ValueIndex

CaseStatus = Literal["open", "cancelled"]
Via = Literal["json", "fhir"]


class CaseRecord(Contract):
    """State of one case as intake last stored it."""

    kind: Literal["case"] = "case"
    case_id: str
    referrer_id: str
    referral_id: str
    revision: int = Field(ge=1)
    first_body_hash: str  # a resend of the original POST still replays after an update
    body_hash: str
    status: CaseStatus = "open"
    received_via: Via = "json"
    missing_records: list[str] = Field(default_factory=list)
    unmapped: list[str] = Field(default_factory=list)
    updated_at: AwareDatetime
    # When the case was opened; never changes, so Task search pages stay put while cases are
    # updated. None on records written before it existed (they page by `updated_at`).
    received_at: AwareDatetime | None = None


class AliasRecord(Contract):
    """An Idempotency-Key a referrer used, and the body it was first used with."""

    kind: Literal["alias"] = "alias"
    case_id: str
    referrer_id: str
    body_hash: str


class IdentityRecord(Contract):
    """One name under which the referrer's referral is known; updates and cancels look it up."""

    kind: Literal["identity"] = "identity"
    case_id: str
    referrer_id: str
    scheme: Literal["identifier", "bundle", "message", "local"]
    system: str = ""  # identifier system, or for `local` the sender it is scoped to
    value: str


class ErasedRecord(Contract):
    """The case existed and its patient data was erased; the case id is not reused."""

    kind: Literal["erased"] = "erased"
    case_id: str
    referrer_id: str
    erased_at: AwareDatetime


class ErasedNameRecord(Contract):
    """A name of an erased case, under its identity key's hash (`erased-name/<hash>`): the name
    itself is tombstoned with the case, yet a message naming the case by it must answer 410
    like a request by case id, not 404 (or open a new case). The hash reveals no more than the
    case id kept in the erased marker, itself a hash of the referral id."""

    kind: Literal["erased-name"] = "erased-name"
    case_id: str
    referrer_id: str


AnyRecord = CaseRecord | AliasRecord | IdentityRecord | ErasedRecord | ErasedNameRecord
RegistryRecord = Annotated[AnyRecord, Field(discriminator="kind")]
_RECORD = TypeAdapter(RegistryRecord)


def parse_record(raw: bytes | None) -> AnyRecord | None:
    """Wire bytes of a registry value (None = tombstone) to its record."""
    return None if raw is None else _RECORD.validate_json(raw)


def record_bytes(record: AnyRecord | None) -> bytes | None:
    """A registry value's wire bytes (None stays None: a tombstone). A case record without
    `received_at` leaves the key out, not null: a worker of a release before it refuses any
    key it does not know, null or not (the rollout flag's whole point)."""
    if record is None:
        return None
    if isinstance(record, CaseRecord) and record.received_at is None:
        return record.model_dump_json(exclude={"received_at"}).encode()
    return record.model_dump_json().encode()


def as_written(record: AnyRecord | None, *, received_at: bool) -> AnyRecord | None:
    """The record as this worker writes it: without `received_at` while a rolling update from a
    release that refuses the field runs (IntakeSettings.registry_received_at), so the record
    it applies itself is the one every worker reads back."""
    if isinstance(record, CaseRecord):
        return case_as_written(record, received_at=received_at)
    return record


def case_as_written(record: CaseRecord, *, received_at: bool) -> CaseRecord:
    """`as_written` for a case record."""
    if received_at or record.received_at is None:
        return record
    return record.model_copy(update={"received_at": None})


def case_order(case: CaseRecord) -> tuple[bool, int]:
    """Where a state sits in its case's life; `apply` never trades one for an earlier one.
    Cancelled is final (nothing updates or reopens it, and downstream routing stops the case
    for good), so it outranks every open revision, even a higher one another worker wrote in a
    race. Not `updated_at`: that is the deciding worker's wall clock, no order across workers."""
    return case.status == "cancelled", case.revision


def position(case: CaseRecord) -> Position:
    """Where the case sits in Task search order: when it was opened, which no later update or
    cancellation changes. By last update, a case updated between two pages jumped ahead of the
    cursor and the later pages skipped it (a referral system syncing its Tasks lost it)."""
    return case.received_at or case.updated_at, case.case_id


@dataclass
class Registry:
    """In-memory view of the registry topic: the last record per key, like compaction, except
    that a case's state never goes back (`case_order`)."""

    cases: dict[str, CaseRecord] = field(default_factory=dict)
    aliases: dict[str, AliasRecord] = field(default_factory=dict)
    erased: dict[str, ErasedRecord] = field(default_factory=dict)
    identities: dict[str, IdentityRecord] = field(default_factory=dict)
    erased_names: dict[str, ErasedNameRecord] = field(default_factory=dict)  # by identity hash
    _identities_by_case: dict[str, set[str]] = field(default_factory=dict)
    _aliases_by_case: dict[str, set[str]] = field(default_factory=dict)
    order: CaseOrder = field(default_factory=CaseOrder)  # Task search: newest first, per owner
    values: ValueIndex = field(default_factory=ValueIndex)  # Task search: by identifier value

    def apply(self, key: str, record: AnyRecord | None) -> None:
        """Set or (for a tombstone) delete the record under `key`; an earlier state of a held
        case is ignored. An equal one is applied: the same state read back, or two workers'
        writes of one state, where the later in the topic is the one compaction keeps."""
        kind, _, ident = key.partition("/")
        tables: dict[str, dict[str, Any]] = {
            "case": self.cases, "alias": self.aliases, "erased": self.erased,
            "identity": self.identities, "erased-name": self.erased_names,
        }
        if record is not None and record.kind != kind:
            raise KeyError(f"a {record.kind} record under a {kind} key")
        held = self.cases.get(ident) if kind == "case" else None
        if isinstance(record, CaseRecord) and held and case_order(record) < case_order(held):
            return
        previous = tables[kind].pop(ident, None)
        if previous is not None:
            self._unindex(ident, previous)
        if record is not None:
            tables[kind][ident] = record
            self._index(ident, record)

    def _index(self, ident: str, record: AnyRecord) -> None:
        if isinstance(record, AliasRecord):
            self._aliases_by_case.setdefault(record.case_id, set()).add(ident)
        elif isinstance(record, IdentityRecord):
            self._identities_by_case.setdefault(record.case_id, set()).add(ident)
            if record.scheme == "identifier":
                self.values.add(record.value, record.case_id)
        elif isinstance(record, CaseRecord):
            self.order.add(record.referrer_id, position(record))
            self.values.add(record.referral_id, record.case_id)

    def _unindex(self, ident: str, record: AnyRecord) -> None:
        if isinstance(record, AliasRecord):
            self._aliases_by_case.get(record.case_id, set()).discard(ident)
        elif isinstance(record, IdentityRecord):
            self._identities_by_case.get(record.case_id, set()).discard(ident)
            if record.scheme == "identifier":
                self.values.remove(record.value, record.case_id)
        elif isinstance(record, CaseRecord):
            self.order.remove(record.referrer_id, position(record))
            self.values.remove(record.referral_id, record.case_id)

    def identity(self, key: str) -> IdentityRecord | None:
        """The identity stored under a full `identity/<hash>` key."""
        return self.identities.get(key.partition("/")[2])

    def erased_name(self, key: str) -> ErasedNameRecord | None:
        """The erased case a full `identity/<hash>` key named, once it was erased."""
        return self.erased_names.get(key.partition("/")[2])

    def identity_keys_of(self, case_id: str) -> list[str]:
        """Full keys of every identity naming `case_id` (erasure tombstones them)."""
        return sorted(f"identity/{k}" for k in self._identities_by_case.get(case_id, ()))

    def identifiers_of(self, case: CaseRecord) -> list[tuple[str, str]]:
        """The (system, value) identifiers the sender gave the case's referral."""
        found = [self.identities[k] for k in sorted(self._identities_by_case.get(case.case_id, ()))]
        return [(r.system, r.value) for r in found if r.scheme == "identifier"]

    def alias(self, key: str) -> AliasRecord | None:
        """The alias stored under a full `alias/<hash>` key."""
        return self.aliases.get(key.partition("/")[2])

    def alias_keys_of(self, case_id: str) -> list[str]:
        """Full keys of every alias pointing at `case_id` (erasure tombstones them)."""
        return sorted(f"alias/{k}" for k in self._aliases_by_case.get(case_id, ()))

    def leftovers_of(self, case_id: str) -> list[str]:
        """Keys of every record still held for `case_id` that erasure tombstones: its state,
        aliases and identities (all of them, once it is erased, were written too late)."""
        state = [f"case/{case_id}"] if case_id in self.cases else []
        return state + self.alias_keys_of(case_id) + self.identity_keys_of(case_id)
