"""StreamSlots and SlotStream on their own: the counts, and a slot coming back on every ending."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.notify.dashboard.stream_slots import SlotStream, StreamsFull, StreamSlots


def refused(limit: str) -> float:
    value = REGISTRY.get_sample_value("notify_dashboard_streams_refused_total", {"limit": limit})
    return value or 0.0


def test_each_principal_has_its_own_cap_under_the_workers_total() -> None:
    slots = StreamSlots(per_principal=2, total=3, retry_after_seconds=7)
    held = [slots.acquire("ops-1"), slots.acquire("ops-1")]
    before = refused("principal")
    with pytest.raises(StreamsFull) as principal_full:
        slots.acquire("ops-1")
    assert principal_full.value.limit == "principal"
    assert principal_full.value.retry_after_seconds == 7
    assert "ops-1" not in principal_full.value.detail  # the message names the limit only
    assert refused("principal") == before + 1
    held.append(slots.acquire("ops-2"))
    with pytest.raises(StreamsFull) as worker_full:
        slots.acquire("ops-3")
    assert worker_full.value.limit == "worker"
    with pytest.raises(StreamsFull):
        slots.check("ops-3")  # the ticket's check answers as acquire would, taking nothing
    assert (slots.open_count, slots.held_by("ops-1"), slots.held_by("ops-2")) == (3, 2, 1)


def test_release_is_idempotent_and_forgets_principals_holding_nothing() -> None:
    slots = StreamSlots(per_principal=1, total=2)
    first = slots.acquire("ops-1")
    other = slots.acquire("ops-2")
    first.release()
    first.release()  # a second call must not free ops-2's slot
    assert (slots.open_count, slots.held_by("ops-2")) == (1, 1)
    assert slots._held == {"ops-2": 1}  # memory: one entry per principal holding a stream
    again = slots.acquire("ops-1")
    assert slots.open_count == 2
    again.release()
    other.release()
    assert slots.open_count == 0 and slots._held == {}


@pytest.mark.parametrize("limits", [{"per_principal": 0}, {"total": 0},
                                    {"retry_after_seconds": 0}])
def test_limits_below_one_are_refused_at_start_up(limits: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        StreamSlots(**limits)


def _scope() -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": "/api/ops/stream", "headers": [],
            "query_string": b"", "http_version": "1.1", "scheme": "http"}


async def test_a_stream_cancelled_before_its_first_event_gives_its_slot_back() -> None:
    # The generator never starts here, so a release in its `finally` would never run.
    slots = StreamSlots(per_principal=1, total=1)
    started = False

    async def events() -> AsyncIterator[dict[str, str]]:
        nonlocal started
        started = True
        yield {"data": "never sent"}

    async def stuck_send(message: Any) -> None:
        await asyncio.Event().wait()  # a client that never reads

    async def no_disconnect() -> Any:
        await asyncio.Event().wait()

    response = SlotStream(events(), slot=slots.acquire("ops-1"), ping=600)
    task = asyncio.create_task(response(_scope(), no_disconnect, stuck_send))
    await asyncio.sleep(0.05)  # let it reach the stuck send (not a timing assertion)
    assert slots.open_count == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert slots.open_count == 0 and not started


async def test_a_failing_event_source_gives_its_slot_back() -> None:
    slots = StreamSlots(per_principal=1, total=1)
    sent: list[Any] = []

    async def events() -> AsyncIterator[dict[str, str]]:
        yield {"data": "one"}
        raise RuntimeError("the feed broke")

    async def send(message: Any) -> None:
        sent.append(message)

    async def no_disconnect() -> Any:
        await asyncio.Event().wait()

    response = SlotStream(events(), slot=slots.acquire("ops-1"), ping=600)
    with pytest.raises(RuntimeError):
        await response(_scope(), no_disconnect, send)
    assert any(b"one" in m.get("body", b"") for m in sent)
    assert slots.open_count == 0
    slots.acquire("ops-1").release()  # and the principal may open a stream again
