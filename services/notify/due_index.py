"""case id -> when something next falls due, so notify's timer reads this, not the whole table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.notify.domain.state import CaseState

RETICK_AFTER = timedelta(seconds=30)  # a tick lost in a rebalance is sent again after this


@dataclass
class _Due:
    partition: int | None
    at: datetime
    ticked_at: datetime | None = None


class DueIndex:
    """Each open case's next due instant and partition; rebuilt by the processor's rescan."""

    def __init__(self) -> None:
        self._due: dict[str, _Due] = {}

    def update(self, state: CaseState) -> None:
        """Track the case's next due instant (or forget it when nothing is pending)."""
        if state.next_due_at is None:
            self._due.pop(state.case_id, None)
            return
        known = self._due.get(state.case_id)
        if known is None or known.at != state.next_due_at:
            self._due[state.case_id] = _Due(state.partition, state.next_due_at)

    def keep_owned(self, owned: Callable[[int | None], bool]) -> int:
        """Forget cases of partitions handed over (they stayed, read on every tick); count."""
        gone = [case_id for case_id, due in self._due.items() if not owned(due.partition)]
        for case_id in gone:
            del self._due[case_id]
        return len(gone)

    def take_due(self, now: datetime, owned: Callable[[int | None], bool]) -> list[str]:
        """Cases due by `now` on owned partitions, each returned once (again if a tick is lost)."""
        found = []
        for case_id, due in self._due.items():
            if due.at > now or not owned(due.partition):
                continue
            if due.ticked_at is None or now - due.ticked_at >= RETICK_AFTER:
                due.ticked_at = now
                found.append(case_id)
        return found

    def __len__(self) -> int:
        return len(self._due)
