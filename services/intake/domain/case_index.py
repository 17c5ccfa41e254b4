"""Indexes over the registry's cases, so a Task search reads only the cases it could return.

A search looks at one referrer's cases newest first (`CaseOrder`: per referrer and overall, kept
sorted by when each case was opened as records arrive, so a search never sorts) or at the few
cases carrying an identifier value (`ValueIndex`: referral ids and the identifiers senders
gave). Both are maintained by `Registry.apply`; neither holds anything the registry does not.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

Position = tuple[datetime, str]  # (opened at, case id): where a case sits in search order
ALL = ""  # CaseOrder's key for every referrer's cases (ops searches); no referrer id is empty


@dataclass
class CaseOrder:
    """Case ids by when they were opened, oldest first, per referrer and for all referrers."""

    _lists: dict[str, list[Position]] = field(default_factory=dict)

    def add(self, referrer_id: str, position: Position) -> None:
        # Records mostly arrive in that order, so insertion is nearly always at the end.
        for key in (referrer_id, ALL):
            insort(self._lists.setdefault(key, []), position)

    def remove(self, referrer_id: str, position: Position) -> None:
        for key in (referrer_id, ALL):
            found = self._lists.get(key, [])
            i = bisect_left(found, position)
            if i < len(found) and found[i] == position:
                del found[i]

    def newest_first(self, referrer_id: str | None, before: Position | None) -> Iterator[str]:
        """Case ids of `referrer_id` (None: everyone's), newest first, strictly before
        `before` (a paging cursor). Lazy: a search stops reading when its page is full. Read it
        to the end or drop it without awaiting in between: the registry may change meanwhile."""
        found = self._lists.get(ALL if referrer_id is None else referrer_id, [])
        end = len(found) if before is None else bisect_left(found, before)
        for i in range(end - 1, -1, -1):
            yield found[i][1]


@dataclass
class ValueIndex:
    """Case ids by identifier value; a multiset, since a case can carry one value twice (as its
    referral id and as an identifier, or under two systems) and lose one of them."""

    _cases: dict[str, list[str]] = field(default_factory=dict)

    def add(self, value: str, case_id: str) -> None:
        self._cases.setdefault(value, []).append(case_id)

    def remove(self, value: str, case_id: str) -> None:
        found = self._cases.get(value)
        if found and case_id in found:
            found.remove(case_id)
            if not found:
                del self._cases[value]

    def cases(self, value: str) -> list[str]:
        """Every case id carrying `value` under some system (distinct, any order)."""
        return list(dict.fromkeys(self._cases.get(value, ())))
