"""Session-wide fixtures: one real Kafka broker for every test that needs it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.topics_admin import ensure_topics
from tests.support.broker import LocalBroker, external_bootstrap

# Tests run in development mode (generated secrets allowed); the secrets tests unset it.
os.environ.setdefault("SPINE_ENV", "development")
# Every process started by tests shares one throwaway signing secret, never a repo secret.
os.environ.setdefault("AUTH_JWT_SECRET", "test-only-secret-" + os.urandom(16).hex())
# And one relay-signing secret, so every worker of a multi-worker test accepts its peers' relays.
os.environ.setdefault("SPINE_PEER_SECRET", "test-only-peer-secret-" + os.urandom(16).hex())
# Suites that drive many requests with one token are not about rate limits; the guard's own
# tests set their limits explicitly.
os.environ.setdefault("HTTP_RATE_LIMIT_BURST", "100000")


def _broker(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[str]:
    """A local KRaft broker with every project topic, or the developer's own (then shared)."""
    existing = external_bootstrap()
    if existing:
        asyncio.run(ensure_topics(existing))
        yield existing
        return
    broker = LocalBroker(Path(tmp_path_factory.mktemp(name))).start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """host:port of a real Apache Kafka broker (KRaft) with every project topic created."""
    yield from _broker(tmp_path_factory, "kafka")


@pytest.fixture(scope="session")
def erasure_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A broker of their own for the erasure tests (started only if one runs). They force
    compaction and write tombstones on every topic, which tests reading whole topics would see;
    and a fresh consumer group on the session's broker re-reads every earlier test's cases, so on
    a long run the services were still working through that backlog when the erasure e2e test's
    90 s ran out (CI, 2026-11-27)."""
    yield from _broker(tmp_path_factory, "kafka-erasure")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Erasure tests run last: with a developer's external broker they share it, and they force
    compaction and write tombstones that tests reading whole topics would otherwise see."""
    items.sort(key=lambda item: item.get_closest_marker("erases") is not None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test that ran service processes shows the end of each one's log in its report.

    A CI run keeps nothing but its output: an e2e timeout ("an offer") says nothing of which
    service stopped where. Service logs hold ids and event types only (services/common/logs.py).
    """
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    tmp = getattr(item, "funcargs", {}).get("tmp_path")
    if report.when != "call" or not report.failed or tmp is None:
        return
    for log in sorted(Path(tmp).rglob("*.log"))[:12]:
        lines = log.read_text(errors="replace").splitlines()[-SERVICE_LOG_LINES:]
        report.sections.append((f"{log.relative_to(tmp)} (last {len(lines)} lines)",
                                "\n".join(line[:400] for line in lines)))


SERVICE_LOG_LINES = 40
