"""A case's outbox is capped per subscriber: one party's backlog (a referrer whose webhook is down,
updating its referral) cannot crowd out another's page. Critical messages are never left
unqueued; what is left unqueued or displaced is dead-lettered with ids only."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

from schemas.dead_letter import DeadLettered
from services.notify.domain.outbox import MAX_OUTBOX, MAX_PER_SUBSCRIBER
from services.notify.domain.state import CaseState, Outcome
from tests.unit.notify.notify_builders import T0, CaseFlow, Harness

SECRET_TEXT = "Both legs painful since the weekend."


def backlog(h: Harness, count: int, *, subscriber: str = "ref-1",
            kind: str = "status_report_amended", audience: str = "referrer") -> None:
    """`count` undelivered routine messages for one subscriber (its webhook is down)."""
    assert h.state is not None
    out = Outcome(state=h.state.working_copy())
    for i in range(count):
        out.notify(audience=audience, subscriber_id=subscriber, kind=kind,  # type: ignore[arg-type]
                   cause_event_id=f"{subscriber}-{kind}-{i}", now=T0,
                   data={"note": SECRET_TEXT})
    h.state = out.state


def dead_letters(out: Outcome) -> list[DeadLettered]:
    return [e for e in out.events if isinstance(e, DeadLettered)]


def test_a_referrers_backlog_does_not_stop_the_emergency_page_or_its_escalations() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.received(T0))
    backlog(h, 3 * MAX_PER_SUBSCRIBER)
    assert h.state is not None
    assert sum(n.subscriber_id == "ref-1" for n in h.state.outbox) == MAX_PER_SUBSCRIBER
    out = h.apply(flow.emergency(T0 + timedelta(minutes=5)))
    kinds = {(n.subscriber_id, n.kind) for n in out.notifications}
    assert ("oncall-1", "emergency_page") in kinds
    assert ("ref-1", "status_emergency") in kinds  # displaced the referrer's oldest routine one
    skipped = []
    for minutes in range(6, 24 * 60, 5):  # a day of ticks: warnings, breach, escalation chain
        skipped += [r for r in h.apply(flow.tick(T0 + timedelta(minutes=minutes))).skipped
                    if r.startswith("outbox_full") and "displaced" not in r]
    queued = {kind for _, _, kind in h.notifications}
    assert {"sla_warning", "sla_breached"} <= queued
    assert skipped == []


def test_a_critical_message_displaces_the_subscribers_oldest_routine_one_dead_lettered() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.received(T0))
    backlog(h, MAX_PER_SUBSCRIBER)
    assert h.state is not None
    oldest = h.state.outbox[0]  # status_received of revision 1
    out = h.apply(flow.emergency(T0 + timedelta(minutes=5)))
    assert oldest.notification_id not in {n.notification_id for n in h.state.outbox}
    [dead] = dead_letters(out)
    assert dead.reason == "outbox_full: status_received displaced by status_emergency"
    body = json.loads(base64.b64decode(dead.original_value_b64))
    assert body["notification_id"] == oldest.notification_id and "data" not in body
    assert SECRET_TEXT not in dead.model_dump_json()
    assert sum(n.subscriber_id == "ref-1" for n in h.state.outbox) == MAX_PER_SUBSCRIBER


def test_a_routine_message_past_the_cap_is_dead_lettered_not_only_counted() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.received(T0))
    backlog(h, MAX_PER_SUBSCRIBER)
    assert h.state is not None
    out = Outcome(state=h.state.working_copy())
    out.notify(audience="referrer", subscriber_id="ref-1", kind="status_report_amended",
               cause_event_id="one-too-many", now=T0, data={"note": SECRET_TEXT})
    assert out.notifications == []
    assert out.skipped == ["outbox_full: status_report_amended not queued"]
    [dead] = dead_letters(out)
    assert dead.service == "notify" and dead.source_topic == "notify.outbox"
    body = json.loads(base64.b64decode(dead.original_value_b64))
    assert set(body) == {"notification_id", "case_id", "sequence", "audience", "subscriber_id",
                         "kind", "cause_event_id", "created_at"}
    assert SECRET_TEXT not in dead.model_dump_json()


def test_the_case_as_a_whole_stays_bounded_and_critical_messages_still_get_in() -> None:
    h = Harness()
    h.state = CaseState(case_id="case-1")
    for party in range(MAX_OUTBOX // MAX_PER_SUBSCRIBER):
        backlog(h, MAX_PER_SUBSCRIBER, subscriber=f"spec-{party}", kind="assignment_offered",
                audience="specialist")
    assert len(h.state.outbox) == MAX_OUTBOX
    out = Outcome(state=h.state.working_copy())
    out.notify(audience="ops", subscriber_id="ops-1", kind="case_stalled", cause_event_id="s",
               now=T0, data={})
    out.notify(audience="ops", subscriber_id="ops-1", kind="case_stalled", cause_event_id="t",
               now=T0, data={})
    out.notify(audience="ops", subscriber_id="ops-1", kind="offer_expired", cause_event_id="u",
               now=T0, data={})
    assert [n.kind for n in out.notifications] == ["case_stalled", "case_stalled"]
    assert len(out.state.outbox) == MAX_OUTBOX
    assert len(dead_letters(out)) == 3  # two displaced, one not queued


def test_critical_messages_alone_stay_within_the_cap_newest_kept() -> None:
    outcome = Outcome(state=CaseState(case_id="c1"))
    for i in range(MAX_PER_SUBSCRIBER + 5):
        outcome.notify(audience="ops", subscriber_id="ops-1", kind="sla_warning",
                       cause_event_id=f"e{i}", now=T0, data={})
    assert len(outcome.state.outbox) == MAX_PER_SUBSCRIBER
    assert outcome.state.outbox[-1].cause_event_id == f"e{MAX_PER_SUBSCRIBER + 4}"
    assert len(dead_letters(outcome)) == 5


def test_a_newer_referral_status_replaces_the_queued_older_ones() -> None:
    h, flow = Harness(), CaseFlow()
    for revision in range(1, 201):  # PUT /referrals/{id} 200 times, webhook down
        h.apply(flow.received(T0 + timedelta(seconds=revision), revision=revision))
    out = h.apply(flow.received(T0 + timedelta(minutes=5), missing=("imaging",), revision=201))
    assert h.state is not None
    assert [(n.kind, n.data["revision"]) for n in h.state.outbox] == [
        ("status_waiting_for_records", 201)]
    assert out.skipped == ["superseded: status_received by a newer status"]
    assert dead_letters(out) == []  # nothing failed: the newer status says it all
