"""The verdict of a chaos run, from the topics and the webhook receiver only."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from schemas.cases import CaseTriaged
from schemas.dead_letter import DeadLettered
from schemas.registry import parse_event
from schemas.routing import (
    AssignmentCompleted,
    AssignmentDeclined,
    AssignmentOffered,
    EmergencyAssigned,
    OfferExpired,
)
from schemas.topics import CASE_TRIAGED, DEAD_LETTERS, ROUTING_EVENTS
from scripts.chaos.client import Posted
from scripts.chaos.evidence import Record
from scripts.webhook_inbox import ReceivedCall

HOLDS = (AssignmentOffered, EmergencyAssigned)
RELEASES = (AssignmentDeclined, OfferExpired, AssignmentCompleted)


@dataclass
class Verdict:
    figures: dict[str, Any] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def count(self, name: str, items: list[str] | set[str], *, violation: bool = True) -> None:
        """Record a figure; when it is a violation and non-zero, name a few examples."""
        self.figures[name] = len(items)
        if violation and items:
            examples = ", ".join(sorted(items)[:5])
            self.violations.append(f"{name}: {len(items)} (e.g. {examples})")


def _events(records: list[Record], topic: str) -> list[Any]:
    out = []
    for record in records:
        if record.value:
            try:
                out.append(parse_event(topic, record.value))
            except ValueError:
                continue  # other contracts on the topic are not this check's business
    return out


def _body(call: ReceivedCall) -> dict[str, Any]:
    try:
        body = json.loads(call.body)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def judge(
    *, posted: list[Posted], topics: dict[str, list[Record]], calls: list[ReceivedCall],
    capacities: dict[str, int], lag: dict[str, int],
) -> Verdict:
    """Every acknowledged referral triaged, routed and its webhook delivered; the rest."""
    verdict = Verdict()
    acked = {p.case_id: p for p in posted if p.case_id}
    verdict.figures["posted"] = len(posted)
    verdict.figures["acknowledged"] = len(acked)
    verdict.figures["client retries"] = sum(p.attempts - 1 for p in posted)

    triaged = {e.case_id for e in _events(topics[CASE_TRIAGED], CASE_TRIAGED)
               if isinstance(e, CaseTriaged)}
    routing = routing_events(topics[ROUTING_EVENTS], set(acked))
    offered = {e.case_id for e in routing if isinstance(e, AssignmentOffered)}
    paged = {e.case_id for e in routing if isinstance(e, EmergencyAssigned)}
    verdict.count("lost before triage", {c for c in acked if c not in triaged})
    verdict.count("triaged but not routed",
                  {c for c in acked if c in triaged and c not in offered | paged})
    emergencies = {c for c, p in acked.items() if p.emergency}
    verdict.figures["emergencies"] = len(emergencies)
    verdict.count("emergencies not paged", {c for c in emergencies if c not in paged})

    logical: dict[tuple[Any, ...], set[str]] = defaultdict(set)  # notification -> keys
    keys = Counter(c.headers.get("idempotency-key", "") for c in calls)
    for call in calls:
        body = _body(call)
        data = body.get("data") or {}
        identity = (call.path, body.get("kind"), body.get("case_id"), data.get("step_id"),
                    data.get("attempt"), data.get("status"))
        logical[identity].add(call.headers.get("idempotency-key", ""))
    offers, pages = undelivered(routing, calls)
    verdict.count("offers without a delivered webhook", offers)
    verdict.count("pages without a delivered webhook", pages)
    verdict.figures["webhook deliveries"] = len(calls)
    verdict.figures["duplicate deliveries (same key)"] = sum(n - 1 for n in keys.values())
    verdict.count("duplicates under a different key",
                  {f"{i[2]}:{i[1]}" for i, ks in logical.items() if len(ks) > 1})

    verdict.count("duplicate assignments", _duplicate_assignments(routing))
    verdict.count("specialists over capacity", _over_capacity(routing, capacities))
    verdict.count("dead letters",
                  {f"{r.partition}:{r.offset} {_dead_letter(r)}" for r in topics[DEAD_LETTERS]})
    verdict.count("groups with lag left", {f"{g}={n}" for g, n in lag.items() if n})
    return verdict


def routing_events(records: list[Record], cases: set[str]) -> list[Any]:
    """The routing events of `cases`, parsed."""
    return [e for e in _events(records, ROUTING_EVENTS) if e.case_id in cases]


def undelivered(routing: list[Any], calls: list[ReceivedCall]) -> tuple[set[str], set[str]]:
    """Cases with an offer, and with an emergency page, not yet delivered to its specialist."""
    delivered: dict[tuple[str, str], set[str]] = defaultdict(set)  # (case, kind) -> paths
    for call in calls:
        body = _body(call)
        delivered[(body.get("case_id", ""), body.get("kind", ""))].add(call.path)

    kinds: dict[type, str] = {AssignmentOffered: "assignment_offered",
                              EmergencyAssigned: "emergency_page"}
    missing: dict[str, set[str]] = {label: set() for label in kinds.values()}
    for event in routing:
        label = kinds.get(type(event))
        if label and f"/hooks/{event.specialist_id}" not in delivered[(event.case_id, label)]:
            missing[label].add(event.case_id)
    return missing["assignment_offered"], missing["emergency_page"]


def _dead_letter(record: Record) -> str:
    """Why a message was dead-lettered: service, source topic, the original's event type and the
    reason (reasons hold error types and field paths only; no case content is printed)."""
    try:
        dead = DeadLettered.from_bytes(record.value or b"")
    except ValueError:
        return "(not a dead-letter record)"
    try:
        body = json.loads(dead.original_value())
    except ValueError:
        body = None
    kind = body.get("event_type") if isinstance(body, dict) else None
    kind = kind if isinstance(kind, str) and kind.isidentifier() and len(kind) <= 64 else "?"
    return f"{dead.service} <- {dead.source_topic} {kind}: {dead.reason[:300]}"


def _duplicate_assignments(routing: list[Any]) -> set[str]:
    """A step offered twice in one attempt, or paged twice, under different event ids."""
    ids: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    for event in routing:
        if isinstance(event, AssignmentOffered):
            ids[(event.case_id, event.step_id, event.attempt)].add(event.event_id)
        elif isinstance(event, EmergencyAssigned):
            ids[(event.case_id, event.step_id, "page")].add(event.event_id)
    return {f"{k[0]}/{k[1]}" for k, v in ids.items() if len(v) > 1}


def _over_capacity(routing: list[Any], capacities: dict[str, int]) -> set[str]:
    """Specialists who at some point held more open steps than their max_open_cases."""
    holding: dict[str, set[tuple[str, str]]] = defaultdict(set)
    seen: set[str] = set()
    over: set[str] = set()
    for event in sorted(routing, key=lambda e: e.occurred_at):  # across partitions
        if event.event_id in seen:  # a redelivered event holds nothing twice
            continue
        seen.add(event.event_id)
        step = (event.case_id, event.step_id)
        if isinstance(event, HOLDS):
            holding[event.specialist_id].add(step)
            if len(holding[event.specialist_id]) > capacities.get(event.specialist_id, 0):
                over.add(f"{event.specialist_id}({len(holding[event.specialist_id])})")
        elif isinstance(event, RELEASES):
            holding[event.specialist_id].discard(step)
    return {o.split("(")[0] for o in over}
