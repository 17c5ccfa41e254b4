"""Erasure: what erasing a case writes, and how it converges across intake workers (pure: the
service writes).

An erasure writes CaseErased (no patient data), an `erased/` marker, an `erased-name/` record
per name of the case (the hash of its identity key only: a message naming the erased case by
any name answers 410, not 404) and tombstones for the case's registry records.

What was written for a case after its erasure is found by every worker and tombstoned again.

Each worker decides on its own registry view, which trails the topic. Worker A erases a case
and answers 202; worker B, not yet seeing the `erased/` marker (or having decided just before
it), stores an update: a ReferralReceived with patient data lands after A's tombstones, so
compaction would keep it for good, and the registry holds `case/<id>` beside `erased/<id>`.
So every worker watches for, and remembers as suspects:

- a registry record of the case (state, alias, identity) while its marker is there, or the
  marker while such records are still there. The registry topic is one partition, and an
  erasure writes its marker and then the case's tombstones: the second form is normal for the
  moment between them, and settles by itself;
- a record other than a tombstone, on a followed topic erasure tombstones, for a case whose
  marker is there, until a tombstone for the case follows it on that topic.

A suspect still unsettled after a grace period (longer than an erasure takes to write its own
tombstones) is repaired: tombstones for the case key on every topic erasure tombstones, then
for its registry records. Whether a case needs repair is judged from the state reached, never
from the record that raised the suspicion, so re-reading the same records (a restart, a
reconnect) finds it settled and writes nothing; tombstones never raise a suspicion, so workers
repairing the same case (each may) do not set each other off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schemas.cases import CaseErased
from schemas.envelope import utc
from services.intake.domain import ids
from services.intake.domain.decisions import Decision, Write, owned_case
from services.intake.domain.registry import AnyRecord, ErasedNameRecord, ErasedRecord, Registry


def decide_erasure(
    registry: Registry, *, case_id: str, requested_by: str, now: datetime
) -> Decision:
    """Erase a case's patient data: CaseErased, tombstones for its records, an erased marker.
    A repeat tombstones whatever is still held for the case (an erasure that failed half-way,
    or records another worker wrote after it)."""
    marker = registry.erased.get(case_id)
    if marker is not None:
        return Decision("replayed", None, case_id,
                        writes=erasure_writes(registry, case_id, marker.referrer_id))
    case = owned_case(registry, case_id=case_id, referrer_id=None)
    event = CaseErased(
        event_id=ids.erased_event_id(case_id=case_id), case_id=case_id, occurred_at=now,
        referrer_id=case.referrer_id, requested_by=requested_by,
    )
    marker = ErasedRecord(case_id=case_id, referrer_id=case.referrer_id, erased_at=utc(now))
    writes = (Write(ids.erased_key(case_id), marker),
              *erasure_writes(registry, case_id, case.referrer_id))
    return Decision("erased", None, case_id, event, writes)


def erasure_writes(registry: Registry, case_id: str, referrer_id: str) -> tuple[Write, ...]:
    """What erasing a case writes after its marker: an `erased-name/` record for each of its
    names (their hashes only), so a message naming the case by any of them answers 410, then
    a tombstone for every record still held for it. The names' records go first: no moment
    has the case's names neither live nor kept as erased."""
    leftovers = registry.leftovers_of(case_id)
    kept = ErasedNameRecord(case_id=case_id, referrer_id=referrer_id)
    names = tuple(Write(ids.erased_name_key(key), kept)
                  for key in leftovers if key.startswith("identity/"))
    return names + tuple(Write(key, None) for key in leftovers)


@dataclass
class ErasureWatch:
    """Erased cases something may have been written for after their erasure."""

    suspects: dict[str, datetime] = field(default_factory=dict)  # case id -> first suspected
    # (topic, case id) of an erased case whose latest record read on that topic is not a
    # tombstone. Only erased cases are tracked, and a tombstone removes the entry.
    live: set[tuple[str, str]] = field(default_factory=set)
    # Suspicious records noted per suspect: a repair forgets the case only if none came in
    # while its tombstones were in flight (one landing after them must be repaired again).
    noted: dict[str, int] = field(default_factory=dict)

    def registry_record(self, registry: Registry, record: AnyRecord | None,
                        now: datetime) -> None:
        """Note one registry record just applied to `registry`."""
        if record is not None and self._held_after_erasure(registry, record.case_id):
            self._suspect(record.case_id, now)

    def topic_record(self, registry: Registry, topic: str, case_id: str, *, tombstone: bool,
                     now: datetime) -> None:
        """Note one record read on a topic erasure tombstones (keyed by case id)."""
        if tombstone:
            self.live.discard((topic, case_id))
        elif case_id in registry.erased:
            self.live.add((topic, case_id))
            self._suspect(case_id, now)

    def due(self, registry: Registry, now: datetime, grace: timedelta) -> list[str]:
        """Suspects still unsettled after `grace`, to repair; settled ones are forgotten."""
        ready = []
        for case_id, since in list(self.suspects.items()):
            if not self.unsettled(registry, case_id):
                del self.suspects[case_id]
                self.noted.pop(case_id, None)
            elif now - since >= grace:
                ready.append(case_id)
        return ready

    def unsettled(self, registry: Registry, case_id: str) -> bool:
        """The case is erased and something written for it is not tombstoned (as far as this
        worker has read)."""
        return self._held_after_erasure(registry, case_id) or (
            case_id in registry.erased and any(c == case_id for _, c in self.live))

    def mark(self, case_id: str) -> int:
        """Taken before a repair writes: what `repaired` compares with."""
        return self.noted.get(case_id, 0)

    def repaired(self, case_id: str, mark: int, now: datetime) -> None:
        """Its tombstones were written again: nothing of it is left to watch, unless a record
        was noted since `mark` (it may have landed after them): then the case stays a suspect,
        its grace counted afresh, and is repaired again."""
        if self.noted.get(case_id, 0) != mark:
            self.suspects[case_id] = now
            return
        self.suspects.pop(case_id, None)
        self.noted.pop(case_id, None)
        self.live = {(t, c) for t, c in self.live if c != case_id}

    def _suspect(self, case_id: str, now: datetime) -> None:
        self.suspects.setdefault(case_id, now)
        self.noted[case_id] = self.noted.get(case_id, 0) + 1

    @staticmethod
    def _held_after_erasure(registry: Registry, case_id: str) -> bool:
        return case_id in registry.erased and bool(registry.leftovers_of(case_id))
