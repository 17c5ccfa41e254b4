"""Fixtures that run service processes against the session's real broker."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scripts.localsystem import SERVICES, RunningSystem, service_env
from scripts.webhook_inbox import WebhookReceiver

SystemFactory = Callable[..., RunningSystem]


def referrer_subscribed(tmp_path: Path, inbox: WebhookReceiver, referrer: str,
                        **extra: str) -> dict[str, str]:
    """Service settings under which notify sends `referrer`'s status webhooks to `inbox`."""
    subscribers = tmp_path / "subscribers.json"
    subscribers.write_text(json.dumps({"referrers": [
        {"id": referrer, "webhook_url": f"{inbox.base_url}/hooks/{referrer}"}]}))
    return {"NOTIFY_SUBSCRIBERS_FILE": str(subscribers), **extra}


@pytest.fixture
def start_system(kafka_bootstrap: str, tmp_path: Path) -> Iterator[SystemFactory]:
    """Start some or all services as OS processes with fresh consumer groups; stopped after."""
    started: list[RunningSystem] = []

    def factory(
        names: tuple[str, ...] = SERVICES, extra_env: dict[str, str] | None = None
    ) -> RunningSystem:
        env = service_env(
            bootstrap=kafka_bootstrap, data_dir=tmp_path / "data",
            prefix=f"t{uuid.uuid4().hex[:8]}-", extra=extra_env,
        )
        system = RunningSystem(env, tmp_path, names).start()
        started.append(system)
        return system

    yield factory
    for system in started:
        system.stop()


@pytest.fixture
def inbox() -> Iterator[WebhookReceiver]:
    """A fake specialist and referrer webhook endpoint on loopback; closed after the test."""
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()
