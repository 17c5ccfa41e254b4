"""A case through notify's domain: clocks, escalation, the referrer's loop, idempotency."""

from __future__ import annotations

from datetime import timedelta

from schemas.notifications import NotificationDelivered, NotificationFailed
from schemas.reports import ReportAddendum
from schemas.routing import (
    OfferExpired,
    OfferExpiryChanged,
    OfferSummary,
    PlanExtended,
    ReportAmended,
)
from schemas.sla import SlaBreached, SlaMet, SlaPaused, SlaResumed, SlaWarningRaised
from services.notify.domain import sla
from tests.unit.notify.notify_builders import T0, CaseFlow, FakeContacts, Harness


def at(minutes: float):
    return T0 + timedelta(minutes=minutes)


def sla_kinds(h: Harness) -> list[str]:
    return [type(e).__name__ for e in h.events]


def test_offer_starts_the_acceptance_clock_and_pages_the_specialist() -> None:
    h, flow = Harness(), CaseFlow()
    out = h.apply(flow.offered(at(0)))
    assert list(out.state.clocks) == ["s1:acceptance"]
    assert h.notifications == [("specialist", "spec-1", "assignment_offered")]
    assert out.state.next_due_at == at(90)  # urgent: 2 h to accept, first warning at 75 %


def test_warning_breach_and_escalation_in_order() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.offered(at(0)))
    for minute in (30, 90, 95, 108, 120, 130, 150, 151):
        h.apply(flow.tick(at(minute)))
    assert sla_kinds(h) == ["SlaWarningRaised", "SlaWarningRaised", "SlaBreached"]
    assert h.notifications[1:] == [
        ("specialist", "spec-1", "sla_warning"),  # 90: chain starts with the assignee
        ("specialist", "spec-1", "sla_warning"),  # 108: the 90 % warning reaches who was told
        ("specialist", "spec-1", "sla_breached"),  # 120: breach, to everyone told so far
        ("team_lead", "lead-1", "sla_breached"),  # 120: lead's delay (30 min) has passed
        ("ops", "ops-1", "sla_breached"),  # 150: ops after 60 min
    ]


def test_acknowledgement_stops_the_chain_but_not_the_clock() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.offered(at(0)))
    h.apply(flow.tick(at(90)))
    h.apply(flow.ack(at(95), by="ops-1"))
    for minute in (120, 150, 300, 600):
        h.apply(flow.tick(at(minute)))
    assert sla_kinds(h) == ["SlaWarningRaised", "SlaBreached"]
    assert [n for n in h.notifications if n[0] in ("team_lead", "ops")] == []


def test_accepting_meets_the_clock_resolves_the_chain_and_starts_turnaround() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.received(at(0)))
    h.apply(flow.offered(at(0)))
    h.apply(flow.tick(at(90)))
    out = h.apply(flow.accepted(at(100)))
    assert [type(e) for e in out.events] == [SlaMet]
    assert out.state.chains["s1:acceptance"].status == "resolved"
    assert out.state.clocks["s1:turnaround"].status == "running"
    # No deadline on the event (older messages): the shared policy's urgent turnaround, 72 h.
    assert out.state.next_due_at == at(100 + 72 * 60 * 0.75)
    h.apply(flow.tick(at(200)))
    assert h.outcomes[-1].notifications == []


def test_turnaround_runs_to_routings_deadline_and_never_pauses() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.offered(at(0)))
    accepted = flow.accepted(at(100)).model_copy(update={"deadline": at(100 + 600)})
    out = h.apply(accepted)
    clock = out.state.clocks["s1:turnaround"]
    assert sla.deadline(clock, at(100)) == at(700)
    out = h.apply(flow.received(at(200), missing=("mri",)))  # records owed after acceptance
    assert out.state.clocks["s1:turnaround"].status == "running"
    assert out.state.clocks["s1:acceptance"].status == "met"
    assert sla.deadline(out.state.clocks["s1:turnaround"], at(900)) == at(700)


def test_clocks_pause_while_records_are_missing() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.received(at(0)))
    h.apply(flow.offered(at(0)))
    out = h.apply(flow.received(at(30), missing=("mri_report",), revision=2))
    assert [type(e) for e in out.events] == [SlaPaused]
    assert out.notifications[0].data["missing_records"] == ["mri_report"]
    assert h.apply(flow.tick(at(600))).events == []
    out = h.apply(flow.received(at(600), revision=3))
    assert [type(e) for e in out.events] == [SlaResumed]
    assert out.state.next_due_at == at(600 + 60)  # 30 of the 90 minutes to the warning are spent


def test_clock_started_while_waiting_starts_paused() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.received(at(0), missing=("xray",)))
    out = h.apply(flow.offered(at(1)))
    assert out.state.clocks["s1:acceptance"].status == "paused"
    assert out.state.next_due_at is None


def test_an_older_revision_arriving_late_changes_nothing() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.received(at(0), revision=2))
    out = h.apply(flow.received(at(1), missing=("mri",), revision=1))
    assert out.state.waiting_for == [] and out.notifications == []


def test_redelivered_event_changes_nothing() -> None:
    h, flow = Harness(), CaseFlow()
    offer = flow.offered(at(0))
    h.apply(offer)
    again = h.apply(offer)
    assert again.notifications == [] and again.events == []
    assert len(again.state.outbox) == 1


def test_referrer_hears_every_stage_in_order() -> None:
    h, flow = Harness(), CaseFlow()
    for event in (flow.received(at(0)), flow.triaged(at(1)), flow.offered(at(2)),
                  flow.accepted(at(3)), flow.step_completed(at(4)), flow.case_completed(at(5))):
        h.apply(event)
    referrer = [kind for audience, _, kind in h.notifications if audience == "referrer"]
    assert referrer == ["status_received", "status_triaged", "status_assigned",
                        "status_report_ready", "status_completed"]
    seqs = [n.seq for n in h.state.outbox]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    report = next(n for n in h.state.outbox if n.kind == "status_report_ready")
    assert report.data["report_ref"] == "report-1"


def test_unknown_referrer_is_skipped_with_a_reason() -> None:
    h, flow = Harness(contacts=FakeContacts(referrers=set())), CaseFlow()
    out = h.apply(flow.received(at(0)))
    assert out.notifications == [] and out.skipped == ["status_received: referrer not subscribed"]


def test_cancellation_stops_clocks_and_tells_the_referrer() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.received(at(0)))
    h.apply(flow.offered(at(0)))
    out = h.apply(flow.cancelled(at(10)))
    assert out.state.clocks["s1:acceptance"].status == "stopped"
    assert h.notifications[-1] == ("referrer", "ref-1", "status_cancelled")
    assert h.apply(flow.tick(at(500))).events == []


def test_emergency_pages_on_call_and_sends_the_patient_to_emergency_care() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.received(at(0)))
    out = h.apply(flow.emergency(at(1)))
    assert [(n.audience, n.kind) for n in out.notifications] == [
        ("specialist", "emergency_page"), ("referrer", "status_emergency")
    ]
    assert "emergency care" in out.notifications[1].data["instruction"]
    assert out.state.next_due_at == at(1 + 15 * 0.75)
    acked = h.apply(flow.ack(at(5), by="oncall-1", role="specialist"))
    assert [type(e) for e in acked.events] == [SlaMet]
    assert acked.state.clocks["e1:turnaround"].status == "running"


def test_case_escalated_goes_to_the_lead_or_falls_through_to_ops() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.offered(at(0)))
    h.apply(flow.escalated(at(1), to="team_lead"))
    assert h.notifications[-1] == ("team_lead", "lead-1", "case_escalated")
    lonely = Harness(contacts=FakeContacts(leads={}, team_leads={}))
    lonely.apply(flow.escalated(at(1), to="team_lead"))
    assert lonely.notifications == [("ops", "ops-1", "case_escalated")]


def test_delivery_outcomes_settle_the_outbox() -> None:
    h, flow = Harness(), CaseFlow()
    note = h.apply(flow.offered(at(0))).notifications[0]
    common = {"case_id": note.case_id, "occurred_at": at(1),
              "notification_id": note.notification_id, "audience": note.audience,
              "subscriber_id": note.subscriber_id, "kind": note.kind}
    retry = NotificationFailed(event_id="f1", attempts=3, reason="HTTP 500", final=False, **common)
    assert h.apply(retry).state.outbox[0].attempts == 3
    done = NotificationDelivered(event_id="d1", attempts=4, status_code=200, latency_ms=3, **common)
    assert h.apply(done).state.outbox == []


def test_warning_event_ids_survive_a_replay() -> None:
    first, second = Harness(), Harness()
    for h in (first, second):
        flow = CaseFlow()
        h.apply(flow.offered(at(0)))
        h.apply(flow.tick(at(91 if h is first else 99)))
    assert [e.event_id for e in first.events] == [e.event_id for e in second.events]
    assert isinstance(first.events[0], SlaWarningRaised)
    assert not any(isinstance(e, SlaBreached) for e in first.events)


def test_applying_an_event_never_changes_the_state_it_was_given() -> None:
    h, flow = Harness(), CaseFlow()
    events = [flow.received(at(0), missing=("mri",)), flow.received(at(1), revision=2),
              flow.triaged(at(2)), flow.offered(at(3)), flow.tick(at(95)), flow.tick(at(125)),
              flow.declined(at(126)), flow.offered(at(127), specialist="spec-2"),
              flow.accepted(at(130), specialist="spec-2"), flow.ack(at(131)),
              flow.step_completed(at(200), specialist="spec-2"), flow.case_completed(at(201))]
    for event in events:
        before = h.state.model_dump_json() if h.state is not None else None
        given = h.state
        out = h.apply(event)
        if given is not None:
            assert given.model_dump_json() == before, type(event).__name__
            assert out.state is given or out.state.steps is not given.steps


def test_an_event_that_changes_nothing_returns_the_same_state_object() -> None:
    h, flow = Harness(), CaseFlow()
    offer = flow.offered(at(0))
    first = h.apply(offer).state
    assert h.apply(offer).state is first  # redelivered
    warning = SlaWarningRaised(event_id="w", case_id="case-1", occurred_at=at(90),
                               clock="acceptance", step_id="s1", urgency="urgent",
                               deadline=at(120), elapsed_fraction=0.75)
    assert h.apply(warning).state is first  # our own SLA event read back


def test_offer_webhook_carries_a_summary_the_missing_records_and_the_case_link() -> None:
    h, flow = Harness(), CaseFlow()
    summary = OfferSummary(region="lumbar", likely_causes=["facet_joint_pain"],
                           fired_rules=["RF6_infection_suspected_non_septic"],
                           question="Which pain management do you recommend?",
                           missing_records=["operative_note"],
                           case_view="http://routing/cases/case-1/review")
    offered = flow.offered(at(0)).model_copy(update={"summary": summary, "deadline": at(600)})
    note = h.apply(offered).notifications[0]
    assert note.data["missing_records"] == ["operative_note"]
    assert note.data["case_view"] == "http://routing/cases/case-1/review"
    assert note.data["summary"]["likely_causes"] == ["facet_joint_pain"]
    assert note.data["deadline"] == at(600).isoformat()


def test_the_holder_of_an_expired_or_withdrawn_offer_is_told() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.offered(at(0)))
    base = {"case_id": "case-1", "step_id": "s1", "team": "spine_surgery",
            "specialist_id": "spec-1"}
    h.apply(OfferExpired(event_id="exp-1", occurred_at=at(60), **base))  # type: ignore[arg-type]
    h.apply(flow.offered(at(61), specialist="spec-2"))
    h.apply(OfferExpired(event_id="exp-2", occurred_at=at(70), reason="withdrawn",
                         **{**base, "specialist_id": "spec-2"}))  # type: ignore[arg-type]
    told = [n for n in h.notifications if n[2].startswith("offer_")]
    assert told == [("specialist", "spec-1", "offer_expired"),
                    ("specialist", "spec-2", "offer_withdrawn")]


def test_the_holder_of_a_shortened_offer_is_told_its_new_expiry_once() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.offered(at(0), urgency="soon"))
    shortened = OfferExpiryChanged(
        event_id="short-1", case_id="case-1", occurred_at=at(30), step_id="s1",
        team="spine_surgery", specialist_id="spec-1", urgency="urgent",
        offer_expires_at=at(60), attempt=1)
    note = h.apply(shortened).notifications[0]
    assert (note.audience, note.subscriber_id, note.kind) == (
        "specialist", "spec-1", "offer_expiry_changed")
    assert note.data == {"step_id": "s1", "team": "spine_surgery", "urgency": "urgent",
                         "offer_expires_at": at(60).isoformat(), "attempt": 1}
    assert note.created_at == at(30)
    assert h.apply(shortened).notifications == []  # redelivered: nothing queued again


def test_the_referrer_hears_of_added_teams_and_amended_reports() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.received(at(0)))
    step = {"case_id": "case-1", "step_id": "spine_radiology", "team": "spine_radiology"}
    h.apply(PlanExtended(event_id="ext-1", occurred_at=at(10), requested_by="spec-1",
                         requested_from_step="s1", reason="Quokka says scar", deadline=at(600),
                         **step))  # type: ignore[arg-type]
    addendum = ReportAddendum(version=2, text="Quokka text", specialist_id="spec-1",
                              added_at=at(20))
    h.apply(ReportAmended(event_id="amd-1", occurred_at=at(20), specialist_id="spec-1",
                          report_ref="/cases/case-1/reports/spine_radiology", addendum=addendum,
                          **step))  # type: ignore[arg-type]
    notes = [n for o in h.outcomes for n in o.notifications if n.audience == "referrer"]
    assert [n.kind for n in notes][-2:] == ["status_plan_extended", "status_report_amended"]
    assert notes[-2].data["report_due"] == at(600).isoformat()
    assert notes[-1].data["version"] == 2
    assert "Quokka" not in str([n.data for n in notes])  # free text stays off webhooks


def test_every_status_webhook_to_the_referrer_names_the_cases_fhir_task() -> None:
    """Issue 11 item 6: a referral system following status in FHIR reads the Task the webhook
    names (relative to intake's FHIR base) instead of mapping our status kinds itself."""
    h, flow = Harness(), CaseFlow(case_id="case-77")
    for event in (flow.received(T0), flow.triaged(T0), flow.offered(T0),
                  flow.accepted(T0 + timedelta(minutes=5)),
                  flow.step_completed(T0 + timedelta(hours=1)),
                  flow.case_completed(T0 + timedelta(hours=1))):
        h.apply(event)
    told = [n for o in h.outcomes for n in o.notifications if n.audience == "referrer"]
    assert {n.kind for n in told} >= {"status_received", "status_triaged", "status_assigned",
                                      "status_report_ready"}
    assert all(n.data["fhir_task"] == {"reference": "Task/case-77"} for n in told)
    others = [n for o in h.outcomes for n in o.notifications if n.audience != "referrer"]
    assert others and not any("fhir_task" in n.data for n in others)
