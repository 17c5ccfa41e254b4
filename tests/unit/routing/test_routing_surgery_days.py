"""The contract's bounds on two fields routing computes with.

`CaseContext.surgery_in_days` had none: a huge value overflowed routing's deadline arithmetic
(triaged_at + days: OverflowError), and the CaseTriaged went to the dead-letter topic with a
reason naming no field. It is now refused at parse, naming the field (the referral's own bound,
3,650 days), and routing clamps what reaches it without validation.
`WorkingHours.weekdays` took a list of any length: at most seven, and a day named twice is
refused by the directory API.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from pydantic import ValidationError

from schemas.directory import WorkingHours
from schemas.registry import parse_event
from schemas.topics import CASE_TRIAGED
from services.common.auth import mint_token
from services.common.errors import describe_exception
from services.routing.api import create_api
from tests.routing.fakes import Clock, InProcessGateway, make_processor
from tests.unit.routing.builders import NOW, Routing, context, specialist, triaged

HUGE = 10**9  # days: far past datetime's year 9999
SURGERY_DAYS_MAX = 3650  # the bound (schemas.cases), as ProposedSurgery.days_until_scheduled


@pytest.mark.parametrize("days", [HUGE, SURGERY_DAYS_MAX + 1, -1])
def test_a_case_triaged_with_an_out_of_bounds_surgery_date_is_refused_naming_the_field(
    days: int,
) -> None:
    raw = triaged(ctx=context(surgery_in_days=1)).model_dump_json().replace(
        '"surgery_in_days":1', f'"surgery_in_days":{days}').encode()
    with pytest.raises(ValidationError) as refused:
        parse_event(CASE_TRIAGED, raw)
    reason = describe_exception(refused.value)  # what the dead letter says
    assert "context.surgery_in_days" in reason


def test_the_bound_itself_parses_and_routes() -> None:
    event = triaged(ctx=context(surgery_in_days=SURGERY_DAYS_MAX))
    assert parse_event(CASE_TRIAGED, event.to_bytes()) == event
    routing = Routing(specialist("a"))
    routing.send(event)
    assert routing.offered_to() == "a"


def test_routing_clamps_a_surgery_date_that_reached_it_unvalidated() -> None:
    # model_copy(update=...) skips validation, as model_construct does: no OverflowError.
    huge = context().model_copy(update={"surgery_in_days": HUGE})
    routing = Routing(specialist("a"))
    routing.send(triaged(urgency="routine", ctx=huge))
    assert routing.offered_to() == "a"
    plain = Routing(specialist("a"))
    plain.send(triaged(urgency="routine"))
    assert routing.state().deadline == plain.state().deadline  # ten years out: no earlier
    assert routing.state().deadline <= NOW + timedelta(days=SURGERY_DAYS_MAX)


def test_working_hours_are_bounded_but_a_stored_entry_with_repeats_still_reads() -> None:
    assert WorkingHours(weekdays=[0, 1, 2, 3, 4, 5, 6]).weekdays == [0, 1, 2, 3, 4, 5, 6]
    # Stored before the API refused repeats: it must still parse, or its specialist would drop
    # out of every worker's directory (the API refuses it now: the test below).
    assert len(WorkingHours(weekdays=[0, 0, 1, 1, 2, 2, 3, 3, 4, 4]).weekdays) == 10
    with pytest.raises(ValidationError) as refused:
        WorkingHours(weekdays=[0] * 65)
    assert refused.value.errors()[0]["loc"] == ("weekdays",)


async def test_the_directory_api_refuses_a_day_named_twice_naming_the_entry() -> None:
    processor, _, _ = make_processor(Clock(NOW))
    api = httpx.ASGITransport(app=create_api(InProcessGateway(processor)))
    ops = {"Authorization": f"Bearer {mint_token(subject='ops-1', role='ops')}"}
    body = specialist("a", working_hours=WorkingHours(weekdays=[0, 1, 0])).model_dump(mode="json")
    too_many = {**body, "working_hours": {**body["working_hours"], "weekdays": [0] * 8}}
    async with httpx.AsyncClient(transport=api, base_url="http://routing") as client:
        twice = await client.put("/directory/specialists/a", json=body, headers=ops)
        long = await client.put("/directory/specialists/a", json=too_many, headers=ops)
    assert twice.status_code == 422
    assert [e["path"] for e in twice.json()["errors"]] == ["working_hours.weekdays.2"]
    assert long.status_code == 422 and "weekdays" in long.text
    assert processor.directory.get("a") is None
