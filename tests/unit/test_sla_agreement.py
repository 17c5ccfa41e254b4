"""One deadline: for every urgency and team, routing's offer, `/me/offers`, notify's turnaround
clock, the referrer's status and the ops dashboard card all show the instant the shared SLA
policy gives (schemas.sla_policy)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from schemas.directory import ROLE_TEAMS
from schemas.routing import AssignmentAccepted, AssignmentOffered, ReviewDeadlineChanged
from schemas.sla_policy import DEFAULT_SLA_POLICY, SlaPolicy, Targets
from schemas.triage import URGENCY_ORDER, Team, Urgency
from services.notify import casefile
from services.notify.domain import sla
from services.notify.domain.handlers import apply_event as notify_apply
from services.notify.domain.policy import NotifyPolicy
from services.routing.api.specialists.service import assignments_for, offers_for
from services.routing.domain.plans import NOT_ROUTED
from services.routing.domain.policy import RoutingPolicy
from tests.unit.notify.notify_builders import FakeContacts
from tests.unit.routing.builders import NOW, Routing, accept, context, specialist, triaged

ROLE_OF: dict[str, str] = {}
for role, teams in ROLE_TEAMS.items():
    for team in teams:
        ROLE_OF.setdefault(team, role)
TEAMS: list[Team] = [t for t in ROLE_OF if t not in NOT_ROUTED]  # type: ignore[misc]


class _Gateway:
    """What the specialists' service functions read: the routing state and the load book."""

    def __init__(self, routing: Routing) -> None:
        self.routing = routing
        self.loads = routing.loads

    def case_state(self, case_id: str):  # type: ignore[no-untyped-def]
        return self.routing.states.get(case_id)

    def now(self) -> datetime:  # the service's clock: offers are shown as open at this time
        return NOW


def _walk(policy: SlaPolicy, urgency: Urgency, team: Team) -> dict[str, object]:
    """Route one single-team case to acceptance; return every place that shows the deadline."""
    routing = Routing(specialist("sp-1", ROLE_OF[team]), policy=RoutingPolicy(sla=policy))
    routing.send(triaged(urgency=urgency, teams=[team]))
    offered = next(e for e in routing.sent if isinstance(e, AssignmentOffered))
    gateway = _Gateway(routing)
    me_offers = offers_for(gateway=gateway, specialist_id="sp-1")  # type: ignore[arg-type]
    accepted_at = NOW + timedelta(minutes=5)
    routing.send(accept("case-1", team, "sp-1", at=accepted_at))
    accepted = next(e for e in routing.sent if isinstance(e, AssignmentAccepted))
    me_assignments = assignments_for(gateway=gateway, specialist_id="sp-1")  # type: ignore[arg-type]

    notify_policy = NotifyPolicy(sla=policy)
    state = None
    summary = None
    for event in (offered, accepted):
        out = notify_apply(state, event, policy=notify_policy, contacts=FakeContacts(),
                           now=event.occurred_at)
        state = out.state
        summary = casefile.apply_event(summary, event)
    assert state is not None and summary is not None
    clock = state.clocks[f"{team}:turnaround"]
    card = casefile.aggregate([summary], accepted_at).columns["on_track"][0]
    status = casefile.referrer_status(summary)
    return {
        "offer event": offered.deadline,
        "/me/offers": me_offers[0].deadline,
        "accepted event": accepted.deadline,
        "/me/assignments": me_assignments[0].deadline,
        "notify turnaround clock": sla.deadline(clock, accepted_at + timedelta(hours=1)),
        "dashboard card": card.deadline,
        "referrer status": status.team_states[0].report_due,
    }


@pytest.mark.parametrize("urgency", URGENCY_ORDER)
@pytest.mark.parametrize("team", TEAMS)
def test_every_reader_shows_the_policys_deadline(urgency: Urgency, team: Team) -> None:
    expected = DEFAULT_SLA_POLICY.review_due(urgency=urgency, team=team, triaged_at=NOW)
    seen = _walk(DEFAULT_SLA_POLICY, urgency, team)
    assert seen == dict.fromkeys(seen, expected)


def test_a_changed_policy_moves_every_reader_together() -> None:
    quick = DEFAULT_SLA_POLICY.model_copy(update={"urgencies": {
        **DEFAULT_SLA_POLICY.urgencies,
        "routine": Targets(offer_window_seconds=900, acceptance_seconds=1800,
                           turnaround_seconds=5 * 3600)}})
    seen = _walk(quick, "routine", "pain_medicine")
    assert set(seen.values()) == {NOW + timedelta(hours=5)}


def test_team_overrides_and_surgery_dates_shape_the_deadline() -> None:
    policy = DEFAULT_SLA_POLICY
    assert policy.review_due(urgency="urgent", team="spine_radiology", triaged_at=NOW) == (
        NOW + timedelta(hours=24))
    assert policy.review_due(urgency="urgent", team="spine_surgery", triaged_at=NOW) == (
        NOW + timedelta(hours=72))
    # Surgery in 10 days: a routine opinion is due the day before, not in six weeks.
    assert policy.review_due(urgency="routine", team="pain_medicine", triaged_at=NOW,
                             surgery_in_days=10) == NOW + timedelta(days=9)
    # Surgery tomorrow: never a deadline in the past, the emergency turnaround at least.
    assert policy.review_due(urgency="routine", team=None, triaged_at=NOW,
                             surgery_in_days=0) == NOW + timedelta(hours=4)
    routing = Routing(specialist("sp-1"))
    routing.send(triaged(urgency="routine", ctx=context(surgery_in_days=10)))
    assert routing.state().steps["spine_surgery"].deadline == NOW + timedelta(days=9)


def test_a_retriage_that_brings_the_deadline_forward_reaches_every_reader() -> None:
    routing = Routing(specialist("sp-1", "pain_medicine"))
    routing.send(triaged(urgency="routine", teams=["pain_medicine"]))
    accepted_at = NOW + timedelta(minutes=5)
    routing.send(accept("case-1", "pain_medicine", "sp-1", at=accepted_at))
    later = NOW + timedelta(hours=2)
    routing.send(triaged(urgency="urgent", teams=["pain_medicine"], revision=2), now=later)
    changed = [e for e in routing.sent if isinstance(e, ReviewDeadlineChanged)]
    expected = DEFAULT_SLA_POLICY.review_due(urgency="urgent", team="pain_medicine",
                                             triaged_at=later)
    assert [(e.step_id, e.deadline, e.specialist_id) for e in changed] == [
        ("pain_medicine", expected, "sp-1")]

    notify_policy, state, summary = NotifyPolicy(), None, None
    for event in routing.sent:
        if not isinstance(event, AssignmentOffered | AssignmentAccepted | ReviewDeadlineChanged):
            continue
        out = notify_apply(state, event, policy=notify_policy, contacts=FakeContacts(),
                           now=event.occurred_at)
        state, summary = out.state, casefile.apply_event(summary, event)
    assert state is not None and summary is not None
    assert sla.deadline(state.clocks["pain_medicine:turnaround"], later) == expected
    status = casefile.referrer_status(summary)
    assert status.team_states[0].report_due == expected
    card = casefile.aggregate([summary], later).columns["on_track"][0]
    assert card.deadline == expected
    mine = assignments_for(gateway=_Gateway(routing), specialist_id="sp-1")  # type: ignore[arg-type]
    assert mine[0].deadline == expected
