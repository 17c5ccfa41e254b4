"""GET /fhir/Task: a search whose work is bounded, whatever the caller's number of cases.

A search runs on intake's event loop, so it may not scale with the registry (20,000 cases took
10 s and stalled every other request). It reads only cases it could return: the one named by
`based-on`, the few carrying the `identifier` value (the registry's value index), or the
caller's own cases newest first (the registry's per-referrer order, no sorting). Each is judged
on cheap fields (owner, identifiers, status derived from the Task view) and no Task resource is
built here: the caller builds the page only, and drops a Task whose status no longer matches
(`TaskPage.admits`: the case changed between the page's choice and the Task's building). One
request examines at most SCAN_LIMIT cases; a page cut short by it says so (an OperationOutcome
entry) and its `next` link carries on from the last case examined. Paging is by cursor, the
(time opened, case id) of the last case a page covered: new cases go to the front, before the
first page, and an update or cancellation moves no case, so later pages neither skip nor repeat
one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.common.auth import Principal
from services.intake.domain.case_index import Position
from services.intake.domain.decisions import Rejected
from services.intake.domain.registry import CaseRecord, position
from services.intake.fhir.resources import CASE_SYSTEM, REFERRAL_ID_SYSTEM
from services.intake.fhir.status import ensure_loaded
from services.intake.fhir.taskview import progress_of
from services.intake.state import Intake

# Cases one search request may examine: each costs a few microseconds (dict reads and the
# derived status), so this bounds a request's time on the event loop to milliseconds.
SCAN_LIMIT = 2_000
TASK_STATUSES = frozenset({
    "draft", "requested", "received", "accepted", "rejected", "ready", "cancelled",
    "in-progress", "on-hold", "failed", "completed", "entered-in-error",
})


@dataclass(frozen=True)
class TaskPage:
    cases: list[CaseRecord]  # the page, newest first: the only cases a Task is built for
    examined: int  # cases read to answer it (at most SCAN_LIMIT)
    total: int | None  # matches of the whole search, when this request saw every candidate
    next_cursor: str | None  # where the next page starts, if there may be more
    cut_short: bool  # SCAN_LIMIT reached before the search ended
    statuses: frozenset[str] | None = None  # the status filter, if any

    def admits(self, task: dict[str, Any]) -> bool:
        """Whether a Task built for the page still has a status the search asked for. The page
        was chosen on each case's status then; its Tasks are built one at a time, other
        requests running between them, so a case cancelled (or triaged, completed) meanwhile
        was listed under a status its Task no longer had. Owner and identifiers do not need
        judging again: they never change, or only grow (erasure is judged by the caller)."""
        return self.statuses is None or task.get("status") in self.statuses


def _invalid(detail: str, parameter: str) -> Rejected:
    """400 naming the parameter (the OperationOutcome issue's `expression`)."""
    return Rejected(400, "Invalid search", detail, kind="invalid-search",
                    errors=[{"path": parameter, "message": detail}])


def encode_cursor(at: Position) -> str:
    """An opaque `_cursor`: the position a page ended at."""
    raw = f"{at[0].isoformat()}|{at[1]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    """The position a `_cursor` names; 400 naming `_cursor` when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, case_id = raw.partition("|")
        at = datetime.fromisoformat(moment)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise _invalid("_cursor is not a cursor from a next link of this server",
                       "_cursor") from exc
    if at.tzinfo is None or not case_id:
        raise _invalid("_cursor is not a cursor from a next link of this server", "_cursor")
    return at, case_id


def _token(value: str) -> tuple[str | None, str]:
    """FHIR token search value: `system|value`, `|value` (no system) or `value` (any system)."""
    if "|" not in value:
        return None, value
    system, _, code = value.partition("|")
    return system, code


def _identifiers(intake: Intake, case: CaseRecord) -> Iterator[tuple[str, str]]:
    """The Task's identifiers as (system, value), as resources.task_resource lists them."""
    yield CASE_SYSTEM, case.case_id
    yield from intake.registry.identifiers_of(case)
    yield REFERRAL_ID_SYSTEM, case.referral_id


def _candidates(
    intake: Intake, owner: str | None, wanted_case: str | None, identifier: str | None,
    before: Position | None,
) -> Iterable[CaseRecord]:
    """Cases the search could return, newest first, strictly before the cursor."""
    cases = intake.registry.cases
    if wanted_case is not None or identifier is not None:
        if wanted_case is not None:
            ids = [wanted_case]
        else:
            value = _token(identifier or "")[1]
            ids = [value, *intake.registry.values.cases(value)]  # as case id, or as identifier
        found = {c.case_id: c for c in (cases.get(i) for i in ids) if c is not None}
        return sorted((c for c in found.values() if before is None or position(c) < before),
                      key=position, reverse=True)
    return (cases[i] for i in intake.registry.order.newest_first(owner, before))


def find_tasks(
    *, intake: Intake, principal: Principal, based_on: str | None, identifier: str | None,
    status: str | None, count: int, cursor: str | None = None,
) -> TaskPage:
    """The caller's cases matching every given parameter (AND), newest first, at most `count`;
    at most SCAN_LIMIT cases examined."""
    ensure_loaded(intake)
    owner = None if principal.role == "ops" else principal.subject
    statuses = frozenset(status.split(",")) if status else None
    if statuses and not statuses <= TASK_STATUSES:
        raise _invalid("status must be FHIR task-status codes", "status")
    wanted_case = None
    if based_on:
        wanted_case = based_on.rsplit("/", 1)[-1]
        if "/" in based_on and based_on.rsplit("/", 2)[-2] != "ServiceRequest":
            raise _invalid("based-on must reference a ServiceRequest", "based-on")
    before = decode_cursor(cursor) if cursor else None
    system, value = _token(identifier) if identifier else (None, "")
    page: list[CaseRecord] = []
    examined, more, cut_short = 0, False, False
    last_examined: Position | None = None
    for case in _candidates(intake, owner, wanted_case, identifier, before):
        if examined >= SCAN_LIMIT:
            cut_short = True
            break
        examined, last_examined = examined + 1, position(case)
        if not _matches(intake, case, owner=owner, system=system, value=value,
                        identifier=identifier is not None, statuses=statuses):
            continue
        if len(page) == count:
            more = True  # one match past the page: there is a next one
            break
        page.append(case)
    # After a full page the next starts behind its last case; after a cut-short scan, behind
    # the last case examined (everything before it was judged already).
    next_at = position(page[-1]) if more else last_examined if cut_short else None
    complete = not (more or cut_short)
    return TaskPage(
        cases=page, examined=examined, total=len(page) if complete and before is None else None,
        next_cursor=encode_cursor(next_at) if next_at else None, cut_short=cut_short,
        statuses=statuses,
    )


def _matches(
    intake: Intake, case: CaseRecord, *, owner: str | None, system: str | None, value: str,
    identifier: bool, statuses: frozenset[str] | None,
) -> bool:
    """Whether the case's Task would match, judged without building it."""
    if owner is not None and case.referrer_id != owner:
        return False
    if case.case_id in intake.registry.erased:
        return False  # written after its erasure by another worker; being tombstoned again
    if identifier and not any(v == value and (system is None or s == system)
                              for s, v in _identifiers(intake, case)):
        return False
    if statuses is None:
        return True
    progress = intake.tasks.get(case.case_id)
    return progress_of(progress, cancelled=case.status == "cancelled").status in statuses
