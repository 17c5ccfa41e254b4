"""The deployment files agree with the code: services, ports, Kafka, settings, secrets, docs.

Pure: parses Dockerfile, docker-compose.yml and deploy/k8s with PyYAML; needs no Docker.
"""

from __future__ import annotations

from typing import Any

import pytest

from schemas.topics import CASE_PARTITIONS
from scripts.kafka_local import DEFAULT_VERSION
from services.common import topics_admin
from services.common.settings import SERVICE_PORTS
from tests.deploy import compose_checks, k8s_checks, settings_checks
from tests.deploy.sources import (
    COMPOSE_FILE,
    DEPLOY_DOC,
    DOCKERFILE,
    K8S_DIR,
    EnvRead,
    dockerfile_env,
    dockerfile_instructions,
    env_reads,
    load_compose,
    load_k8s,
    reads_by_service,
)

SERVICES = list(SERVICE_PORTS)
ADMIN_MODULE = topics_admin.__name__


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def k8s() -> k8s_checks.Manifests:
    return load_k8s()


@pytest.fixture(scope="module")
def reads() -> list[EnvRead]:
    return env_reads()


def compose_provided(compose: dict[str, Any]) -> dict[str, dict[str, str]]:
    """What each compose service's process sees: the image's ENV, then compose's."""
    image_env = dockerfile_env()
    return {
        name: {**image_env, **compose_checks.service_env(svc)}
        for name, svc in compose["services"].items()
    }


def k8s_provided(k8s: k8s_checks.Manifests) -> dict[str, dict[str, str]]:
    """What each Deployment's container sees: the image's ENV, envFrom keys, then env."""
    image_env = dockerfile_env()
    config = {
        key: str(value)
        for doc in k8s_checks.by_kind(k8s, "ConfigMap").values()
        for key, value in (doc.get("data") or {}).items()
    }
    provided = {}
    for name, deployment in k8s_checks.by_kind(k8s, "Deployment").items():
        container = k8s_checks.pod_container(deployment)
        keys, _ = k8s_checks.env_from_keys(k8s, container)
        from_refs = {key: config.get(key, "") for key in keys}
        provided[name] = {**image_env, **from_refs, **k8s_checks.container_env(container)}
    return provided


def test_the_code_reads_settings_the_walk_can_see(reads: list[EnvRead]) -> None:
    names = {r.name for r in reads}
    assert {"KAFKA_BOOTSTRAP", "HTTP_HOST", "AUTH_JWT_SECRET", "SPINE_DATA_DIR"} <= names


def test_dockerfile_builds_one_non_root_image_with_a_health_check() -> None:
    problems = compose_checks.dockerfile_problems(dockerfile_instructions(), DOCKERFILE.read_text())
    assert problems == []


def test_every_service_runs_in_compose_on_its_code_port(compose: dict[str, Any]) -> None:
    assert compose_checks.app_service_problems(compose, SERVICE_PORTS) == []


def test_compose_services_scale_without_port_clashes(compose: dict[str, Any]) -> None:
    assert compose_checks.host_port_overlaps(compose, SERVICE_PORTS) == []


def test_compose_broker_is_single_node_kraft_with_explicit_topics(compose: dict[str, Any]) -> None:
    assert compose_checks.kafka_problems(compose) == []


def test_services_bootstrap_from_the_in_network_listener(compose: dict[str, Any]) -> None:
    assert compose_checks.bootstrap_problems(compose) == []


def test_compose_topics_service_runs_the_topics_admin(compose: dict[str, Any]) -> None:
    assert compose_checks.topics_job_problems(compose, ADMIN_MODULE) == []


def test_compose_kafka_matches_the_local_broker_version(compose: dict[str, Any]) -> None:
    assert compose_checks.kafka_version_problems(compose, DEFAULT_VERSION) == []


def test_compose_provides_every_setting_without_a_safe_default(
    compose: dict[str, Any], reads: list[EnvRead]
) -> None:
    by_service = reads_by_service(reads, SERVICES)
    problems = settings_checks.missing_env_problems(
        by_service, compose_provided(compose), "compose"
    )
    assert problems == []


def test_every_service_has_a_k8s_deployment_service_and_budget(k8s: k8s_checks.Manifests) -> None:
    assert k8s_checks.deployment_problems(k8s, SERVICE_PORTS, CASE_PARTITIONS) == []


def test_k8s_job_creates_the_topics(k8s: k8s_checks.Manifests) -> None:
    assert k8s_checks.topics_job_problems(k8s, ADMIN_MODULE) == []


def test_kustomization_applies_every_manifest_but_the_secret_template(
    k8s: k8s_checks.Manifests,
) -> None:
    assert k8s_checks.kustomization_problems(k8s) == []


def test_k8s_env_references_resolve(k8s: k8s_checks.Manifests) -> None:
    dangling = [
        (name, ref)
        for kind in ("Deployment", "Job")
        for name, workload in k8s_checks.by_kind(k8s, kind).items()
        for ref in k8s_checks.env_from_keys(k8s, k8s_checks.pod_container(workload))[1]
    ]
    assert dangling == []


def test_k8s_bootstrap_is_a_real_address(k8s: k8s_checks.Manifests) -> None:
    assert k8s_checks.bootstrap_problems(k8s) == []


def test_k8s_provides_every_setting_without_a_safe_default(
    k8s: k8s_checks.Manifests, reads: list[EnvRead]
) -> None:
    by_service = reads_by_service(reads, SERVICES)
    problems = settings_checks.missing_env_problems(by_service, k8s_provided(k8s), "k8s")
    assert problems == []


def test_every_excused_setting_is_still_read(reads: list[EnvRead]) -> None:
    assert settings_checks.stale_exception_problems(reads) == []


def test_no_secret_values_in_deployment_files(
    compose: dict[str, Any], k8s: k8s_checks.Manifests
) -> None:
    texts = {p.name: p.read_text() for p in [COMPOSE_FILE, DOCKERFILE, *K8S_DIR.glob("*.yaml")]}
    problems = (
        settings_checks.compose_secret_problems(compose)
        + settings_checks.k8s_secret_problems(k8s)
        + settings_checks.key_material_problems(texts)
    )
    assert problems == []


def test_deploy_doc_lists_every_setting_and_port(reads: list[EnvRead]) -> None:
    problems = settings_checks.docs_problems(DEPLOY_DOC.read_text(), reads, SERVICE_PORTS)
    assert problems == []
