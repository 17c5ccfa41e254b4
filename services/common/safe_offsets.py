"""No committed offset ever passes a message nobody handled: faust's consumer, made safe across
rebalances (issue 14, item 5: cases triaged but never routed while the group showed no lag).

Read from faust-streaming 0.15.3 (`faust/transport/consumer.py`, `faust/tables/recovery.py`,
`faust/streams.py`, `faust/_cython/streams.pyx`, `mode/utils/queues.py`); runs and the commit
log that showed it: docs/reliability.md, "Lost offsets".

`Consumer._drain_messages` hands each fetched message to the agents' buffers (`callback`) and
then sets the partition's read offset to it. A message below the read offset is dropped unseen;
a jump above it is recorded as a "gap" that later counts as acked.

1. Measured: after a rebalance, `Recovery.on_recovery_completed` resumes the stream partitions,
   seeks them to the committed offsets (`perform_seek`, several round trips) and only then
   resumes flow control -- which empties every agent's buffer (`FlowControlEvent.resume` clears
   the queues it manages). Consumer flow is already running (table recovery resumed it), so
   messages delivered in between were thrown away with the buffers while the read offset moved
   past them: their re-read copies were dropped, or counted done as a gap, and committed past.
   Here `perform_seek` stops the consumer's flow first (its callers resume it afterwards), and a
   message drained while flow is stopped is neither delivered nor allowed to move the read
   offset or record a gap: it is read again from the committed offset.
2. The same for a message of an older generation (or one taken while flow control is
   suspended) whose delivery outlasted the rebalance: every stream skips it, so it must not
   move the read offset either.
3. Revocation pops the partition's committed offset, which switches off `_new_offset`'s guard
   against committing a run of acks that starts after an unhandled message, and the commit timer
   runs through the rebalance. Here nothing is committed from revocation until the new
   generation's seek has read the committed offsets back; the acks wait meanwhile.
4. faust's pure-Python stream iterator (`_py_aiter`, used without the Cython extension) *acks*
   the messages it skips during a rebalance; such an ack is refused here. (The Cython iterator,
   used when built, does not ack skipped messages and does not call `ack`.)

What it costs: a message handled during a rebalance window may be handled again by the
partition's next owner. That is at-least-once, and derived event ids make it a no-op.

5. Not a hole, a cost: the drain loop awaits each message's delivery through `wait_first`,
   which makes four tasks (the delivery, the flow-suspension wait, the stopped and crashed
   waits) and cancels three, for a delivery that almost always finishes without waiting (it
   puts the event in the agents' buffers). That was about a third of faust's CPU per consumed
   message (py-spy on `python -m bench floor`). Here the delivery runs at once, followed by
   one pass of the event loop so the agents take each event as it comes (as faust's tasks let
   them); only a delivery that has to wait (flow control, the producer's buffer, a full agent
   buffer) goes the old way, so it is still abandoned when flow is suspended or the service
   stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust.types import TP, Message
from mode.services import WaitResults
from mode.utils.times import Seconds

from services.common.eager import Eager
from services.common.logs import get_logger
from services.common.safe_fetch import SafeFetchConsumer

log = get_logger("offsets")


class ReadOffsets(dict[TP, int | None]):
    """faust's per-partition read offsets (a missing one reads as None), with one write refused:
    the drain loop's write for the message the consumer has just declined to deliver."""

    def __init__(self) -> None:
        super().__init__()
        self._refused: tuple[TP, int] | None = None

    def __missing__(self, tp: TP) -> None:
        return None

    def refuse_next(self, tp: TP | None, offset: int) -> None:
        """Refuse the coming write of `offset` for `tp` (None: refuse nothing)."""
        self._refused = (tp, offset) if tp is not None else None

    def __setitem__(self, tp: TP, offset: int | None) -> None:
        if self._refused is not None and self._refused == (tp, offset):
            self._refused = None
            return
        super().__setitem__(tp, offset)


class SafeOffsetsConsumer(SafeFetchConsumer):
    """faust's aiokafka consumer with the rebalance holes above closed (1-4), over the
    fetch that loses no changelog record (services/common/safe_fetch.py)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_offset: ReadOffsets = ReadOffsets()
        self.callback = self._current_only(self.callback)
        self._seeked_generation: int | None = None  # None: committed offsets not read back yet
        self._deferred_logged: int | None = None

    def is_stale(self, message: Message) -> bool:
        """True for what every stream skips: an older generation's message, or any while flow
        control is suspended (a rebalance under way)."""
        app = self.app
        return (message.generation_id != app.consumer_generation_id
                or not app.flow_control.is_active())

    def held_back(self, message: Message) -> bool:
        """Not to be delivered: stale, or drained while this consumer's flow is stopped (the
        seek below; what is delivered then is emptied from the agents' buffers on resume)."""
        return not self.flow_active or self.is_stale(message)

    def _current_only(
        self, deliver: Callable[[Message], Awaitable[None]]
    ) -> Callable[[Message], Awaitable[None]]:
        def eager(message: Message) -> Eager:  # run at once by wait_first below (5)
            return Eager(deliver_current(message))

        async def deliver_current(message: Message) -> None:
            # Only for what is committed (agents' input topics): table changelogs are not
            # streams, and recovery seeks them itself on every assignment.
            if self.app.topics.acks_enabled_for(message.topic) and self.held_back(message):
                self._read_offset.refuse_next(message.tp, message.offset)
                log.info("message held back until the rebalance or seek ends", extra={
                    "topic": message.topic, "partition": message.partition,
                    "offset": message.offset, "message_generation": message.generation_id,
                    "generation": self.app.consumer_generation_id})
                return
            self._read_offset.refuse_next(None, 0)
            await deliver(message)

        return eager

    async def wait_first(self, *coros: Any, timeout: Seconds | None = None) -> WaitResults:
        """The drain loop's `wait_first(delivery, suspend_flow.wait())`, without a task for a
        delivery that finishes at once (5); every other call is mode's own."""
        if not coros or not isinstance(coros[0], Eager) or timeout is not None:
            return await super().wait_first(*coros, timeout=timeout)  # type: ignore[arg-type]
        delivery, others = coros[0], coros[1:]
        if delivery.run():
            for other in others:
                close = getattr(other, "close", None)
                if close is not None:
                    close()  # the flow-suspension wait, never started
            # One pass of the loop, as faust's tasks gave: the agents take the event now, so
            # their buffers do not fill with a whole fetch (notify's peak RSS rose without it).
            await asyncio.sleep(0)
            return WaitResults([delivery], [delivery.result], False)
        return await super().wait_first(delivery, *others)  # it waits: faust's way

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        """From here until the next seek the committed offsets are unknown: commit nothing."""
        self._seeked_generation = None
        await super().on_partitions_revoked(revoked)

    async def perform_seek(self) -> None:
        """Seek to the committed offsets with flow stopped (1 above); then commit again (3).

        Every caller resumes flow afterwards (Recovery.on_recovery_completed and
        Recovery._resume_streams) or runs mid-rebalance with flow stopped already (getmany).
        """
        generation = self.app.consumer_generation_id
        self.stop_flow()
        await super().perform_seek()
        self._seeked_generation = generation

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        """A jump in read offsets counts as acked; not one measured against a seek under way."""
        if self.flow_active:
            await super()._add_gap(tp, offset_from, offset_to)

    def _new_offset(self, tp: TP) -> int | None:
        generation = self.app.consumer_generation_id
        if self._seeked_generation != generation:
            if self._acked.get(tp) and self._deferred_logged != generation:
                self._deferred_logged = generation  # once per generation: it is routine
                log.info("commit deferred until the committed offsets are read back",
                         extra={"topic": tp.topic, "partition": tp.partition,
                                "acks": len(self._acked[tp]), "generation": generation})
            return None  # the acks stay; they are committed after the seek, if contiguous
        return super()._new_offset(tp)  # type: ignore[no-any-return]

    def ack(self, message: Message) -> bool:
        """Count an ack only from the current generation with flow active (4 above)."""
        if self.is_stale(message):
            log.info("ack from a rebalance window refused", extra={
                "topic": message.topic, "partition": message.partition, "offset": message.offset})
            return False
        return bool(super().ack(message))


def use_safe_offsets(app: faust.App) -> faust.App:
    """Make `app` create the safe consumer (before the worker starts it)."""
    app.transport.Consumer = SafeOffsetsConsumer  # type: ignore[misc]
    return app
