"""Reports, addenda, plan extension and the case-data tables, through the pure handlers and
CaseData over plain dict tables."""

from __future__ import annotations

from datetime import timedelta

from schemas.cases import ReferralReceived
from schemas.referral import Referral
from schemas.reports import MAX_ADDENDA
from schemas.routing import AmendReport, AssignmentCompleted, PlanExtended, RequestTeam
from services.routing.casedata import CaseData
from services.routing.domain.handlers import RoutingResult
from services.routing.domain.reports import AddendumWrite, with_addendum
from tests.unit.routing.builders import (
    NOW,
    REPORT,
    Routing,
    accept,
    complete,
    specialist,
    triaged,
    types,
)


def amend(sid: str, text: str = "note", n: int = 0) -> AmendReport:
    return AmendReport(event_id=f"amend-{sid}-{n}", case_id="case-1", occurred_at=NOW,
                       step_id="pain_medicine", specialist_id=sid, text=text)


def assigned() -> Routing:
    r = Routing(specialist("p1", "pain_medicine"), specialist("p2", "pain_medicine"),
                specialist("rad", "neuroradiologist"))
    r.send(triaged(teams=["pain_medicine"]))
    holder = r.offered_to(step_id="pain_medicine")
    assert holder is not None
    r.send(accept("case-1", "pain_medicine", holder))
    r.holder = holder  # type: ignore[attr-defined]
    return r


def test_complete_needs_a_report_and_happens_once() -> None:
    r = assigned()
    holder = r.holder  # type: ignore[attr-defined]
    missing = r.send(complete("case-1", "pain_medicine", holder, report=None))
    assert missing.outcome is not None and missing.outcome.status == "invalid"
    assert missing.events == [] and r.state().steps["pain_medicine"].status == "assigned"
    cmd = complete("case-1", "pain_medicine", holder)
    done = r.send(cmd)
    assert types(done.events) == ["AssignmentCompleted", "CaseCompleted"]
    assert isinstance(done.events[0], AssignmentCompleted) and done.events[0].report == REPORT
    assert [type(w).__name__ for w in done.report_writes] == ["StoredReport"]
    assert r.send(cmd).events == []  # a redelivery changes nothing
    second = r.send(complete("case-1", "pain_medicine", holder))
    assert second.outcome is not None and second.outcome.status == "conflict"
    assert "addendum" in second.outcome.detail and second.report_writes == []


def test_addenda_are_versioned_author_only_and_capped() -> None:
    r = assigned()
    holder = r.holder  # type: ignore[attr-defined]
    early = r.send(amend(holder, n=99))
    assert early.outcome is not None and early.outcome.status == "conflict"
    r.send(complete("case-1", "pain_medicine", holder))
    other = r.send(amend("p2" if holder == "p1" else "p1"))  # never offered: not even told
    assert other.outcome is not None and other.outcome.status == "not_found"
    versions = []
    for n in range(MAX_ADDENDA + 1):
        result = r.send(amend(holder, n=n))
        versions.append(result.outcome.status if result.outcome else None)
    assert versions == ["ok"] * MAX_ADDENDA + ["conflict"]
    assert r.state().steps["pain_medicine"].report_version == MAX_ADDENDA + 1


def test_reports_and_addenda_land_in_the_report_table_once() -> None:
    r = assigned()
    holder = r.holder  # type: ignore[attr-defined]
    data = CaseData(content={}, reports={})
    done = r.send(complete("case-1", "pain_medicine", holder))
    data.apply(triaged(), done, done.state.steps)
    added = r.send(amend(holder, "operative note read"))
    [write] = added.report_writes
    assert isinstance(write, AddendumWrite) and write.addendum.version == 2
    for _ in range(2):  # a crash before the state write re-applies the same addendum
        data.apply(triaged(), added, added.state.steps)
    got = data.report("case-1", "pain_medicine")
    assert got is not None and got.version == 2 and got.report == REPORT
    assert [a.text for a in got.addenda] == ["operative note read"]
    assert with_addendum(got, write.addendum) == got


def test_content_keeps_the_newest_referral_revision() -> None:
    data = CaseData(content={}, reports={})
    r = Routing()
    state = r.send(triaged()).state

    def received(revision: int, question: str) -> ReferralReceived:
        referral = Referral(referral_id="r", referral_type="post_surgery", region="lumbar",
                            age=50, sex="F", clinical_question=question)
        return ReferralReceived(event_id=f"recv-{revision}", case_id="case-1", occurred_at=NOW,
                                referrer_id="ref-1", revision=revision, referral=referral)

    for event in (received(2, "newer"), received(1, "older")):
        data.apply(event, RoutingResult(state, [], []), state.steps)
    content = data.content("case-1")
    assert content is not None and content.revision == 2
    assert content.referral is not None and content.referral.clinical_question == "newer"


def test_an_assigned_reviewer_extends_the_plan_and_the_new_step_is_offered() -> None:
    r = assigned()
    holder = r.holder  # type: ignore[attr-defined]

    def request(sid: str, team: str = "spine_radiology", n: int = 0) -> RequestTeam:
        return RequestTeam(event_id=f"req-{sid}-{team}-{n}", case_id="case-1",
                           occurred_at=NOW + timedelta(hours=1), step_id="pain_medicine",
                           specialist_id=sid, team=team, reason="scar or disc?")

    stranger = r.send(request("p2" if holder == "p1" else "p1"))
    assert stranger.outcome is not None and stranger.outcome.status == "not_found"
    added = r.send(request(holder))
    assert types(added.events) == ["PlanExtended", "AssignmentOffered"]
    extended = added.events[0]
    assert isinstance(extended, PlanExtended) and extended.requested_by == holder
    step = r.state().steps["spine_radiology"]
    assert step.offer is not None and step.offer.specialist_id == "rad"
    # Its deadline is the policy's (second read, soon: 72 h), counted from the request.
    assert step.deadline == NOW + timedelta(hours=1) + timedelta(hours=72)
    again = r.send(request(holder, n=1))
    assert again.outcome is not None and again.outcome.status == "conflict"
