"""Every Kafka topic the system uses, with the partition counts it is created with."""

from __future__ import annotations

from dataclasses import dataclass, field

CASE_PARTITIONS = 8  # co-partitioned case topics (faust tables line up); room for 8 workers
# The largest record a faust service produces (its producer's `max_request_size`; a larger one
# is refused in the producer, and a refused changelog write crashes the worker). Below the
# broker's default `max.message.bytes` (1,048,588), which the topics keep: whatever the producer
# sends, the broker takes. Rows and events that grow with their input are capped well under it
# (routing's case and content rows at 512 KiB, dead letters' copy of the original at 256 KiB).
MAX_RECORD_BYTES = 1_000_000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = CASE_PARTITIONS
    config: dict[str, str] = field(default_factory=dict)


REFERRAL_EVENTS = "referral.events.v1"  # intake -> triage (received, cancelled)
CASE_TRIAGED = "case.triaged.v1"  # triage -> routing, notify
ROUTING_COMMANDS = "routing.commands.v1"  # specialists' API -> routing agent (accept, decline...)
ROUTING_EVENTS = "routing.events.v1"  # routing -> notify, dashboards
SPECIALIST_DIRECTORY = "specialist.directory.v1"  # compacted, keyed by specialist id
SLA_EVENTS = "sla.events.v1"  # notify's SLA clocks -> dashboards, escalation
NOTIFICATION_EVENTS = "notification.events.v1"  # delivery outcomes
DEAD_LETTERS = "deadletter.v1"  # anything an agent could not process, with the reason
INTAKE_REGISTRY = "intake.registry.v1"  # compacted: intake's idempotency keys and case states
ROUTING_LOAD = "routing.load.v1"  # internal: load changes keyed by specialist id
NOTIFY_COMMANDS = "notify.commands.v1"  # internal: notify's clock ticks and acknowledgements

# Retention and cleanup are set explicitly on every topic (never the broker's defaults); the
# erasure design is in docs/security.md.
HOUR_MS, DAY_MS = 3_600_000, 86_400_000
_COMPACTED = {"cleanup.policy": "compact", "min.compaction.lag.ms": "0",
              "retention.ms": "-1"}
# Topics that carry patient-identifying data (patient block, identifiers, free text, report
# text, decline reasons, original bytes of dead letters) are compacted per case id. Erasure
# writes CaseErased and then a tombstone keyed by the case id to each of them, so compaction
# leaves nothing of the case. A consumer that lags more than `min.compaction.lag.ms` sees only
# each case's latest record; `max.compaction.lag.ms` bounds how long erased data survives.
PATIENT_DATA = {
    "cleanup.policy": "compact", "retention.ms": "-1",
    "min.compaction.lag.ms": str(HOUR_MS), "max.compaction.lag.ms": str(DAY_MS),
    "delete.retention.ms": str(HOUR_MS),  # how long the tombstones themselves stay readable
}
# Topics without patient data (ids, pseudonyms, clock and delivery facts): time retention.
_OPERATIONAL = {"cleanup.policy": "delete", "retention.ms": str(7 * DAY_MS)}

ALL_TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(REFERRAL_EVENTS, config=PATIENT_DATA),
    TopicSpec(CASE_TRIAGED, config=PATIENT_DATA),
    TopicSpec(ROUTING_COMMANDS, config=PATIENT_DATA),
    TopicSpec(ROUTING_EVENTS, config=PATIENT_DATA),
    TopicSpec(SPECIALIST_DIRECTORY, partitions=1, config=_COMPACTED),
    TopicSpec(SLA_EVENTS, config=_OPERATIONAL),
    TopicSpec(NOTIFICATION_EVENTS, config=_OPERATIONAL),
    TopicSpec(DEAD_LETTERS, partitions=1, config=PATIENT_DATA),
    TopicSpec(INTAKE_REGISTRY, partitions=1, config=_COMPACTED),
    TopicSpec(ROUTING_LOAD, config=_OPERATIONAL),
    TopicSpec(NOTIFY_COMMANDS, config=_OPERATIONAL),
)
# Where an erasure leaves a tombstone keyed by the case id (after CaseErased).
ERASED_BY_TOMBSTONE: tuple[str, ...] = tuple(
    spec.name for spec in ALL_TOPICS if spec.config is PATIENT_DATA)
