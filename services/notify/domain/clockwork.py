"""Clock and chain transitions on a case: start, meet, pause, stop, tick, acknowledge."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from schemas.envelope import derive_id
from schemas.notifications import Audience
from schemas.sla import ClockKind, SlaBreached, SlaEvent
from schemas.triage import URGENCY_ORDER, Urgency
from services.notify.domain import escalation, sla
from services.notify.domain.policy import NotifyPolicy
from services.notify.domain.state import CaseState, Contacts, Outcome


def start_clock(
    out: Outcome, *, kind: ClockKind, step_id: str, team: str, urgency: Urgency,
    policy: NotifyPolicy, now: datetime, due_at: datetime | None = None,
) -> None:
    """Start a step's clock unless it already runs; it starts paused while records are owed.

    `due_at` is the step's review deadline from routing (the shared SLA policy): the turnaround
    clock then ends exactly there.
    """
    key = sla.clock_key(step_id, kind)
    existing = out.state.clocks.get(key)
    if existing is not None:
        # A re-offer keeps counting against the same budget, held to the stricter urgency if
        # routing re-offers at one (a re-triage): a routine clock kept its 24 h for an urgent
        # step. The emergency's page brings its own clock (handlers._emergency).
        if URGENCY_ORDER.index(urgency) > URGENCY_ORDER.index(existing.urgency) and (
                urgency != "emergency"):
            out.state.clocks[key] = sla.tighten(
                existing, urgency=urgency, target_seconds=policy.target_seconds(
                    urgency, kind, team), calendar=policy.calendar_for(team, urgency), now=now)
            chain = out.state.chains.get(key)
            if chain is not None and chain.status == "active":
                # its schedule follows the clock's urgency (escalation delays per urgency)
                out.state.chains[key] = chain.model_copy(update={"urgency": urgency})
        return
    if out.state.closed:
        # Cancelled (another topic: read before an offer routing made just before it saw the
        # cancel), completed, stopped or erased: nothing more to count, warn or escalate.
        return
    out.state.clocks[key] = sla.start_clock(
        kind=kind, step_id=step_id, team=team, urgency=urgency,
        target_seconds=policy.target_seconds(urgency, kind, team),
        calendar=policy.calendar_for(team, urgency), now=now, paused=bool(out.state.waiting_for),
        due_at=due_at,
    )


def meet_clock(
    out: Outcome, *, step_id: str, kind: ClockKind, cause_id: str, now: datetime
) -> None:
    """The step did what its clock waited for: SlaMet, and its escalation chain is resolved."""
    key = sla.clock_key(step_id, kind)
    clock = out.state.clocks.get(key)
    if clock is not None:
        out.state.clocks[key], events = sla.meet(clock, case_id=out.state.case_id,
                                                 cause_id=cause_id, now=now)
        out.events.extend(events)
    chain = out.state.chains.get(key)
    if chain is not None:
        out.state.chains[key] = escalation.close(chain, status="resolved", by=f"{kind}_met")


def pause_all(out: Outcome, *, cause_id: str, reason: str, now: datetime) -> None:
    """Stop consuming budget while the referrer owes records."""
    for key, clock in list(out.state.clocks.items()):
        out.state.clocks[key], events = sla.pause(
            clock, case_id=out.state.case_id, cause_id=cause_id, reason=reason, now=now
        )
        out.events.extend(events)


def resume_all(out: Outcome, *, cause_id: str, now: datetime) -> None:
    """The records arrived: every paused clock counts again from `now`, and its chain's steps
    still to come move out by the time it spent paused."""
    for key, clock in list(out.state.clocks.items()):
        resumed, events = sla.resume(clock, case_id=out.state.case_id, cause_id=cause_id,
                                     now=now)
        out.state.clocks[key] = resumed
        out.events.extend(events)
        chain = out.state.chains.get(key)
        if chain is not None:
            out.state.chains[key] = escalation.hold(chain, sla.paused_seconds(clock, resumed))


def stop_all(out: Outcome, *, by: str, now: datetime) -> None:
    """Cancelled, withdrawn or completed: nothing more counts or escalates."""
    for key, clock in list(out.state.clocks.items()):
        out.state.clocks[key] = sla.stop(clock, now=now)
    for key, chain in list(out.state.chains.items()):
        out.state.chains[key] = escalation.close(chain, status="resolved", by=by)


def acknowledge(
    out: Outcome, *, step_id: str | None, by: str, holder: str | None = None
) -> int:
    """Stop the case's active chains (or one step's); returns how many were stopped.

    With `holder`, only chains of steps that specialist holds now stop: one specialist must
    never silence the chain that pages ops and a lead about another's step.
    """
    stopped = 0
    for key, chain in list(out.state.chains.items()):
        if chain.status != "active" or step_id not in (None, chain.step_id):
            continue
        step = out.state.steps.get(chain.step_id)
        if holder is not None and (step is None or step.specialist_id != holder):
            continue
        out.state.chains[key] = escalation.close(chain, status="acknowledged", by=by)
        stopped += 1
    return stopped


def tick(out: Outcome, *, policy: NotifyPolicy, contacts: Contacts, now: datetime) -> None:
    """Raise the warnings and breaches due by `now`, start or sharpen chains, send due steps.

    Each is dated when it fell due, and all are taken in that order (an alarm before a step due
    at the same instant, which then quotes it): a later tick on the same row raises the same
    alarms and steps, with the same sequence numbers, before anything that fell due since,
    so a message raised again after its row was lost is the same bytes under the same key.
    """
    alarms: list[SlaEvent] = []
    for key, clock in list(out.state.clocks.items()):
        out.state.clocks[key], events = sla.evaluate(
            clock, case_id=out.state.case_id, fractions=policy.warn_fractions, now=now
        )
        alarms += events
    alarms.sort(key=lambda alarm: alarm.occurred_at)  # stable: clock order breaks ties
    while True:
        step = _next_step(out.state, policy, now)
        if alarms and (step is None or alarms[0].occurred_at <= step[0]):
            alarm = alarms.pop(0)
            out.events.append(alarm)
            _on_alarm(out, alarm, contacts=contacts)
        elif step is not None:
            at, key = step
            chain = out.state.chains[key]
            out.state.chains[key], issued = escalation.take_step(
                chain, policy.escalation[chain.urgency], now)
            if issued is not None:
                cause = derive_id(chain.origin_event_id, "escalation-step", issued.index)
                _escalate(out, out.state.chains[key], issued.audience, cause, contacts, at,
                          {"escalation_step": issued.index})
        else:
            return


def _next_step(
    state: CaseState, policy: NotifyPolicy, now: datetime
) -> tuple[datetime, str] | None:
    """The earliest escalation step due by `now` among the chains that may go on, and its chain."""
    found: tuple[datetime, str] | None = None
    for key, chain in state.chains.items():
        if _held(state, key):
            continue
        due = escalation.next_due(chain, policy.escalation[chain.urgency])
        if due is not None and due <= now and (found is None or due < found[0]):
            found = (due, key)
    return found


def _on_alarm(out: Outcome, event: SlaEvent, *, contacts: Contacts) -> None:
    trigger: escalation.Trigger = (
        "sla_breached" if isinstance(event, SlaBreached) else "sla_warning"
    )
    key = sla.clock_key(event.step_id, event.clock)
    chain = out.state.chains.get(key)
    if chain is None:
        out.state.chains[key] = escalation.start_chain(
            step_id=event.step_id, clock=event.clock, urgency=event.urgency, trigger=trigger,
            event_id=event.event_id, now=event.occurred_at,
        )
        return  # its first step (the assignee, delay 0) is taken next, at the same instant
    out.state.chains[key], reached = escalation.retrigger(
        chain, trigger=trigger, event_id=event.event_id
    )
    for audience in reached:
        _escalate(out, out.state.chains[key], audience, event.event_id, contacts,
                  event.occurred_at, {})


def _escalate(
    out: Outcome, chain: escalation.Chain, audience: Audience, cause_id: str,
    contacts: Contacts, at: datetime, extra: dict[str, Any],
) -> None:
    """One alarm or step message per recipient, dated `at` (when it fell due), the clock's
    deadline and elapsed fraction taken there: the same bytes whenever it is raised."""
    state = out.state
    step = state.steps.get(chain.step_id)
    clock = state.clocks.get(sla.clock_key(chain.step_id, chain.clock))
    assignee = step.specialist_id if step else None
    team = step.team if step else (clock.team if clock else "")
    data: dict[str, Any] = {
        "step_id": chain.step_id, "team": team, "clock": chain.clock, "urgency": chain.urgency,
        "trigger_event_id": chain.trigger_event_id, **extra,
    }
    if clock is not None:
        data["deadline"] = sla.deadline(clock, at).isoformat()
        data["elapsed_fraction"] = round(sla.elapsed_seconds(clock, at) / clock.target_seconds, 3)
    recipients: list[str | None]
    if audience == "specialist":
        recipients = [assignee]
    elif audience == "team_lead":
        recipients = [contacts.team_lead_for(assignee, team)]
    else:
        recipients = list(contacts.ops_ids()) or [None]
    for subscriber in recipients:
        out.notify(audience=audience, subscriber_id=subscriber, kind=chain.trigger,
                   cause_event_id=cause_id, now=at, data=data)


def refresh_next_due(state: CaseState, policy: NotifyPolicy, now: datetime) -> None:
    """Record the earliest instant anything on this case falls due, for the timer's index."""
    candidates = [sla.next_due(c, policy.warn_fractions, now) for c in state.clocks.values()]
    candidates += [
        escalation.next_due(ch, policy.escalation[ch.urgency])
        for key, ch in state.chains.items() if not _held(state, key)
    ]
    due = [c for c in candidates if c is not None]
    state.next_due_at = min(due) if due else None


def _held(state: CaseState, key: str) -> bool:
    """A chain waits while its clock is paused: the referrer owes records, the clock consumes
    no budget, so nobody is chased about it (on resume its steps move out by the pause)."""
    clock = state.clocks.get(key)
    return clock is not None and clock.status == "paused"
