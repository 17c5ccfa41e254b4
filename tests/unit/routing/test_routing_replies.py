"""ReplyBook: every waiter on a command id gets its decision, and the book stays bounded.

Concurrent requests under one Idempotency-Key are one command id; `expect` used to replace the
earlier waiter's future, so that request waited out the whole reply timeout and answered
"pending" although the command was decided at once."""

from __future__ import annotations

import asyncio

from services.routing.domain.state import CommandOutcome
from services.routing.replies import ReplyBook

OK = CommandOutcome(status="ok", detail="accepted")


async def test_every_waiter_on_one_command_gets_the_decision() -> None:
    book = ReplyBook()
    first, second = book.expect("cmd-1"), book.expect("cmd-1")
    assert first is not None and second is not None and book.waiting == 2
    book.resolve("cmd-1", OK)
    assert (first.result(), second.result()) == (OK, OK)
    assert book.waiting == 0
    book.forget("cmd-1", first)  # the callers' finally: nothing left to forget
    assert book.waiting == 0


async def test_one_waiter_timing_out_leaves_the_others_waiting() -> None:
    book = ReplyBook()
    impatient, patient = book.expect("cmd-1"), book.expect("cmd-1")
    assert impatient is not None and patient is not None
    try:
        await asyncio.wait_for(impatient, 0.01)  # cancels the future it waited on
    except TimeoutError:
        book.forget("cmd-1", impatient)
    assert book.waiting == 1
    book.resolve("cmd-1", OK)
    assert patient.result() == OK and book.waiting == 0


async def test_the_book_is_capped_and_forgetting_frees_room() -> None:
    book = ReplyBook(max_waiters=2)
    a, b = book.expect("cmd-1"), book.expect("cmd-2")
    assert a is not None and b is not None
    assert book.expect("cmd-3") is None  # full: the caller sends without waiting
    book.forget("cmd-1", a)
    assert book.expect("cmd-3") is not None and book.waiting == 2


async def test_an_outcome_for_a_command_nobody_waits_for_is_dropped() -> None:
    book = ReplyBook()
    book.resolve("from-elsewhere", OK)
    waiter = book.expect("cmd-1")
    book.resolve("cmd-1", None)  # an input without an outcome: the waiter times out instead
    assert waiter is not None and not waiter.done() and book.waiting == 0
