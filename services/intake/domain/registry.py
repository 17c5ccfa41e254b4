"""The idempotency registry: what intake has stored, rebuilt from the compacted registry topic.

Three record kinds share the topic, told apart by their key prefix and `kind`:
`case/<case id>` (state of a case), `alias/<hash>` (an Idempotency-Key) and `erased/<case id>`
(marker left after erasure). None of them holds patient data; a value of None is a tombstone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, TypeAdapter

from schemas.envelope import Contract

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


class AliasRecord(Contract):
    """An Idempotency-Key a referrer used, and the body it was first used with."""

    kind: Literal["alias"] = "alias"
    case_id: str
    referrer_id: str
    body_hash: str


class ErasedRecord(Contract):
    """The case existed and its patient data was erased; the case id is not reused."""

    kind: Literal["erased"] = "erased"
    case_id: str
    referrer_id: str
    erased_at: AwareDatetime


RegistryRecord = Annotated[CaseRecord | AliasRecord | ErasedRecord, Field(discriminator="kind")]
_RECORD = TypeAdapter(RegistryRecord)


def parse_record(raw: bytes | None) -> CaseRecord | AliasRecord | ErasedRecord | None:
    """Wire bytes of a registry value (None = tombstone) to its record."""
    return None if raw is None else _RECORD.validate_json(raw)


def record_bytes(record: CaseRecord | AliasRecord | ErasedRecord | None) -> bytes | None:
    """A registry value's wire bytes (None stays None: a tombstone)."""
    return None if record is None else record.model_dump_json().encode()


@dataclass
class Registry:
    """In-memory view of the registry topic; `apply` is last-write-wins per key, like compaction."""

    cases: dict[str, CaseRecord] = field(default_factory=dict)
    aliases: dict[str, AliasRecord] = field(default_factory=dict)
    erased: dict[str, ErasedRecord] = field(default_factory=dict)

    def apply(self, key: str, record: CaseRecord | AliasRecord | ErasedRecord | None) -> None:
        """Set or (for a tombstone) delete the record under `key`."""
        kind, _, ident = key.partition("/")
        tables: dict[str, dict[str, Any]] = {
            "case": self.cases, "alias": self.aliases, "erased": self.erased
        }
        if record is None:
            tables[kind].pop(ident, None)
        elif record.kind != kind:
            raise KeyError(f"a {record.kind} record under a {kind} key")
        else:
            tables[kind][ident] = record

    def alias(self, key: str) -> AliasRecord | None:
        """The alias stored under a full `alias/<hash>` key."""
        return self.aliases.get(key.partition("/")[2])

    def alias_keys_of(self, case_id: str) -> list[str]:
        """Full keys of every alias pointing at `case_id` (erasure tombstones them)."""
        return sorted(f"alias/{k}" for k, a in self.aliases.items() if a.case_id == case_id)
