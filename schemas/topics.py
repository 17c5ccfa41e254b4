"""Every Kafka topic the system uses, with the partition counts it is created with."""

from __future__ import annotations

from dataclasses import dataclass, field

CASE_PARTITIONS = 8  # co-partitioned case topics (faust tables line up); room for 8 workers


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

_COMPACTED = {"cleanup.policy": "compact", "min.compaction.lag.ms": "0"}

ALL_TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(REFERRAL_EVENTS),
    TopicSpec(CASE_TRIAGED),
    TopicSpec(ROUTING_COMMANDS),
    TopicSpec(ROUTING_EVENTS),
    TopicSpec(SPECIALIST_DIRECTORY, partitions=1, config=_COMPACTED),
    TopicSpec(SLA_EVENTS),
    TopicSpec(NOTIFICATION_EVENTS),
    TopicSpec(DEAD_LETTERS, partitions=1),
    TopicSpec(INTAKE_REGISTRY, partitions=1, config=_COMPACTED),
    TopicSpec(ROUTING_LOAD),
    TopicSpec(NOTIFY_COMMANDS),
)
