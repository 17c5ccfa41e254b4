"""The offer-expiry timer sends a case's tick once while it waits to be applied, not at every
look (services/routing/ticks.py). Before, `due_ticks` answered an overdue case at every 5 s look
until its tick was applied, and the timer sent it each time: with the agent lagging after an
outage, thousands of duplicates queued ahead of specialists' commands."""

from __future__ import annotations

from datetime import timedelta

import pytest

from schemas.routing import ExpireOffers
from services.routing.ticks import RESEND_AFTER, SentTicks, send_due_ticks
from tests.routing.fakes import Clock, make_processor
from tests.unit.routing.builders import NOW, specialist, triaged

URGENT_TIMEOUT = timedelta(minutes=30)
LOOK = timedelta(seconds=5)  # expiry_scan_seconds' default


class Commands:
    """The commands topic: what was sent, in order."""

    def __init__(self) -> None:
        self.sent: list[ExpireOffers] = []

    async def send(self, tick: ExpireOffers) -> None:
        self.sent.append(tick)


async def test_an_unapplied_tick_goes_out_once_per_minute_and_the_next_one_at_once() -> None:
    clock = Clock(NOW)
    processor, published, _ = make_processor(clock)
    for sid in ("a", "b", "c"):
        processor.directory.put(specialist(sid))
    await processor.on_case_input(triaged(urgency="urgent"))
    sent, topic = SentTicks(), Commands()

    async def look() -> int:  # one run of the timer at the clock's time
        return await send_due_ticks(processor.due_ticks(clock()), clock(), sent, topic.send)

    clock.now = NOW + URGENT_TIMEOUT
    assert await look() == 1
    first = topic.sent[0]
    # The agent lags: eleven more looks within the minute send nothing again.
    for _ in range(11):
        clock.now += LOOK
        assert await look() == 0
    assert topic.sent == [first]
    # Still not applied a minute on: sent again (a lost send must not strand the case).
    clock.now = NOW + URGENT_TIMEOUT + RESEND_AFTER
    assert await look() == 1 and topic.sent[-1].event_id == first.event_id
    # Applied: the case's due moves on, its old id is forgotten, the next tick goes out when due.
    await processor.on_case_input(topic.sent[-1])
    assert published.types()[-2:] == ["OfferExpired", "AssignmentOffered"]
    assert await look() == 0 and len(sent) == 0
    clock.now = NOW + 2 * URGENT_TIMEOUT + RESEND_AFTER
    assert await look() == 1 and topic.sent[-1].event_id != first.event_id


def _tick(n: int) -> ExpireOffers:
    return ExpireOffers(event_id=f"tick-{n}", case_id=f"case-{n}", occurred_at=NOW)


def test_the_memory_of_sent_ticks_is_bounded() -> None:
    sent = SentTicks(max_remembered=100)
    due = [_tick(n) for n in range(1000)]
    assert len(sent.to_send(due, NOW)) == 1000
    for tick in due:
        sent.sent(tick, NOW)
    assert len(sent) == 100
    # The oldest were forgotten (sent again: the old behaviour, for them only).
    assert [t.event_id for t in sent.to_send(due, NOW + LOOK)] == [
        f"tick-{n}" for n in range(900)]
    assert len(sent.to_send([], NOW + LOOK)) == 0 and len(sent) == 0  # none due: none held


async def test_a_tick_whose_send_failed_goes_out_at_the_next_look() -> None:
    sent, topic = SentTicks(), Commands()

    async def refused(tick: ExpireOffers) -> None:
        raise TimeoutError

    due = [_tick(1)]
    with pytest.raises(TimeoutError):
        await send_due_ticks(due, NOW, sent, refused)
    assert await send_due_ticks(due, NOW + LOOK, sent, topic.send) == 1
    # A clock stepped back is no reason to hold a tick back for a minute.
    assert await send_due_ticks(due, NOW, sent, topic.send) == 1
