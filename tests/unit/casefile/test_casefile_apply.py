"""apply_event: every event type, idempotency by event id, order tolerance, the audit timeline."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.envelope import Event
from schemas.registry import all_event_models
from schemas.routing import AcceptOffer, CompleteAssignment, DeclineOffer, ExpireOffers
from services.notify.casefile import CaseSummary, apply_event
from services.notify.casefile.apply import IGNORED_EVENT_TYPES, MAX_TIMELINE
from tests.unit.casefile import events as ev

SECRETS = (ev.PATIENT_NAME, ev.CLINICAL_QUESTION, ev.DECLINE_REASON, "secret-report-text")


def fold(events: Iterable[Event], summary: CaseSummary | None = None) -> CaseSummary:
    for event in events:
        summary = apply_event(summary, event)
    assert summary is not None
    return summary


def assert_no_patient_data(summary: CaseSummary) -> None:
    dumped = summary.model_dump_json()
    for secret in SECRETS:
        assert secret not in dumped


def lifecycle(case_id: str = "c1") -> list[Event]:
    return [
        ev.received(case_id, 0), ev.triaged(case_id, 5), ev.offered(case_id, 10),
        ev.sla("warning", case_id, 100, deadline=130),
        ev.sla("breached", case_id, 131, deadline=130),
        ev.accepted(case_id, 140), ev.step_completed(case_id, 600),
        ev.case_completed(case_id, 610),
    ]


def test_referral_received_records_referrer_and_stage_without_patient_data() -> None:
    s = apply_event(None, ev.received("c1", 0, referrer="ref-9"))
    assert (s.case_id, s.referrer_id, s.status, s.revision) == ("c1", "ref-9", "received", 1)
    assert s.stages.received == ev.at(0)
    entry = s.timeline[0]
    assert (entry.event_type, entry.actor_kind, entry.actor) == ("ReferralReceived", "referrer",
                                                                 "ref-9")
    assert entry.changes == {"revision": 1, "received_via": "json", "missing_records": [],
                             "unmapped_count": 0}
    assert_no_patient_data(s)


def test_missing_records_follow_the_newest_revision_only() -> None:
    waiting = fold([ev.received("c1", 0), ev.received("c1", 5, revision=2, missing=("mri",))])
    assert waiting.waiting_for_records and waiting.missing_records == ["mri"]
    assert waiting.sla_state == "paused"
    resumed = fold([ev.received("c1", 30, revision=3)], waiting)
    assert not resumed.waiting_for_records
    late_old_revision = apply_event(resumed, ev.received("c1", 1, revision=2, missing=("ct",)))
    assert late_old_revision.missing_records == []


def test_triage_sets_urgency_and_teams_and_a_stale_revision_does_not_overwrite() -> None:
    s = fold([ev.received("c1", 0), ev.triaged("c1", 5, urgency="soon", revision=2,
                                               teams=("spine_surgery", "pain_medicine"))])
    assert (s.urgency, s.status, s.teams) == ("soon", "triaged", ["spine_surgery", "pain_medicine"])
    assert s.timeline[-1].actor == "triage"
    assert s.timeline[-1].changes["fired_rules"] == ["R7_radicular"]
    stale = apply_event(s, ev.triaged("c1", 6, urgency="routine", revision=1))
    assert stale.urgency == "soon"


def test_offer_opens_the_step_and_its_acceptance_clock() -> None:
    s = fold([ev.received("c1", 0), ev.triaged("c1", 5), ev.offered("c1", 10, specialist="sp-4")])
    step = s.steps["s1"]
    assert (step.status, step.specialist_id, step.waiting_since) == ("offered", "sp-4", ev.at(10))
    assert s.status == "offered" and s.offers.offered == 1
    assert s.clocks["s1:acceptance"].state == "on_track"
    assert s.sla_state == "on_track"
    assert s.timeline[-1].changes["specialist_id"] == "sp-4"
    assert s.timeline[-1].actor == "routing"


def test_acceptance_assigns_measures_duration_and_moves_the_clocks() -> None:
    s = fold([ev.received("c1", 0), ev.offered("c1", 10), ev.accepted("c1", 40)])
    assert s.assignees == {"s1": "sp-1"}
    assert s.offers.acceptance_seconds == [1800.0]
    assert s.clocks["s1:acceptance"].state == "met"
    assert s.clocks["s1:turnaround"].state == "on_track"
    assert (s.timeline[-1].actor_kind, s.timeline[-1].actor) == ("specialist", "sp-1")


def test_decline_and_expiry_free_the_step_for_the_next_offer() -> None:
    s = fold([
        ev.offered("c1", 10, specialist="sp-1"), ev.declined("c1", 20, specialist="sp-1"),
        ev.offered("c1", 21, specialist="sp-2", attempt=2), ev.expired("c1", 81, specialist="sp-2"),
    ])
    assert (s.offers.offered, s.offers.declined, s.offers.expired) == (2, 1, 1)
    assert s.steps["s1"].status == "pending" and s.steps["s1"].specialist_id is None
    assert s.timeline[1].actor == "sp-1" and "reason" not in s.timeline[1].changes
    assert s.timeline[3].actor == "routing"
    s = fold([ev.offered("c1", 82, specialist="sp-3", attempt=3),
              ev.accepted("c1", 90, specialist="sp-3")], s)
    assert s.assignees == {"s1": "sp-3"} and s.offers.acceptance_seconds == [480.0]
    assert_no_patient_data(s)


def test_a_withdrawn_offer_is_not_an_expiry_and_frees_no_queue_slot() -> None:
    s = fold([ev.offered("c1", 10), ev.expired("c1", 20, reason="withdrawn")])
    assert (s.offers.expired, s.offers.withdrawn) == (0, 1)
    assert s.steps["s1"].status == "withdrawn"
    assert s.clocks["s1:acceptance"].state == "stopped"
    assert s.timeline[-1].changes["reason"] == "withdrawn"


def test_turnaround_clock_takes_the_review_deadline_sent_with_the_offer() -> None:
    s = fold([ev.offered("c1", 10, review_due=600), ev.accepted("c1", 20)])
    assert s.clocks["s1:turnaround"].deadline == ev.at(600)
    assert s.next_deadline == ev.at(600)
    s = apply_event(s, ev.sla("warning", "c1", 450, deadline=640, clock="turnaround"))
    assert s.next_deadline == ev.at(640)


def test_erasure_closes_the_case_with_ops_as_actor_and_keeps_the_audit() -> None:
    s = fold([ev.received("c1", 0, missing=("mri",)), ev.offered("c1", 10), ev.erased("c1", 30)])
    assert s.erased and s.status == "cancelled" and s.missing_records == []
    assert s.clocks["s1:acceptance"].state == "stopped"
    assert (s.timeline[-1].actor_kind, s.timeline[-1].actor) == ("ops", "ops-7")
    assert len(s.timeline) == 3
    assert_no_patient_data(s)


def test_escalation_is_listed_with_its_target() -> None:
    s = fold([ev.offered("c1", 10), ev.escalated("c1", 70)])
    assert [(e.step_id, e.escalate_to, e.reason) for e in s.escalations] == [
        ("s1", "ops", "no_eligible_specialist")]


def test_emergency_assignment_assigns_at_once() -> None:
    s = fold([ev.received("c1", 0), ev.triaged("c1", 1, urgency="emergency"),
              ev.emergency("c1", 2)])
    assert s.emergency_pathway and s.assignees == {"s1": "oncall-1"}
    assert s.status == "accepted" and s.stages.offered == s.stages.accepted == ev.at(2)
    assert "emergency_department" in s.teams


def test_released_step_waits_for_its_team() -> None:
    s = fold([ev.triaged("c1", 5), ev.released("c1", 30)])
    assert s.steps["s2"].status == "pending" and s.steps["s2"].waiting_since == ev.at(30)
    assert s.teams == ["spine_surgery", "spine_radiology"]


def test_step_completion_makes_the_report_ready_and_meets_the_clocks() -> None:
    s = fold([ev.offered("c1", 10), ev.accepted("c1", 20), ev.step_completed("c1", 300)])
    assert s.status == "report_ready" and s.report_refs == ["report-c1-s1"]
    assert {c.state for c in s.clocks.values()} == {"met"}
    assert s.timeline[-1].changes["report_ref"] == "report-c1-s1"


def test_case_completion_closes_the_case_and_stops_open_clocks() -> None:
    s = fold([ev.offered("c1", 10), ev.case_completed("c1", 20)])
    assert s.status == "completed" and not s.is_open and s.sla_state is None
    clock = s.clocks["s1:acceptance"]
    assert clock.state == "stopped" and clock.attained is None


def test_cancellation_and_routing_stop_close_the_case_as_cancelled() -> None:
    s = fold([ev.received("c1", 0), ev.offered("c1", 10), ev.cancelled("c1", 20)])
    assert s.status == "cancelled" and s.clocks["s1:acceptance"].state == "stopped"
    assert s.timeline[-1].changes == {} and s.timeline[-1].actor_kind == "referrer"
    assert_no_patient_data(s)
    stopped = fold([ev.received("c2", 0), ev.stopped("c2", 5)])
    assert stopped.status == "cancelled"
    done = fold([ev.case_completed("c3", 5), ev.stopped("c3", 6)])
    assert done.status == "completed"


def test_sla_warning_then_breach_is_listed_once_and_keeps_the_latest_lateness() -> None:
    s = fold([ev.offered("c1", 10), ev.sla("warning", "c1", 100, deadline=130)])
    assert s.sla_state == "warning" and s.clocks["s1:acceptance"].deadline == ev.at(130)
    s = fold([ev.sla("breached", "c1", 131, deadline=130),
              ev.sla("breached", "c1", 160, deadline=130)], s)
    assert s.sla_state == "breached"
    assert len(s.breaches) == 1 and s.breaches[0].late_by_seconds == 1800.0
    assert s.breaches[0].at == ev.at(131)
    assert s.timeline[-1].changes["late_by_seconds"] == 1800.0


def test_pause_and_resume_apply_in_time_order_not_arrival_order() -> None:
    s = fold([ev.offered("c1", 10), ev.sla("paused", "c1", 20, deadline=130)])
    assert s.sla_state == "paused" and s.next_deadline is None
    resumed = apply_event(s, ev.sla("resumed", "c1", 50, deadline=160))
    assert resumed.sla_state == "on_track" and resumed.next_deadline == ev.at(160)
    older_pause = apply_event(resumed, ev.sla("paused", "c1", 15, deadline=130))
    assert older_pause.sla_state == "on_track" and older_pause.next_deadline == ev.at(160)


def test_sla_met_closes_the_clock_as_attained() -> None:
    s = fold([ev.offered("c1", 10), ev.sla("met", "c1", 30, deadline=130)])
    assert s.clocks["s1:acceptance"].attained is True


def test_delivery_outcomes_keep_the_latest_per_notification_without_the_failure_text() -> None:
    s = fold([ev.failed("c1", 5, notification="n1"), ev.delivered("c1", 9, notification="n1"),
              ev.delivered("c1", 6, notification="n2")])
    assert [(d.notification_id, d.outcome) for d in s.deliveries] == [
        ("n1", "delivered"), ("n2", "delivered")]
    older = apply_event(s, ev.failed("c1", 1, notification="n2"))
    assert older.deliveries[1].outcome == "delivered"
    assert "reason" not in s.timeline[0].changes
    assert_no_patient_data(older)


def test_dead_letter_is_counted_with_the_failing_service_as_actor() -> None:
    s = apply_event(None, ev.dead_lettered("c1", 3))
    assert s.dead_letters == 1
    assert (s.timeline[0].actor, s.timeline[0].changes) == (
        "routing", {"service": "routing", "source_topic": "routing.commands.v1"})


def test_specialist_commands_enter_the_timeline_without_report_text() -> None:
    envelope = {"case_id": "c1", "occurred_at": ev.at(50), "step_id": "s1",
                "specialist_id": "sp-1"}
    offered = fold([ev.offered("c1", 40, specialist="sp-1")])
    s = fold([
        AcceptOffer(event_id="cmd-1", **envelope),
        DeclineOffer(event_id="cmd-2", **envelope, reason=ev.DECLINE_REASON),
        CompleteAssignment(event_id="cmd-3", **envelope, report_text="secret-report-text"),
    ], offered)
    assert [(e.event_type, e.actor) for e in s.timeline][1:] == [
        ("AcceptOffer", "sp-1"), ("DeclineOffer", "sp-1"), ("CompleteAssignment", "sp-1")]
    assert s.offers.accepted == 0
    assert_no_patient_data(s)


def test_commands_from_strangers_leave_no_row_and_no_line() -> None:
    # F1 on notify's side: commands are on Kafka before routing refuses them.
    envelope = {"case_id": "c1", "occurred_at": ev.at(50), "step_id": "s1",
                "specialist_id": "stranger"}
    assert apply_event(None, AcceptOffer(event_id="cmd-1", **envelope)) is None
    offered = fold([ev.offered("c1", 40, specialist="sp-1")])
    assert apply_event(offered, DeclineOffer(event_id="cmd-2", **envelope)) is offered


def test_every_growing_list_is_capped() -> None:
    s = fold([ev.offered("c1", 0, specialist="sp-1")])
    for i in range(MAX_TIMELINE + 20):
        s = fold([AcceptOffer(event_id=f"cmd-{i}", case_id="c1", occurred_at=ev.at(i + 1),
                              step_id="s1", specialist_id="sp-1")], s)
    assert len(s.timeline) == MAX_TIMELINE
    assert s.timeline[-1].event_id == f"cmd-{MAX_TIMELINE + 19}"


def test_clock_ticks_are_not_recorded() -> None:
    s = apply_event(None, ev.received("c1", 0))
    tick = ExpireOffers(event_id="tick-1", case_id="c1", occurred_at=ev.at(9))
    assert apply_event(s, tick) == s


class _FutureEvent(Event):
    event_type: Literal["SomethingNew"] = "SomethingNew"
    note: str = ev.PATIENT_NAME


def test_unknown_event_types_enter_the_timeline_only() -> None:
    s = apply_event(ev_received := apply_event(None, ev.received("c1", 0)),
                    _FutureEvent(event_id="x-1", case_id="c1", occurred_at=ev.at(3)))
    assert s.timeline[-1].event_type == "SomethingNew"
    assert (s.timeline[-1].actor_kind, s.timeline[-1].actor) == ("system", "unknown")
    assert s.timeline[-1].changes == {}
    assert s.model_dump(exclude={"timeline", "updated_at"}) == ev_received.model_dump(
        exclude={"timeline", "updated_at"})


def test_every_registered_event_type_has_a_handler_or_is_deliberately_ignored() -> None:
    from services.notify.casefile.apply import _HANDLERS

    names = {model.__name__ for model in all_event_models()}
    assert names == set(_HANDLERS) | IGNORED_EVENT_TYPES


def test_a_shortened_offer_window_shows_on_its_step_and_in_the_timeline() -> None:
    s = fold([ev.received("c1", 0), ev.triaged("c1", 5), ev.offered("c1", 10)])
    assert s.steps["s1"].offer_expires_at == ev.at(70)
    s = apply_event(s, ev.offer_shortened("c1", 20, expires=50))
    assert s.steps["s1"].offer_expires_at == ev.at(50)
    entry = s.timeline[-1]
    assert (entry.event_type, entry.actor_kind, entry.actor) == (
        "OfferExpiryChanged", "system", "routing")
    assert entry.changes == {"step_id": "s1", "team": "spine_surgery", "specialist_id": "sp-1",
                             "attempt": 1, "offer_expires_at": ev.at(50).isoformat(),
                             "urgency": "urgent"}
    # One of an earlier attempt (read late, or its offer since declined) moves nothing.
    later = fold([ev.declined("c1", 21), ev.offered("c1", 22, specialist="sp-2", attempt=2),
                  ev.offer_shortened("c1", 23, expires=30, attempt=1)], s)
    assert later.steps["s1"].offer_expires_at == ev.at(82)
    assert later.offers.offered == 2  # not another offer


def test_redelivery_changes_nothing_and_the_input_is_not_modified() -> None:
    once = fold(lifecycle())
    snapshot = once.model_dump()
    twice = fold(lifecycle(), once)
    assert twice == once and once.model_dump() == snapshot
    assert len(once.timeline) == len(lifecycle())


def every_kind_of_event() -> list[Event]:
    return [
        ev.received("c1", 0, missing=("mri",)), ev.received("c1", 1, revision=2),
        ev.triaged("c1", 5), ev.offered("c1", 10), ev.declined("c1", 11),
        ev.offered("c1", 12, specialist="sp-2", attempt=2, review_due=900),
        ev.offer_shortened("c1", 13, expires=43, specialist="sp-2", attempt=2),
        ev.sla("warning", "c1", 40, deadline=60), ev.sla("paused", "c1", 41, deadline=60),
        ev.sla("resumed", "c1", 45, deadline=64), ev.sla("breached", "c1", 65, deadline=64),
        ev.sla("breached", "c1", 70, deadline=64), ev.escalated("c1", 71),
        ev.accepted("c1", 72, specialist="sp-2"), ev.sla("met", "c1", 72, deadline=64),
        ev.released("c1", 73), ev.offered("c1", 74, step="s2", team="spine_radiology"),
        ev.expired("c1", 75, step="s2", team="spine_radiology", reason="withdrawn"),
        ev.emergency("c1", 76, step="s3"), ev.failed("c1", 77), ev.delivered("c1", 78),
        ev.step_completed("c1", 300, specialist="sp-2"), ev.dead_lettered("c1", 301),
        ev.case_completed("c1", 302), ev.stopped("c1", 303), ev.erased("c1", 304),
    ]


def test_no_event_type_modifies_the_summary_it_was_applied_to() -> None:
    summary = None
    for event in every_kind_of_event():
        before = summary.model_dump() if summary is not None else None
        updated = apply_event(summary, event)
        if summary is not None:
            assert summary.model_dump() == before, event.event_type
        summary = updated
    assert summary is not None and len(summary.timeline) == len(every_kind_of_event())
    assert_no_patient_data(summary)


def test_summary_survives_a_json_round_trip() -> None:
    once = fold([*lifecycle(), ev.delivered("c1", 11), ev.escalated("c1", 70)])
    assert CaseSummary.model_validate_json(once.model_dump_json()) == once


@settings(max_examples=60, deadline=None)
@given(st.permutations(lifecycle() + lifecycle()[:3]))
def test_arrival_order_does_not_change_stages_counts_or_timeline(order: list[Event]) -> None:
    expected, got = fold(lifecycle()), fold(order)
    assert got.stages == expected.stages and got.status == expected.status
    assert (got.offers.offered, got.offers.accepted) == (1, 1)
    assert [e.event_id for e in got.timeline] == [e.event_id for e in expected.timeline]
    assert got.breaches == expected.breaches


def test_naive_timestamps_are_rejected_by_the_contract() -> None:
    with pytest.raises(ValueError):
        ExpireOffers(event_id="t", case_id="c1", occurred_at=ev.at(0).replace(tzinfo=None))
