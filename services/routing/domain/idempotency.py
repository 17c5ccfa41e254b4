"""A specialist's command seen again: a retry replays its first answer, a reused key is refused.

Under an Idempotency-Key the command id is derived from (kind, specialist, case, step, key)
(`api/specialists/service.py`), so the id alone cannot tell a retry after a timeout from the
same key sent with another addendum or report: both are already applied. The case row keeps a
digest of each applied command's body beside its outcome, and the replay compares them here,
where the first decision is read back (as intake compares a referral's body with its key's).
"""

from __future__ import annotations

import hashlib
import json

from schemas.envelope import Event
from schemas.routing import AcceptOffer, AmendReport, CompleteAssignment, DeclineOffer, RequestTeam
from services.routing.domain.state import CaseRouting, CommandOutcome

SPECIALIST_COMMANDS = (AcceptOffer, DeclineOffer, CompleteAssignment, AmendReport, RequestTeam)
# What the command id is derived from, or the API stamps per request: not the body.
_NOT_BODY = frozenset({"event_id", "case_id", "occurred_at", "schema_version", "event_type",
                       "step_id", "specialist_id"})
REUSED = CommandOutcome(
    status="reused",
    detail="this Idempotency-Key was first used with a different body; "
           "send a new key for a new command",
)


def body_digest(command: Event) -> str | None:
    """SHA-256 of the command's body as canonical JSON; None for a command without one (an
    accept is all id). Fields at their defaults are left out, so a field a later release adds
    with a default does not turn a retry decided across a rolling deploy into a mismatch."""
    if not set(type(command).model_fields) - _NOT_BODY:
        return None
    body = command.model_dump(mode="json", exclude=set(_NOT_BODY), exclude_defaults=True)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def replayed(
    state: CaseRouting, command: Event, closed: CommandOutcome,
) -> CommandOutcome | None:
    """The answer to an input this case already applied: its first outcome, or REUSED when a
    specialist's command comes back under its id with another body (nothing of it is read).

    On an erased case a specialist's command gets `closed`, as any new one does: erasure
    dropped the digests to compare (intake, too, answers a key of an erased case with the
    erasure, not the first answer). Rows from before digests were kept have none and replay
    the first answer, as they did."""
    first = state.outcomes.get(command.event_id)
    if not isinstance(command, SPECIALIST_COMMANDS):
        return first
    if state.erased:
        return closed
    kept = state.body_digests.get(command.event_id)
    if kept is not None and kept != body_digest(command):
        return REUSED
    return first


def remember(state: CaseRouting, command: Event) -> None:
    """Keep the digest of a specialist's command just applied (capped by `state.bounded`).

    Not on an erased case: erasure dropped the digests (a hash of a decline reason or an
    addendum confirms a guess of its text), and every command there is refused anyway."""
    if state.erased or not isinstance(command, SPECIALIST_COMMANDS):
        return
    digest = body_digest(command)
    if digest is not None:
        state.body_digests[command.event_id] = digest
