"""Cases whose event reached Kafka without their registry record (pure: the service writes).

Intake writes a new case's ReferralReceived, then its `case/` record, and answers 202 only when
both are acknowledged. A write that times out between the two answers 503, yet the event may
land: triage and routing then work the case while the registry has no record of it, so intake
answers 404 to its reads, to its cancellation and to its erasure (its patient data could not be
erased). A retry of the POST writes the record; a client that gives up never does. So every
worker notes a ReferralReceived read from `referral.events.v1` for a case its registry does not
hold, and one still missing after a grace period (far longer than a write takes to be read back)
is written to the registry, rebuilt from the event (which carries everything the record holds
except the Idempotency-Key, which stays unrecorded). A FHIR case's names (`identity/` records:
the sender's identifiers, message and bundle ids, fullUrl) are not on the event either; they are
written before it (referrals/service.py, `_commit`), so they outlive the lost case record and
the rebuilt case is found by them. Erased cases are never noted or rebuilt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schemas.cases import ReferralReceived
from services.intake.domain.ids import body_hash
from services.intake.domain.registry import CaseRecord, Registry

# Suspects held at once: real orphans are rare (one per lost acknowledgement), and a record
# read late settles its suspect; past the cap a new suspect waits for the next read of its
# event (a restart or reconnect reads the topic again).
MAX_SUSPECTS = 1_000
MAX_UNREADABLE = 10_000


@dataclass
class OrphanWatch:
    """Cases seen on the event topic but not in the registry: case id -> (first seen, record)."""

    suspects: dict[str, tuple[datetime, CaseRecord]] = field(default_factory=dict)
    # Cases whose registry record this worker could not read (a release rolled back past a
    # field, a damaged record): missing to this worker only, so never rebuilt, or a cancelled
    # case would be written back open. Past the cap, no case is rebuilt at all.
    unreadable: set[str] = field(default_factory=set)
    blind: bool = False  # more unreadable records than it can remember: repair nothing

    def unreadable_record(self, case_id: str) -> None:
        """This worker skipped the case's registry record: leave the case alone."""
        self.suspects.pop(case_id, None)
        if len(self.unreadable) < MAX_UNREADABLE:
            self.unreadable.add(case_id)
        else:
            self.blind = True

    def received(self, registry: Registry, event: ReferralReceived, now: datetime) -> None:
        """Note one ReferralReceived read from the topic."""
        case_id = event.case_id
        if case_id in registry.cases or case_id in registry.erased or case_id in self.unreadable:
            return
        held = self.suspects.get(case_id)
        if held is not None and held[1].revision >= event.revision:
            return
        if held is None and len(self.suspects) >= MAX_SUSPECTS:
            return
        digest = body_hash(event.referral)
        record = CaseRecord(
            case_id=case_id, referrer_id=event.referrer_id,
            referral_id=event.referral.referral_id, revision=event.revision,
            first_body_hash=held[1].first_body_hash if held else digest, body_hash=digest,
            received_via=event.received_via, missing_records=list(event.missing_records),
            unmapped=list(event.unmapped), updated_at=event.occurred_at,
            received_at=held[1].received_at if held else event.occurred_at,
        )
        self.suspects[case_id] = (held[0] if held else now, record)

    def erased(self, case_id: str) -> None:
        """The case was erased: never rebuild it."""
        self.suspects.pop(case_id, None)

    def due(self, registry: Registry, now: datetime, grace: timedelta) -> list[CaseRecord]:
        """Records to write: suspects still missing from the registry after `grace`. Settled
        ones (the registry holds the case, or it was erased) are forgotten."""
        ready: list[CaseRecord] = []
        if self.blind:
            self.suspects.clear()
            return ready
        for case_id, (since, record) in list(self.suspects.items()):
            if case_id in registry.cases or case_id in registry.erased:
                del self.suspects[case_id]
            elif now - since >= grace:
                ready.append(record)
        return ready

    def repaired(self, case_id: str) -> None:
        self.suspects.pop(case_id, None)
