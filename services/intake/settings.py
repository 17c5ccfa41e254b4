"""Intake's settings, from the environment with safe local defaults."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.settings import (
    env_bool,
    env_float,
    env_int,
    env_str,
    http_port,
    kafka_bootstrap,
)


@dataclass(frozen=True)
class IntakeSettings:
    port: int = 8001
    kafka_bootstrap: str = "127.0.0.1:9092"
    send_timeout_seconds: float = 5.0  # longer than this unacknowledged -> 503, never a 202
    retry_after_seconds: int = 5  # what a 503 tells clients to wait
    max_body_bytes: int = 1024 * 1024
    rate_limit_burst: int = 60  # token bucket per client credential
    rate_limit_per_second: float = 10.0
    task_view_max_cases: int = 20_000  # cases whose FHIR Task status each worker keeps
    fhir_base_url: str = ""  # public FHIR base, e.g. https://host/fhir; default: from the request
    # How long a record written after a case's erasure may stand before this worker tombstones
    # the case again (domain/erasure.py): longer than an erasure takes to write its own.
    erasure_repair_grace_seconds: float = 10.0
    # Whether case records carry `received_at` (when the case was opened). A worker of a release
    # before it refuses such records (strict parsing), so a rolling update from one sets this
    # false until every worker runs this release, then unsets it (docs/intake.md).
    registry_received_at: bool = True

    @classmethod
    def from_env(cls) -> IntakeSettings:
        """INTAKE_PORT, KAFKA_BOOTSTRAP, INTAKE_SEND_TIMEOUT_SECONDS, INTAKE_RETRY_AFTER_SECONDS,
        INTAKE_MAX_BODY_BYTES, INTAKE_RATE_LIMIT_BURST, INTAKE_RATE_LIMIT_PER_SECOND,
        INTAKE_TASK_VIEW_MAX_CASES, INTAKE_FHIR_BASE_URL, INTAKE_ERASURE_REPAIR_GRACE_SECONDS,
        INTAKE_REGISTRY_RECEIVED_AT."""
        return cls(
            port=http_port("intake"),
            kafka_bootstrap=kafka_bootstrap(),
            send_timeout_seconds=env_float("INTAKE_SEND_TIMEOUT_SECONDS", cls.send_timeout_seconds),
            retry_after_seconds=env_int("INTAKE_RETRY_AFTER_SECONDS", cls.retry_after_seconds),
            max_body_bytes=env_int("INTAKE_MAX_BODY_BYTES", cls.max_body_bytes),
            rate_limit_burst=env_int("INTAKE_RATE_LIMIT_BURST", cls.rate_limit_burst),
            rate_limit_per_second=env_float(
                "INTAKE_RATE_LIMIT_PER_SECOND", cls.rate_limit_per_second
            ),
            task_view_max_cases=env_int("INTAKE_TASK_VIEW_MAX_CASES", cls.task_view_max_cases),
            fhir_base_url=env_str("INTAKE_FHIR_BASE_URL", "").rstrip("/"),
            erasure_repair_grace_seconds=env_float(
                "INTAKE_ERASURE_REPAIR_GRACE_SECONDS", cls.erasure_repair_grace_seconds
            ),
            registry_received_at=env_bool("INTAKE_REGISTRY_RECEIVED_AT",
                                          cls.registry_received_at),
        )
