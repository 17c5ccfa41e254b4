"""Erasure reaches the delivery lanes: a message already handed to the dispatcher (status_triaged
quoting the referrer's sentence) is not posted after CaseErased, even from a retry sleep, and
nothing of it is dead-lettered."""

from __future__ import annotations

import asyncio
import base64

import pytest
from faust.types import TP

from schemas import topics
from schemas.cases import CaseErased
from schemas.dead_letter import DeadLettered
from schemas.envelope import Event
from schemas.notifications import NotificationFailed
from services.common.consume import EventMeta
from services.notify.delivery.dispatcher import Dispatcher
from services.notify.delivery.retry import RetryPolicy
from services.notify.delivery.webhook import AttemptResult, Endpoint
from services.notify.domain.outbox import Notification
from services.notify.processor import NotifyProcessor
from tests.notify.test_notify_delivery import Directory, FakeReceivers, Rig, note
from tests.unit.notify.notify_builders import POLICY, T0, CaseFlow, FakeContacts
from tests.unit.notify.test_notify_text_flags import SENTENCE, triaged_from


class Worker:
    """Processor and lanes wired as services/notify/app.py wires them (one partition, owned).

    The referrer's webhook answers 503; each retry sleep waits until the test lets it end.
    """

    def __init__(self, *, drop_on_erasure: bool = True) -> None:
        self.posted: list[tuple[str, bool]] = []  # (kind, carries the sentence) per attempt
        self.emitted: list[Event] = []
        self.wake = asyncio.Event()
        self.dispatcher = Dispatcher(
            post=self._post, resolver=Directory(), publish=self._emit,
            retry=RetryPolicy(base_seconds=1, cap_seconds=8, max_attempts=6),
            clock=lambda: T0, sleep=self._sleep, rng=lambda: 0.5,
            owns=lambda n: self.processor.queued(n),
        )
        self.processor = NotifyProcessor(
            cases={}, summaries={}, policy=POLICY, contacts=FakeContacts(), clock=lambda: T0,
            publish=self._publish, submit=self.dispatcher.submit,
            **({"drop_deliveries": self.dispatcher.forget_case} if drop_on_erasure else {}),
        )
        self.offset = 0

    async def _post(self, endpoint: Endpoint, n: Notification) -> AttemptResult:
        self.posted.append((n.kind, SENTENCE in n.model_dump_json()))
        return AttemptResult(503, None, 0.01)

    async def _emit(self, event: Event) -> None:
        self.emitted.append(event)

    async def _publish(self, events: object) -> None:
        return None

    async def _sleep(self, seconds: float) -> None:
        await self.wake.wait()

    async def feed(self, event: Event) -> None:
        self.offset += 1
        await self.processor.handle(event, EventMeta(topic="x", partition=0, offset=self.offset,
                                                     key=event.case_id.encode()))

    async def triaged_then_erased(self) -> int:
        """Feed a referral whose status_triaged quotes the sentence, let its first attempt fail,
        erase; returns how many attempts were made before the erasure."""
        flow = CaseFlow()
        await self.feed(triaged_from(flow, SENTENCE))
        for _ in range(5):
            await asyncio.sleep(0)  # the lane posts once and sleeps before retrying
        before = len(self.posted)
        assert self.posted == [("status_triaged", True)]
        await self.feed(CaseErased(event_id="e-erased", case_id=flow.case_id, occurred_at=T0,
                                   referrer_id=flow.referrer_id, requested_by="ops-1"))
        return before


async def test_erasure_ends_the_cases_lanes_at_once() -> None:
    worker = Worker()
    before = await worker.triaged_then_erased()
    await asyncio.sleep(0)
    assert worker.dispatcher.pending() == 0  # dropped, not waiting out its retry sleep
    worker.wake.set()
    await worker.dispatcher.idle()
    assert worker.posted[before:] == []
    assert [e for e in worker.emitted if isinstance(e, DeadLettered)] == []
    assert not any(isinstance(e, NotificationFailed) and e.final for e in worker.emitted)


async def test_a_lane_waking_from_a_retry_sleep_after_erasure_does_not_post() -> None:
    worker = Worker(drop_on_erasure=False)  # only the check before each attempt
    before = await worker.triaged_then_erased()
    worker.wake.set()
    await worker.dispatcher.idle()
    assert worker.posted[before:] == []
    assert [e for e in worker.emitted if isinstance(e, DeadLettered)] == []


async def test_forgetting_a_case_leaves_other_cases_lanes_alone() -> None:
    receivers = FakeReceivers()
    gate = receivers.gates["spec-1"] = asyncio.Event()  # both cases' first attempts hang
    rig = Rig(receivers)
    rig.dispatcher.submit(note(1, case_id="c1"))
    rig.dispatcher.submit(note(1, case_id="c2"))
    await asyncio.sleep(0)
    rig.dispatcher.forget_case("c1")
    gate.set()
    await rig.dispatcher.idle()
    assert receivers.delivered == [("spec-1", "c2", 1)]
    assert rig.dispatcher.pending() == 0


def test_the_worker_wires_erasure_and_the_outbox_check_into_delivery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.notify.app import NotifyWorker
    from services.notify.config import load_settings
    from services.notify.domain.state import CaseState

    worker = NotifyWorker(load_settings())
    monkeypatch.setattr(worker.app.assignor, "assigned_actives",
                        lambda: {TP(topics.ROUTING_EVENTS, 0)})
    assert worker.processor.drop_deliveries == worker.dispatcher.forget_case
    queued = Notification(notification_id="n-1", case_id="case-1", partition=0, seq=1,
                          audience="referrer", subscriber_id="ref-1", kind="status_triaged",
                          cause_event_id="e-1", created_at=T0)
    worker.processor.states.put("case-1", CaseState(case_id="case-1", partition=0,
                                                    outbox=[queued]), 0)
    owns = worker.dispatcher._owns  # what the lane asks before each attempt
    assert owns(queued) is True
    assert owns(queued.model_copy(update={"notification_id": "n-gone"})) is False
    assert owns(queued.model_copy(update={"partition": 1})) is False


async def test_a_give_up_dead_letters_ids_only() -> None:
    receivers = FakeReceivers({"spec-1": 99})
    rig = Rig(receivers, retry=RetryPolicy(base_seconds=1, cap_seconds=2, max_attempts=2))
    n = note(1).model_copy(update={"data": {"confirm_from_text": [{"sentence": SENTENCE}]}})
    rig.dispatcher.submit(n)
    await rig.dispatcher.idle()
    [dead] = rig.of_type(DeadLettered)
    assert SENTENCE not in base64.b64decode(dead.original_value_b64).decode()
    assert SENTENCE not in dead.model_dump_json()
    assert n.notification_id in base64.b64decode(dead.original_value_b64).decode()
