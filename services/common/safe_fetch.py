"""No table recovery waits for changelog records the consumer has already taken and dropped.

Read from faust-streaming 0.15.3 (`faust/transport/consumer.py`, `faust/tables/recovery.py`) and
aiokafka 0.14.0 (`consumer/fetcher.py`); the runs that showed it: docs/reliability.md,
"Recovery that never ended".

Seen in CI and reproduced (4 of 22 runs of tests/notify/test_notify_board_rebalance.py): a notify
worker that kept half its partitions when a second worker joined never became ready again. Its
recovery waited for changelog offset 0 on the partitions it kept while the aiokafka consumer's
position there was already 1, and nothing reached the recovery. Two steps lost them:

1. faust hands the consumer thread its *live* set of active partitions, and aiokafka's
   `fetched_records` takes an empty set to mean every partition. A fetch still waiting (up to
   1 s) when a rebalance paused every partition therefore returned every record aiokafka had
   buffered -- changelogs included, which were never active -- and moved their positions past
   them. Here each fetch gets its own copy of the set, so a rebalance cannot widen it.
2. faust's `getmany` drops what such a fetch returns once flow has stopped (or the generation
   changed, or the partition was paused). Stream partitions get faust's seek back to the
   committed offset; a changelog partition gets nothing, so if the drop lands after recovery's
   own seek, recovery waits for records already consumed, for ever. Here changelog records taken
   and not handed on are put back: the position returns to the first of them, unless something
   has moved it since (a later seek wins).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from faust.transport.drivers.aiokafka import Consumer
from faust.types import TP, Message

from services.common.logs import get_logger

log = get_logger("offsets")

Taken = dict[Any, tuple[int, int]]  # changelog partition -> (first, last) offset not handed on


class SafeFetchConsumer(Consumer):
    """faust's aiokafka consumer with the two steps above closed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._taken: Taken = {}  # the current fetch's changelog records

    async def _getmany(self, active_partitions: set[TP] | None, timeout: float) -> Any:
        """One fetch for a copy of the active partitions (1); notes its changelog records."""
        if active_partitions is not None:  # faust calls this only with a non-empty set
            active_partitions = set(active_partitions)
        records = await super()._getmany(active_partitions, timeout)
        self._taken = {tp: (batch[0].offset, batch[-1].offset)
                       for tp, batch in records.items()
                       if batch and self._is_changelog_tp(tp)}
        return records

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        """faust's getmany; then changelog records it dropped are put back (2)."""
        self._taken = {}
        handed: dict[Any, int] = {}
        async for tp, message in super().getmany(timeout):
            handed[tp] = message.offset
            yield tp, message
        dropped = undelivered(self._taken, handed)
        if dropped:
            try:
                await self._thread.call_thread(self._put_back, dropped)
            except Exception as exc:
                # Never the drain loop's end; the stalled-recovery liveness rule
                # (services/common/worker_health.py) is behind this.
                log.warning("changelog records not put back", extra={
                    "error": type(exc).__name__, "partitions": len(dropped)})

    async def _put_back(self, dropped: Taken) -> None:
        """On the consumer's thread: seek each partition back to its first dropped record if its
        position is still just past the last one (nothing has sought it since)."""
        consumer = self._thread._ensure_consumer()  # type: ignore[attr-defined]
        assigned = consumer.assignment()
        for tp, (first, last) in dropped.items():
            if tp not in assigned:
                continue  # revoked meanwhile: the next owner's recovery seeks it
            position = await asyncio.wait_for(consumer.position(tp), 5)
            if position == last + 1:
                consumer.seek(tp, first)
                log.info("changelog records put back for recovery to read", extra={
                    "topic": tp.topic, "partition": tp.partition, "first": first, "last": last})


def undelivered(taken: Taken, handed: dict[Any, int]) -> Taken:
    """Of the records taken, per partition, those after the last one handed on."""
    return {tp: (handed[tp] + 1 if tp in handed else first, last)
            for tp, (first, last) in taken.items() if handed.get(tp, first - 1) < last}
