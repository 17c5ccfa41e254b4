"""Delivery slots (services/notify/delivery/slots.py): bounded, urgent waiters first, no slot lost
to a waiter cancelled on its way in, no gate kept for a receiver nobody is using."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import pytest

from services.notify.delivery.slots import Gate, ReceiverGates


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


class Holders:
    """Tasks that take a slot of `gate`, note their name, and keep it until told."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.order: list[str] = []
        self.done: dict[str, asyncio.Event] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, name: str, *, urgent: bool = False) -> None:
        self.done[name] = asyncio.Event()

        async def hold() -> None:
            async with self.gate.slot(urgent=urgent):
                self.order.append(name)
                await self.done[name].wait()

        self.tasks[name] = asyncio.ensure_future(hold())

    async def finish(self, name: str) -> None:
        self.done[name].set()
        await self.tasks[name]
        await settle()


async def test_at_most_size_holders_and_urgent_waiters_go_first_each_in_arrival_order() -> None:
    holders = Holders(Gate(2))
    for name in ("a", "b", "c", "d"):
        holders.start(name)
        await settle()
    holders.start("page-1", urgent=True)
    await settle()
    holders.start("page-2", urgent=True)
    await settle()
    assert holders.order == ["a", "b"]
    await holders.finish("a")
    assert holders.order == ["a", "b", "page-1"]
    await holders.finish("b")
    await holders.finish("page-1")
    assert holders.order == ["a", "b", "page-1", "page-2", "c"]
    for name in ("page-2", "c", "d"):
        await holders.finish(name)
    assert holders.order[-1] == "d"


async def test_a_waiter_cancelled_while_waiting_or_just_handed_a_slot_loses_no_slot() -> None:
    holders = Holders(Gate(1))
    for name in ("a", "gone-early", "gone-late", "b"):
        holders.start(name)
        await settle()
    holders.tasks["gone-early"].cancel()
    await settle()
    holders.done["a"].set()  # hands the slot to gone-late...
    await asyncio.sleep(0)
    holders.tasks["gone-late"].cancel()  # ...cancelled before it could run
    await settle()
    assert holders.order == ["a", "b"]  # its slot passed on to b
    await holders.finish("b")
    holders.start("c")
    await settle()
    assert holders.order == ["a", "b", "c"]  # the one slot is still there


def test_a_gate_without_slots_is_refused() -> None:
    with pytest.raises(ValueError):
        Gate(0)


async def test_a_receiver_holds_its_own_slots_and_its_gate_goes_when_unused() -> None:
    gates = ReceiverGates(1)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(gates.slot("a.example"))
        await stack.enter_async_context(gates.slot("b.example"))  # another receiver: not held up
        waiting = asyncio.ensure_future(gates.slot("a.example").__aenter__())
        await settle()
        assert not waiting.done() and len(gates) == 2
        waiting.cancel()
        await settle()
    assert len(gates) == 0
