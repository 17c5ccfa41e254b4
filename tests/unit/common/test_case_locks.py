"""Per-case locks (services/common/case_locks.py): one handler at a time per case, unrelated
cases never wait for each other, and nothing is kept once nobody holds or awaits a case."""

from __future__ import annotations

import asyncio

from services.common.case_locks import CaseLocks


async def test_one_holder_per_case_others_run_and_nothing_is_kept() -> None:
    locks, order = CaseLocks(), []
    first_in = asyncio.Event()
    release = asyncio.Event()

    async def first() -> None:
        async with locks.hold("case-a"):
            order.append("a1 in")
            first_in.set()
            await release.wait()
            order.append("a1 out")

    async def second() -> None:
        await first_in.wait()
        async with locks.hold("case-a"):
            order.append("a2 in")

    async def other() -> None:
        await first_in.wait()
        async with locks.hold("case-b"):  # a different case goes ahead at once
            order.append("b in")
        release.set()

    await asyncio.wait_for(asyncio.gather(first(), second(), other()), 5)
    assert order == ["a1 in", "b in", "a1 out", "a2 in"]
    assert len(locks) == 0


async def test_a_failing_holder_releases_the_case() -> None:
    locks = CaseLocks()
    try:
        async with locks.hold("case-a"):
            raise ValueError("handler failed")
    except ValueError:
        pass
    async with asyncio.timeout(1):
        async with locks.hold("case-a"):
            assert len(locks) == 1
    assert len(locks) == 0
