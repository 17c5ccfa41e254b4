"""The routing worker's Kafka side as the domain and the HTTP API see it: a publisher for the
processor's outputs and a gateway for the routes (reads from this worker, writes via Kafka)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import faust

from schemas.directory import Specialist
from schemas.envelope import Event
from schemas.routing import CapacityDecided
from services.common.consume import send_event
from services.common.follow import TopicFollower
from services.common.kafka_wait import send_acknowledged
from services.routing.domain.load import LoadDelta
from services.routing.domain.state import CommandOutcome
from services.routing.processor import RoutingProcessor
from services.routing.replies import ReplyBook


class KafkaPublisher:
    """Routing events keyed by case id; load changes keyed by specialist id; capacity decisions
    through the case's command lane."""

    def __init__(self, *, events: faust.TopicT, load: faust.TopicT,
                 commands: faust.TopicT) -> None:
        self.events, self.load, self.commands = events, load, commands

    async def routing_event(self, event: Event) -> None:
        await send_event(self.events, event)

    async def load_delta(self, delta: LoadDelta) -> None:
        await send_event(self.load, delta, key=delta.specialist_id)

    async def capacity_decided(self, decided: CapacityDecided) -> None:
        await send_event(self.commands, decided)

    async def forget_commands(self, case_id: str) -> None:
        # value_serializer "raw": faust would write None as JSON b"null", not a tombstone
        await self.commands.send(key=case_id.encode(), value=None, value_serializer="raw")


class KafkaGateway:
    """The HTTP API's view of this worker: its tables and views for reads, Kafka for writes."""

    def __init__(
        self, *, processor: RoutingProcessor, replies: ReplyBook, views: list[TopicFollower],
        directory_topic: faust.TopicT, commands_topic: faust.TopicT,
        worker_ready: Callable[[], list[str]], worker_live: Callable[[], list[str]],
        directory_wait_seconds: float, reply_timeout_seconds: float,
        kafka_wait_seconds: float | None = None,
        answers_for: Callable[[str], bool] = lambda case_id: True,
    ) -> None:
        self.processor, self.replies, self.views = processor, replies, views
        self.directory_topic, self.commands_topic = directory_topic, commands_topic
        self.worker_ready, self.worker_live = worker_ready, worker_live
        self.directory_wait_seconds = directory_wait_seconds
        self.reply_timeout_seconds = reply_timeout_seconds
        self.kafka_wait_seconds = kafka_wait_seconds  # None: KAFKA_HTTP_WAIT_SECONDS
        self.answers_for = answers_for  # RoutingWorker.answers_for

    @property
    def directory(self) -> Any:
        return self.processor.directory

    @property
    def loads(self) -> Any:
        return self.processor.loads

    @property
    def casedata(self) -> Any:
        return self.processor.casedata

    def now(self) -> datetime:
        return self.processor.clock()

    def ready(self) -> list[str]:
        views = [] if self.processor.synced else ["routing views: not built"]
        # A view whose follower stopped is frozen, however complete it once was.
        views += [f"{f.topic}: {f.problem}" for f in self.views if f.problem]
        return self.worker_ready() + views

    def live(self) -> list[str]:
        return self.worker_live()

    def case_state(self, case_id: str) -> Any:
        return self.processor.case_state(case_id)

    async def publish_specialist(self, specialist_id: str, spec: Specialist | None) -> None:
        value = spec.model_dump_json().encode() if spec is not None else None
        await send_acknowledged(self.directory_topic, key=specialist_id.encode(), value=value)

    async def submit(self, command: Event) -> CommandOutcome | None:
        # At most kafka_wait_seconds + reply_timeout_seconds: what a relaying worker waits for
        # (RoutingSettings.relay_timeout_seconds).
        waiter = self.replies.expect(command.event_id)
        try:
            await send_event(self.commands_topic, command, wait=True,
                             timeout=self.kafka_wait_seconds)
            if waiter is None:  # too many requests wait already: sent, decision not awaited
                return None
            return await asyncio.wait_for(waiter, self.reply_timeout_seconds)
        except TimeoutError:
            return None
        finally:
            if waiter is not None:
                self.replies.forget(command.event_id, waiter)
