"""Routing settings from the environment: safe local defaults, and outside development mode
no start without a real public URL and peer secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from services.common.deployment_secrets import dev_path, development_mode, required_secret
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
        public_url=public_url_from_env(),
    )


def public_url_from_env() -> str:
    """Routing's API as reviewers reach it: the base of every case-view link in offers.

    Outside development mode it must be set, to an absolute https URL: a loopback default put
    http://127.0.0.1 links into every production offer, and nothing failed.
    """
    development = development_mode()
    url = env_str("ROUTING_PUBLIC_URL", f"http://127.0.0.1:{http_port('routing')}"
                  if development else "").strip().rstrip("/")
    if not url:
        raise ValueError("ROUTING_PUBLIC_URL is not set; outside development mode (SPINE_ENV) "
                         "set it to the https URL reviewers reach routing at, see docs/deploy.md")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a malformed port raises only when read
    except ValueError as exc:
        raise ValueError(f"ROUTING_PUBLIC_URL is not a valid URL: {url!r}") from exc
    schemes = ("https", "http") if development else ("https",)
    if parts.scheme not in schemes or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"ROUTING_PUBLIC_URL must be an absolute {' or '.join(schemes)} URL "
                         f"without query or fragment, e.g. https://routing.example.org; got "
                         f"{url!r}")
    return url


@dataclass(frozen=True)
class RoutingSettings:
    port: int
    expiry_scan_seconds: float  # how often the timer looks for expired offers
    reply_timeout_seconds: float  # how long the HTTP API waits for the agent's decision
    directory_wait_seconds: float  # how long PUT/DELETE wait to see their change applied
    policy: RoutingPolicy
    # Signs and checks relays between routing's workers (services/common/peer_signature.py).
    peer_secret: str = field(repr=False)
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
        # The same on every worker: generated (0600) in development mode, else required.
        peer_secret=required_secret("SPINE_PEER_SECRET", dev_path=dev_path("dev-peer-secret")),
        kafka_wait_seconds=http_kafka_timeout(),
    )
