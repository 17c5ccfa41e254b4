"""The offer-expiry timer's sending, apart from faust so it can be tested with a clock.

The timer looks every few seconds (expiry_scan_seconds) and `due_ticks` answers every overdue
case until its tick is applied. Sent again at each look, the same tick queued up behind itself
while the agent lagged: after an outage with thousands of overdue cases, each look added
thousands of duplicates to the commands topic ahead of specialists' accepts and declines
(~0.22 ms each for the agent to drop as redeliveries). A tick is now sent once, and again only
if it is still due after RESEND_AFTER (a send lost with its producer batch, a slow agent).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta

from schemas.routing import ExpireOffers

RESEND_AFTER = timedelta(seconds=60)
# Ids held at most: beyond this many overdue cases the oldest may be sent again early, which
# is only the old behaviour for them (a repeat is dropped as a redelivery). ~200 bytes each.
MAX_REMEMBERED = 20_000


class SentTicks:
    """Ticks sent and still due. A tick's id names its case's due time, and an applied tick
    moves the due on, so an id that `due_ticks` no longer answers was applied (or its case is
    no longer this worker's): it is forgotten at the next look, which keeps this as small as
    the set of overdue cases, and MAX_REMEMBERED bounds it whatever happens."""

    def __init__(self, *, resend_after: timedelta = RESEND_AFTER,
                 max_remembered: int = MAX_REMEMBERED) -> None:
        self.resend_after, self.max_remembered = resend_after, max_remembered
        self._sent: OrderedDict[str, datetime] = OrderedDict()

    def to_send(self, due: Iterable[ExpireOffers], now: datetime) -> list[ExpireOffers]:
        """The due ticks not sent within RESEND_AFTER of `now`; forgets those no longer due."""
        due = list(due)
        still_due = {tick.event_id for tick in due}
        for event_id in [i for i in self._sent if i not in still_due]:
            del self._sent[event_id]
        return [tick for tick in due if not self._recent(tick.event_id, now)]

    def sent(self, tick: ExpireOffers, now: datetime) -> None:
        """Remember a tick as sent at `now` (call once it was handed to the producer)."""
        self._sent[tick.event_id] = now
        self._sent.move_to_end(tick.event_id)
        while len(self._sent) > self.max_remembered:
            self._sent.popitem(last=False)

    def _recent(self, event_id: str, now: datetime) -> bool:
        at = self._sent.get(event_id)
        # A clock that went back counts as "long ago": better a repeat than a tick held back.
        return at is not None and timedelta(0) <= now - at < self.resend_after

    def __len__(self) -> int:
        return len(self._sent)


async def send_due_ticks(
    due: Iterable[ExpireOffers], now: datetime, sent: SentTicks,
    send: Callable[[ExpireOffers], Awaitable[object]],
) -> int:
    """One look of the timer: send each due tick not sent lately; how many were sent. A tick
    is remembered only once sent, so one whose send raised goes out at the next look."""
    count = 0
    for tick in sent.to_send(due, now):
        await send(tick)
        sent.sent(tick, now)
        count += 1
    return count
