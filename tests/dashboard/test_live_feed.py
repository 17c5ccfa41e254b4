"""LiveFeed: bounded backlog and queues, replay, urgency lookup, publish from any thread."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from services.notify.dashboard.live import LiveFeed
from services.notify.dashboard.tickets import InvalidTicket, TicketSigner
from tests.unit.casefile import events as ev


def test_backlog_keeps_only_the_newest_messages() -> None:
    live = LiveFeed(backlog_size=3)
    for minute in range(5):
        live.publish(ev.delivered("c1", minute, notification=f"n{minute}"))
    assert [m["seq"] for m in live.backlog()] == [3, 4, 5]


def test_messages_carry_ids_and_the_cases_urgency_but_no_payload() -> None:
    live = LiveFeed()
    live.publish(ev.received("c1", 0))
    live.publish(ev.triaged("c1", 1, urgency="emergency"))
    live.publish(ev.delivered("c1", 2))
    received, triaged, delivered = live.backlog()
    assert received["urgency"] is None
    assert triaged["urgency"] == delivered["urgency"] == "emergency"
    assert ev.PATIENT_NAME not in str(live.backlog())
    assert delivered["occurred_at"] == "2025-03-03T09:02:00+00:00"


def test_urgency_memory_is_bounded() -> None:
    live = LiveFeed(known_cases=2)
    for case in ("a", "b", "c"):
        live.publish(ev.triaged(case, 0, urgency="soon"))
    live.publish(ev.delivered("a", 1))
    assert live.backlog()[-1]["urgency"] is None


async def _take(stream: Any, count: int) -> list[dict[str, Any]]:
    return [await anext(stream) for _ in range(count)]


async def test_subscribe_replays_after_a_sequence_number_then_follows() -> None:
    live = LiveFeed()
    for minute in range(3):
        live.publish(ev.delivered("c1", minute, notification=f"n{minute}"))
    stream = live.subscribe(after_seq=1)
    assert [m["seq"] for m in await _take(stream, 2)] == [2, 3]
    live.publish(ev.delivered("c1", 9, notification="n9"))
    assert (await anext(stream))["seq"] == 4
    await stream.aclose()
    assert live.subscriber_count == 0


async def test_a_slow_subscriber_loses_old_messages_not_memory() -> None:
    live = LiveFeed(backlog_size=5, queue_size=10)
    stream = live.subscribe()
    live.publish(ev.delivered("c1", 0, notification="first"))
    assert (await anext(stream))["seq"] == 1  # now subscribed and waiting
    for minute in range(1, 101):
        live.publish(ev.delivered("c1", minute, notification=f"n{minute}"))
    gap = await anext(stream)
    assert gap == {"gap": 90}
    assert [m["seq"] for m in await _take(stream, 10)] == list(range(92, 102))
    await stream.aclose()


async def test_publish_from_another_thread_reaches_the_subscribers_loop() -> None:
    live = LiveFeed()
    stream = live.subscribe()
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)  # let the subscription register
    assert live.subscriber_count == 1
    worker = threading.Thread(target=live.publish, args=(ev.triaged("c9", 0),))
    worker.start()
    worker.join()
    message = await asyncio.wait_for(waiting, timeout=10)
    assert message["case_id"] == "c9"
    await stream.aclose()


def test_tickets_verify_until_they_expire() -> None:
    signer = TicketSigner(ttl_seconds=60)
    ticket = signer.issue(subject="ops-1", now=ev.at(0)).ticket
    assert signer.verify(ticket, now=ev.at(0.5)) == "ops-1"
    with pytest.raises(InvalidTicket, match="expired"):
        signer.verify(ticket, now=ev.at(1))


def _tampered(ticket: str) -> str:
    return ticket[:-1] + ("0" if ticket[-1] != "0" else "1")


@pytest.mark.parametrize("mangle", [_tampered, lambda t: "not-a-ticket", lambda t: "%%%.abc",
                                    lambda t: "b3BzLTF8OTk5OTk5OTk5OQ." + t.partition(".")[2]])
def test_forged_or_malformed_tickets_are_refused(mangle: Any) -> None:
    signer = TicketSigner()
    ticket = signer.issue(subject="ops-1", now=ev.at(0)).ticket
    with pytest.raises(InvalidTicket):
        signer.verify(mangle(ticket), now=ev.at(0))


def test_a_ticket_is_valid_only_in_the_process_that_issued_it() -> None:
    ticket = TicketSigner().issue(subject="ops-1", now=ev.at(0)).ticket
    with pytest.raises(InvalidTicket):
        TicketSigner().verify(ticket, now=ev.at(0))
