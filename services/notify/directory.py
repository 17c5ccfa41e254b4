"""The specialist directory, read whole from its compacted topic into memory by every worker.

No consumer group: each worker reads every partition from the beginning at start, so it knows
every specialist's webhook and team lead regardless of which case partitions it owns.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping

from pydantic import ValidationError

from schemas.directory import Specialist
from schemas.topics import SPECIALIST_DIRECTORY
from services.common.follow import TopicFollower
from services.notify import metrics

log = logging.getLogger("spine.notify.directory")


class DirectoryCache(Mapping[str, Specialist]):
    """specialist id -> Specialist; `loaded` turns true once the topic was read to its end."""

    def __init__(self) -> None:
        self._entries: dict[str, Specialist] = {}
        self._follower: TopicFollower | None = None

    @property
    def loaded(self) -> bool:
        """True once the directory topic was read to its end."""
        return self._follower is not None and self._follower.loaded

    def __getitem__(self, key: str) -> Specialist:
        return self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One record of the compacted topic: an entry, or a tombstone that removes it."""
        if not value:  # None or empty: a tombstone
            if key is not None:
                self._entries.pop(key.decode(errors="replace"), None)
            return
        try:
            entry = Specialist.model_validate_json(value)
        except ValidationError as exc:
            log.warning("skipped invalid directory entry", extra={"errors": exc.error_count()})
            return
        self._entries[entry.specialist_id] = entry

    async def follow(self, bootstrap: str, topic: str = SPECIALIST_DIRECTORY) -> None:
        """Read the topic from the beginning, then keep following it until cancelled."""
        self._follower = TopicFollower(
            bootstrap=bootstrap, topics=[topic], client_id="spine-notify-directory",
            on_record=lambda record: self.apply(record.key, record.value),
            batch_ms=0)  # rare edits, wanted at once: batching would only add lag
        await self._follower.run()


class DirectoryWait:
    """Holds the agents' events that name recipients from the directory (a team lead) until
    its first load: applied before it, they fell back to the subscribers file's lead or ops,
    and a chain moved past its lead step for good. The wait is bounded, `timeout_seconds` in
    all from the first event held: past it, events are applied without the directory as
    before (logged once, counted). Once loaded, nothing is held again: a reconnect reads the
    topic again from the start with the entries it had kept (readiness says so meanwhile)."""

    POLL_SECONDS = 0.1  # the directory loads in seconds; held events are few and at start-up

    def __init__(
        self, loaded: Callable[[], bool], *, timeout_seconds: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loaded, self._timeout, self._sleep, self._monotonic = (
            loaded, timeout_seconds, sleep, monotonic)
        self._settled = False  # loaded once, or given up on: never held again
        self._gave_up = False
        self._deadline: float | None = None

    async def until_loaded(self) -> None:
        """Return once the directory has been read (or the wait is over); each event held is
        counted by how its wait ended."""
        if self._settled:
            return
        if self._loaded():
            self._settled = True
            return
        if self._deadline is None:
            self._deadline = self._monotonic() + self._timeout
            log.info("holding events until the specialist directory is read",
                     extra={"timeout_seconds": self._timeout})
        while not (self._settled or self._loaded()):
            if self._monotonic() >= self._deadline:
                self._settled = self._gave_up = True
                log.warning("specialist directory not loaded: applying events without it",
                            extra={"timeout_seconds": self._timeout})
                break
            await self._sleep(self.POLL_SECONDS)
        self._settled = True
        metrics.DIRECTORY_WAITS.labels("timed_out" if self._gave_up else "loaded").inc()
