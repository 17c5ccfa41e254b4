"""The specialist directory, read whole from its compacted topic into memory by every worker.

No consumer group: each worker reads every partition from the beginning at start, so it knows
every specialist's webhook and team lead regardless of which case partitions it owns.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping

from pydantic import ValidationError

from schemas.directory import Specialist
from schemas.topics import SPECIALIST_DIRECTORY
from services.common.follow import TopicFollower

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
