"""Acks from a rebalance window are refused, so no commit moves past a skipped message."""

from __future__ import annotations

from dataclasses import dataclass, field

from faust.types import TP

from services.common.faust_app import make_app
from services.common.safe_acks import GenerationSafeConsumer


@dataclass
class FakeMessage:
    """The fields faust's Consumer.ack reads."""

    generation_id: int
    offset: int = 7
    topic: str = "case.triaged.v1"
    tp: TP = field(default_factory=lambda: TP("case.triaged.v1", 1))
    acked: bool = False


def test_acks_count_only_in_the_current_generation_with_flow_active() -> None:
    app = make_app("safe-acks-probe")
    consumer = app.consumer
    assert isinstance(consumer, GenerationSafeConsumer)
    app.consumer_generation_id = 5
    app.flow_control.resume()

    stale = FakeMessage(generation_id=4)  # fetched before the rebalance, skipped by the stream
    assert consumer.ack(stale) is False and not stale.acked

    app.flow_control.suspend()  # a rebalance is under way
    during = FakeMessage(generation_id=5)
    assert consumer.ack(during) is False and not during.acked
    assert consumer._acked == {}  # nothing a commit could move past

    app.flow_control.resume()
    current = FakeMessage(generation_id=5)
    consumer.ack(current)
    assert current.acked  # reached faust's own bookkeeping
