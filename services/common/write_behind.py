"""How rows written behind reach faust (notify's case rows, routing's case content): flushed
just before every offset commit.

Faust commits input offsets in Consumer.force_commit: it calls the sensors' on_commit_initiated,
picks the offsets acknowledged so far, flushes the producer, then commits. Writing the pending
rows in that sensor hook therefore puts every row changed by a committed input into the
changelog before the commit; rows of inputs not yet committed may be lost in a crash, and
those inputs are consumed and applied again (idempotently) after the restart.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import faust

from services.common.logs import get_logger

log = get_logger("write_behind")


class WriteRowsBeforeCommit(faust.Sensor):
    """A faust sensor whose only job: write the pending rows as a commit starts."""

    def __init__(self, flush: Callable[[], int]) -> None:
        super().__init__()
        self._flush = flush

    def on_commit_initiated(self, consumer: Any) -> Any:
        self._flush()
        return super().on_commit_initiated(consumer)


def write_rows_behind(
    app: faust.App, *, flush: Callable[[], int], forget: Callable[[Collection[int]], int],
    input_topics: Collection[str],
) -> None:
    """Flush pending rows before each commit; drop those of partitions taken away."""
    app.sensors.add(WriteRowsBeforeCommit(flush))

    @app.on_partitions_revoked.connect  # type: ignore[misc,arg-type]
    async def _forget_revoked_rows(sender: faust.App, revoked: set[Any], **kwargs: Any) -> None:
        dropped = forget({tp.partition for tp in revoked if tp.topic in input_topics})
        # Rows a commit wrote while the revocation ran reach the broker before the new owner
        # of their partition starts reading its changelog.
        await sender.producer.flush()
        if dropped:
            log.info("unwritten rows of revoked partitions dropped", extra={"rows": dropped})
