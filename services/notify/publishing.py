"""Sending notify's events: SLA events acknowledged before the row moves on, outcomes in the flow.

Why SLA events are awaited: the agent publishes them *before* writing the case row that records
them as raised, so a crash in between raises them again (same derived ids) instead of losing
them. Faust flushes the producer before committing input offsets (and a send that failed
makes that flush crash the worker: LandedProducer, services/common/faust_app.py), but that only
protects the input; it does not order the changelog write after the SLA event. Both share one
producer, yet they go to different partitions (possibly on different brokers) and one batch can
be retried after the other succeeded, so only the acknowledgement proves the event is durable.
The cost is one round trip per event that raised something (a minority: most events raise
nothing), and the events of one outcome share it: all are sent, then all acknowledgements
awaited.

Delivery outcomes need no such wait: losing one only means the outbox entry stays and the
webhook is sent again after a restart with the same Idempotency-Key; so they are sent without
blocking the delivery lane; a failed one stops the worker at its next commit (LandedProducer),
and the restart sends the webhook again from the outbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import faust

from schemas.envelope import Event
from services.common.consume import send_event

log = logging.getLogger("spine.notify.publish")


class Publisher:
    """Sends events keyed by case id to the topic `route` picks for each."""

    def __init__(self, route: Callable[[Event], faust.TopicT]) -> None:
        self._route = route

    async def _send(self, event: Event) -> Awaitable[Any]:
        return await send_event(self._route(event), event)

    async def acknowledged(self, events: Sequence[Event]) -> None:
        """Send the events in order, then wait until the broker has acknowledged every one."""
        acks = [await self._send(event) for event in events]
        for ack in acks:
            await ack

    async def in_flow(self, event: Event) -> None:
        """Send without waiting for the acknowledgement; a failure is logged, never raised."""
        ack = await self._send(event)
        if isinstance(ack, asyncio.Future):
            ack.add_done_callback(lambda done: _log_failure(done, event))


def _log_failure(done: asyncio.Future[Any], event: Event) -> None:
    if done.cancelled() or done.exception() is None:
        return
    log.error("could not publish event", extra={
        "case_id": event.case_id, "event_type": type(event).__name__,
        "error": type(done.exception()).__name__})
