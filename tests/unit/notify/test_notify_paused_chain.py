"""An escalation chain holds while its clock is paused (the referrer owes records): the clock
consumes no budget then, yet the chain went on telling the team lead and then ops, every
repeat, about a warning whose clock was not running. On resume the steps still to come keep
their spacing, each due later by the time spent paused."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

from services.notify.domain import sla
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


# Review 22, N1: the previous release neither sets nor clears `ended_at` on pause or resume, so
# a pause instant written by this release can outlive a resume and a pause of the previous one
# (a rolling deploy, a rollback then roll-forward). Held from that stale instant, the chain
# moved out by the hours its clock had since been running.
def _as_previous_release(h: Harness, change: Callable[[sla.Clock], sla.Clock]) -> None:
    """Rewrite every clock of the row as the previous release's pause or resume does."""
    assert h.state is not None
    h.state = h.state.model_copy(update={"clocks": {
        key: change(clock) for key, clock in h.state.clocks.items()}})


def test_a_pause_instant_left_by_a_previous_release_moves_the_chain_by_no_more_than_the_pauses(
) -> None:
    h, flow = Harness(policy=SPACED), CaseFlow()
    h.apply(flow.received(at(0)))
    h.apply(flow.offered(at(0)))
    h.apply(flow.tick(at(90)))  # the 0.75 warning starts the chain at 90
    h.apply(flow.received(at(100), missing=("mri_report",), revision=2))  # this release pauses
    assert h.state is not None
    (key,) = h.state.chains
    before = h.state.chains[key].started_at
    # The previous release resumes at 110 (f15936a's sla.resume: ended_at left as it was)...
    _as_previous_release(h, lambda c: c.model_copy(update={
        "running_since": max(at(110), c.started_at), "status": "running"}))
    # ... the clock runs 4 h 40 min, and the previous release pauses it again (ended_at kept).
    _as_previous_release(h, lambda c: c.model_copy(update={
        "consumed_seconds": sla.elapsed_seconds(c, at(390)), "running_since": None,
        "status": "paused"}))
    out = h.apply(flow.received(at(400), revision=3))  # this release resumes
    moved = out.state.chains[key].started_at - before
    assert moved <= timedelta(minutes=20)  # paused 10 min, then 10 more; not 5 h
    assert moved == timedelta(minutes=20)  # and the pauses it did not hold are held now


def test_paused_seconds_never_exceeds_the_time_the_clock_was_not_running() -> None:
    clock = sla.start_clock(kind="acceptance", step_id="s1", team="t", urgency="urgent",
                            target_seconds=7200, calendar=None, now=at(0))
    paused, _ = sla.pause(clock, case_id="c", cause_id="p1", reason="r", now=at(30))
    # ended_at says 30, yet the row has since consumed 100 min (a previous release ran it).
    stale = paused.model_copy(update={"consumed_seconds": 100 * 60})
    resumed, _ = sla.resume(stale, case_id="c", cause_id="r1", now=at(110))
    assert sla.paused_seconds(stale, resumed) == 10 * 60  # 110 min since start, 100 running
    fresh, _ = sla.resume(paused, case_id="c", cause_id="r1", now=at(110))
    assert sla.paused_seconds(paused, fresh) == 80 * 60  # this release's own pause: unchanged
