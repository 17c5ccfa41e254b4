"""Run a faust app as a worker process, with JSON logs and a readiness flag for /health."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import faust
import mode.loop
from mode import Worker

from schemas.topics import ALL_TOPICS
from services.common import logs
from services.common.faust_app import changelog_specs
from services.common.http import serve_api_in_worker
from services.common.metrics import CONSUMER_LAG
from services.common.settings import env_str, kafka_bootstrap
from services.common.topics_admin import ensure_topics
from services.common.worker_health import (
    highwater_if_assigned,
    position_if_assigned,
    worker_health,
)


def readiness(app: faust.App) -> Callable[[], list[str]]:
    """The worker's readiness check for /health/ready: the reasons it cannot work now."""
    return worker_health(app).reasons


def liveness(app: faust.App) -> Callable[[], list[str]]:
    """The worker's liveness check for /health/live: a crashed faust app in a running process
    (its agents and consumer stopped, HTTP still answering) is wedged and must be restarted; so
    is one whose table recovery waits for records its consumer has read past (worker_health)."""
    health = worker_health(app)

    def reasons() -> list[str]:
        found = health.wedged()
        if app.crashed:  # type: ignore[attr-defined]
            found.append(f"faust app crashed: {type(app.crash_reason).__name__}")  # type: ignore[attr-defined]
        return found

    return reasons


def watch_consumer_lag(app: faust.App, service: str, interval: float = 15.0) -> None:
    """Export how far behind the log end each assigned input partition is (no ids in labels)."""

    @app.timer(interval=interval)
    async def _measure_lag() -> None:
        await measure_lag(app.consumer, service)


async def measure_lag(consumer: Any, service: str) -> None:
    """One round of the lag gauges over the partitions still assigned when asked."""
    for tp in consumer.assignment():
        if tp.topic.endswith("-changelog"):
            continue  # table changelogs are read only during recovery
        position = await position_if_assigned(consumer, tp)  # None: revoked meanwhile
        highwater = highwater_if_assigned(consumer, tp)  # None: not fetched yet, or revoked
        if position is not None and highwater is not None:
            lag = max(0, highwater - position)
            CONSUMER_LAG.labels(service, tp.topic, str(tp.partition)).set(lag)


def logging_config(level: str) -> dict[str, object]:
    """dictConfig routing every logger, faust's included, to JSON lines on stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "services.common.logs.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["stderr"], "level": logs.levels(level)[""]},
        "loggers": {name: {"level": value} for name, value in logs.levels(level).items() if name},
    }


def create_topics(app: faust.App) -> None:
    """Create every shared topic and the app's table changelogs that do not exist yet."""
    # A loop of its own, closed again, so the worker starts with the loop state it expects.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(ensure_topics(kafka_bootstrap(), ALL_TOPICS + changelog_specs(app)))
    finally:
        loop.close()


def use_event_loop() -> str:
    """uvloop when installed, unless SPINE_EVENT_LOOP=asyncio; returns the loop chosen.

    Why: a third to a half of every worker's CPU is asyncio's own transport and loop code
    (socket writes of Kafka requests, callbacks), which uvloop runs in C (docs/benchmarks.md).
    Set before the worker makes its loops; the faust objects made at import bind to none yet.
    """
    if env_str("SPINE_EVENT_LOOP", "uvloop") == "uvloop" and importlib.util.find_spec("uvloop"):
        mode.loop.use("uvloop")
        return "uvloop"
    return "asyncio"


def run_worker(app: faust.App) -> None:
    """Create the topics, then run the worker in this process until SIGTERM/SIGINT."""
    use_event_loop()
    create_topics(app)
    level = env_str("LOG_LEVEL", "INFO")
    worker = Worker(
        app, loglevel=level, logging_config=logging_config(level), quiet=True,
        redirect_stdouts=False, override_logging=True,
    )
    worker.execute_from_commandline()


@dataclass(frozen=True)
class FaustService:
    """What a faust service's `create_app` returns: the worker, the HTTP API it serves, the port."""

    app: faust.App
    api: Any
    port: int


def run_service(service: FaustService) -> None:
    """Serve the API inside the worker, then run the worker until SIGTERM/SIGINT."""
    serve_api_in_worker(service.app, service.api, service.port)
    run_worker(service.app)
