"""An escalation chain holds while its clock is paused (the referrer owes records): the clock
consumes no budget then, yet the chain went on telling the team lead and then ops, every
repeat, about a warning whose clock was not running. On resume the steps still to come keep
their spacing, each due later by the time spent paused."""

from __future__ import annotations

import json
from datetime import timedelta

from services.notify.domain.policy import EscalationPolicy, NotifyPolicy
from tests.unit.notify.notify_builders import POLICY, T0, CaseFlow, Harness


def at(minutes: float):
    return T0 + timedelta(minutes=minutes)


def paused_after_a_warning() -> tuple[Harness, CaseFlow]:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.received(at(0)))
    h.apply(flow.offered(at(0)))  # urgent: 2 h to accept; lead at +30 min, ops at +60 min
    h.apply(flow.tick(at(90)))  # 0.75 warning: the chain starts, the assignee is told
    assert h.notifications[-1] == ("specialist", "spec-1", "sla_warning")
    h.apply(flow.received(at(95), missing=("mri_report",), revision=2))
    return h, flow


def test_nobody_more_is_told_while_the_clock_is_paused() -> None:
    h, flow = paused_after_a_warning()
    told = len(h.notifications)
    for minute in (125, 155, 300, 600):
        h.apply(flow.tick(at(minute)))
    assert h.notifications[told:] == []
    assert h.state is not None and h.state.next_due_at is None  # nothing for the timer either


def test_the_chain_goes_on_once_the_records_arrive() -> None:
    h, flow = paused_after_a_warning()
    told = len(h.notifications)
    out = h.apply(flow.received(at(600), revision=3))  # records in: the clock runs again
    assert out.state.next_due_at == at(613)  # the 0.9 warning: 13 of its minutes were left
    # The lead's step, due 30 minutes after the warning, had 25 to go when the clock paused.
    for minute in range(600, 625):
        h.apply(flow.tick(at(minute)))
    assert [n for n in h.notifications[told:] if n[0] in ("team_lead", "ops")] == []
    h.apply(flow.tick(at(625)))
    assert ("team_lead", "lead-1", "sla_breached") in h.notifications[told:]


# A pause stops the chain's clock as it stops the SLA clock: on resume the steps still to come
# keep their spacing, each due later by the time spent paused. (Every step whose time passed
# during the pause went out together on resume.) Lead and ops at +20 and +40 minutes here, so
# no step falls due with the clock's own alarms.
# A clock as the previous release's model knows it (it refuses any other field: a rolling
# deploy must not hand it a row it cannot read).
PREVIOUS_RELEASE_CLOCK = {
    "kind", "step_id", "team", "urgency", "target_seconds", "calendar", "started_at",
    "consumed_seconds", "running_since", "status", "fired", "breached", "ended_at", "fixed"}
SPACED = NotifyPolicy(escalation={**POLICY.escalation, "urgent": EscalationPolicy(
    delays_seconds=(0, 1200, 2400), repeat_every_seconds=3600, max_repeats=2)})


def escalation_steps(pauses: list[tuple[int, int]], until: int) -> list[tuple[int, str, int]]:
    """(minute sent, audience, step) of an urgent offer's chain (warning at 90: lead at 110,
    ops at 130, repeats at 190 and 250 unpaused), ticked every minute, with records owed over
    each (pause, resume) span; checks each message is dated the minute it was sent."""
    h, flow = Harness(policy=SPACED), CaseFlow()
    h.apply(flow.received(at(0)))
    h.apply(flow.offered(at(0)))
    changes = {m: ("mri_report",) for m, _ in pauses} | {m: () for _, m in pauses}
    revision, sent = 1, []
    for minute in range(until):
        if minute in changes:
            revision += 1
            out = h.apply(flow.received(at(minute), missing=changes[minute], revision=revision))
            for clock in json.loads(out.state.to_json())["clocks"].values():
                assert set(clock) <= PREVIOUS_RELEASE_CLOCK  # its workers read the row too
        for note in h.apply(flow.tick(at(minute))).notifications:
            if "escalation_step" in note.data:
                assert note.created_at == at(minute)
                sent.append((minute, note.audience, note.data["escalation_step"]))
    return sent


def test_unpaused_the_chain_keeps_its_schedule() -> None:
    assert escalation_steps([], 300) == [
        (90, "specialist", 0), (110, "team_lead", 1), (130, "ops", 2), (190, "ops", 3),
        (250, "ops", 4)]


def test_a_pause_across_one_step_moves_it_and_the_rest_by_the_pause() -> None:
    assert escalation_steps([(100, 120)], 300) == [
        (90, "specialist", 0), (130, "team_lead", 1), (150, "ops", 2), (210, "ops", 3),
        (270, "ops", 4)]


def test_a_pause_across_two_steps_keeps_their_spacing() -> None:
    assert escalation_steps([(100, 140)], 300) == [
        (90, "specialist", 0), (150, "team_lead", 1), (170, "ops", 2), (230, "ops", 3),
        (290, "ops", 4)]


def test_each_pause_adds_its_own_length() -> None:
    # 15 minutes before the lead's step, then 10 more before ops'.
    assert escalation_steps([(100, 115), (135, 145)], 300) == [
        (90, "specialist", 0), (125, "team_lead", 1), (155, "ops", 2), (215, "ops", 3),
        (275, "ops", 4)]


def test_a_resume_after_the_breach_moves_what_is_left_of_the_chain() -> None:
    # Breached at 120 (the assignee and the lead hear of it), paused at 125 with ops due at 130.
    sent = escalation_steps([(125, 185)], 320)
    assert sent == [(90, "specialist", 0), (110, "team_lead", 1), (190, "ops", 2),
                    (250, "ops", 3), (310, "ops", 4)]
