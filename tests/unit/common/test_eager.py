"""An Eager coroutine runs at once up to its first wait and carries on from there when awaited
or run as a task (services/common/eager.py; the drain loop's delivery, safe_offsets note 5)."""

from __future__ import annotations

import asyncio

import pytest

from services.common.eager import Eager


async def test_a_coroutine_that_does_not_wait_finishes_in_run_without_the_loop() -> None:
    seen: list[str] = []

    async def deliver() -> str:
        seen.append("ran")
        return "done"

    eager = Eager(deliver())
    tasks = len(asyncio.all_tasks())
    assert eager.run() is True
    assert (eager.result, seen) == ("done", ["ran"])
    assert len(asyncio.all_tasks()) == tasks  # no task was made for it
    with pytest.raises(RuntimeError):
        eager.run()  # a second run would step a finished coroutine


async def test_an_exception_before_the_first_wait_comes_out_of_run() -> None:
    async def deliver() -> None:
        raise ValueError("undecodable")

    with pytest.raises(ValueError, match="undecodable"):
        Eager(deliver()).run()


async def test_a_waiting_coroutine_carries_on_from_its_wait_when_awaited() -> None:
    loop = asyncio.get_running_loop()
    first, second = loop.create_future(), loop.create_future()
    steps: list[object] = []

    async def deliver() -> str:
        steps.append(await first)
        steps.append(await second)
        return "delivered"

    eager = Eager(deliver())
    assert eager.run() is False and steps == []
    task = asyncio.ensure_future(eager)
    await asyncio.sleep(0)
    first.set_result(1)
    await asyncio.sleep(0)
    assert steps == [1] and not task.done()
    second.set_result(2)
    assert await asyncio.wait_for(task, 1) == "delivered"
    assert steps == [1, 2]


async def test_cancelling_the_task_cancels_the_coroutine_where_it_waits() -> None:
    loop = asyncio.get_running_loop()
    never = loop.create_future()
    cleaned: list[str] = []

    async def deliver() -> None:
        try:
            await never
        finally:
            cleaned.append("finally")

    eager = Eager(deliver())
    assert eager.run() is False
    task = asyncio.ensure_future(eager)
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == ["finally"] and never.cancelled()


async def test_an_exception_after_the_wait_comes_out_of_the_await() -> None:
    loop = asyncio.get_running_loop()
    waited = loop.create_future()

    async def deliver() -> None:
        await waited
        raise KeyError("case")

    eager = Eager(deliver())
    assert eager.run() is False
    waited.set_result(None)
    with pytest.raises(KeyError):
        await eager


async def test_an_eager_never_run_is_an_ordinary_awaitable() -> None:
    async def deliver() -> int:
        await asyncio.sleep(0)
        return 7

    assert await Eager(deliver()) == 7
