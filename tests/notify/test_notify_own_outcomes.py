"""Notify settles its own deliveries directly: it does not read NotificationDelivered back."""

from __future__ import annotations

from schemas import topics
from schemas.envelope import Event
from schemas.notifications import NotificationDelivered, NotificationFailed
from services.notify.casefile import CaseSummary
from services.notify.delivery.dispatcher import Dispatcher
from services.notify.delivery.retry import RetryPolicy
from services.notify.domain.state import CaseState
from tests.notify.notify_rig import AgentRig
from tests.notify.test_notify_delivery import Directory, FakeReceivers
from tests.unit.notify.notify_builders import CaseFlow


class Worker:
    """The processor and the delivery lanes wired as services/notify/app.py wires them."""

    def __init__(self, receivers: FakeReceivers) -> None:
        self.rig = AgentRig()
        self.owned = {0}  # the rig feeds every event on partition 0
        self.published: list[Event] = []
        self.dispatcher = Dispatcher(
            post=receivers.post, resolver=Directory(), publish=self._publish,
            retry=RetryPolicy(base_seconds=1, cap_seconds=8, max_attempts=3),
            clock=self.rig.clock, rng=lambda: 0.5, sleep=self._no_wait,
        )
        self.rig.processor.submit = self.dispatcher.submit

    async def _publish(self, event: Event) -> None:
        if isinstance(event, NotificationDelivered | NotificationFailed):
            await self.rig.processor.apply_own(event, lambda p: p in self.owned)
        self.published.append(event)

    async def _no_wait(self, seconds: float) -> None:
        return None

    def outbox(self) -> list[str]:
        self.rig.processor.flush()
        return [n.kind for n in CaseState.from_json(self.rig.cases["case-1"]).outbox]

    def deliveries(self) -> list[tuple[str, str, int]]:
        summary = CaseSummary.model_validate_json(self.rig.summaries["case-1"])
        return [(d.kind, d.outcome, d.attempts) for d in summary.deliveries]


async def _offered(worker: Worker) -> None:
    flow = CaseFlow()
    await worker.rig.feed(flow.offered(worker.rig.clock()))


async def test_a_delivery_settles_the_outbox_and_read_model_without_consuming_the_outcome() -> None:
    worker = Worker(FakeReceivers())
    await _offered(worker)
    assert worker.outbox() == ["assignment_offered"]
    await worker.dispatcher.idle()
    assert worker.outbox() == []  # nothing was fed back through the rig: settled directly
    assert worker.deliveries() == [("assignment_offered", "delivered", 1)]
    assert [type(e).__name__ for e in worker.published] == ["NotificationDelivered"]


async def test_a_failed_attempt_is_counted_in_the_row_directly() -> None:
    worker = Worker(FakeReceivers({"spec-1": 1}))
    await _offered(worker)
    await worker.dispatcher.idle()
    assert [type(e).__name__ for e in worker.published] == [
        "NotificationFailed", "NotificationDelivered"]
    assert worker.outbox() == []
    assert worker.deliveries() == [("assignment_offered", "delivered", 2)]


async def test_an_outcome_after_the_partition_moved_away_changes_nothing_here() -> None:
    worker = Worker(FakeReceivers())
    await _offered(worker)
    worker.rig.processor.flush()
    row, summary = worker.rig.cases["case-1"], worker.rig.summaries["case-1"]
    worker.owned.clear()  # rebalanced: the new owner delivers it again, same Idempotency-Key
    [note] = CaseState.from_json(row).outbox
    delivered = NotificationDelivered(
        event_id="d-1", case_id="case-1", occurred_at=worker.rig.clock(),
        notification_id=note.notification_id, audience=note.audience,
        subscriber_id=note.subscriber_id, kind=note.kind, attempts=1, status_code=200,
        latency_ms=1.0)
    assert await worker.rig.processor.apply_own(delivered, lambda p: False) is False
    worker.rig.processor.flush()
    assert (worker.rig.cases["case-1"], worker.rig.summaries["case-1"]) == (row, summary)


def test_notify_does_not_consume_its_own_delivery_outcomes() -> None:
    from services.notify.app import NotifyWorker
    from services.notify.config import load_settings

    consumed = NotifyWorker(load_settings()).consumed_topics
    assert topics.NOTIFICATION_EVENTS not in consumed
    assert topics.ROUTING_EVENTS in consumed  # still reads every other case topic
