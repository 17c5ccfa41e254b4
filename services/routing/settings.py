"""Routing settings from the environment, with safe local defaults."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.forwarding import RELAY_MARGIN_SECONDS
from services.common.kafka_wait import http_kafka_timeout
from services.common.settings import env_float, env_str, http_port
from services.common.sla_policy import load_sla_policy
from services.routing.domain.policy import PREFERENCES, RoutingPolicy


def policy_from_env() -> RoutingPolicy:
    """The routing policy; offer windows and deadlines come from the shared SLA policy."""
    order = tuple(p.strip() for p in env_str("ROUTING_RELAXATION_ORDER",
                                             ",".join(PREFERENCES)).split(",") if p.strip())
    unknown = set(order) - set(PREFERENCES)
    if unknown:
        raise ValueError(f"ROUTING_RELAXATION_ORDER has unknown preferences: {sorted(unknown)}")
    return RoutingPolicy(
        sla=load_sla_policy(), relaxation_order=order,
        review_hours_per_case=env_float("ROUTING_REVIEW_HOURS_PER_CASE", 8.0),
        min_cause_probability=env_float("ROUTING_MIN_CAUSE_PROBABILITY", 0.15),
        public_url=env_str("ROUTING_PUBLIC_URL",
                           f"http://127.0.0.1:{http_port('routing')}").rstrip("/"),
    )


@dataclass(frozen=True)
class RoutingSettings:
    port: int
    expiry_scan_seconds: float  # how often the timer looks for expired offers
    reply_timeout_seconds: float  # how long the HTTP API waits for the agent's decision
    directory_wait_seconds: float  # how long PUT/DELETE wait to see their change applied
    policy: RoutingPolicy
    kafka_wait_seconds: float = 5.0  # how long a command waits for Kafka's ack (KAFKA_HTTP_...)

    @property
    def relay_timeout_seconds(self) -> float:
        """How long a worker waits for a case's owner to answer a relayed request: the owner's
        worst case (Kafka's ack of the command, then the agent's decision) plus the hop. With a
        shorter wait a command the owner accepted was answered "503, retry" by the relay."""
        return self.kafka_wait_seconds + self.reply_timeout_seconds + RELAY_MARGIN_SECONDS


def load_settings() -> RoutingSettings:
    """Read every routing setting once, at start-up."""
    return RoutingSettings(
        port=http_port("routing"),
        expiry_scan_seconds=env_float("ROUTING_EXPIRY_SCAN_SECONDS", 5.0),
        reply_timeout_seconds=env_float("ROUTING_REPLY_TIMEOUT_SECONDS", 10.0),
        directory_wait_seconds=env_float("ROUTING_DIRECTORY_WAIT_SECONDS", 5.0),
        policy=policy_from_env(),
        kafka_wait_seconds=http_kafka_timeout(),
    )
