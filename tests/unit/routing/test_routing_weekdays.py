"""A directory entry whose working days are no weekday (the schema takes any integer).

Before: the search for the holder's first working moment before the deadline stepped a day at
a time until the year 9999 (1.5 s of a stalled event loop) and raised OverflowError, for every
decision with a deadline under a week that the entry took part in: those cases (and each of
their ticks) were dead-lettered, never routed, on every worker, and the API accepted the entry.
"""

from __future__ import annotations

import time
from datetime import time as clock_time
from pathlib import Path

import httpx
import pytest

from schemas.directory import WorkingHours
from services.common.auth import mint_token
from services.routing import seed
from services.routing.api import create_api
from services.routing.domain.eligibility import NO_WORKING_HOURS
from tests.routing.fakes import Clock, InProcessGateway, make_processor
from tests.unit.routing.builders import NOW, Routing, specialist, triaged

NO_DAY = WorkingHours(weekdays=[7], start=clock_time(8), end=clock_time(9))


@pytest.mark.parametrize("weekdays", [[7], [-1], [99, 7]])
def test_no_weekday_means_no_working_hours_and_the_next_candidate(weekdays: list[int]) -> None:
    hours = WorkingHours(weekdays=weekdays, start=clock_time(8), end=clock_time(9))
    routing = Routing(specialist("a", working_hours=hours), specialist("b"))
    started = time.perf_counter()
    routing.send(triaged("case-1", urgency="urgent"))  # a 72 h deadline: the search runs
    assert time.perf_counter() - started < 0.5
    assert routing.offered_to() == "b"
    (a,) = [c for c in routing.state().record[-1].candidates if c.specialist_id == "a"]
    assert NO_WORKING_HOURS in a.excluded


async def test_the_directory_api_refuses_them_naming_the_field() -> None:
    processor, _, _ = make_processor(Clock(NOW))
    api = httpx.ASGITransport(app=create_api(InProcessGateway(processor)))
    ops = {"Authorization": f"Bearer {mint_token(subject='ops-1', role='ops')}"}
    body = specialist("a", working_hours=WorkingHours(weekdays=[0, 7])).model_dump(mode="json")
    async with httpx.AsyncClient(transport=api, base_url="http://routing") as client:
        response = await client.put("/directory/specialists/a", json=body, headers=ops)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["path"] for e in response.json()["errors"]] == ["working_hours.weekdays.1"]
    assert processor.directory.get("a") is None


def test_the_seeder_refuses_them_naming_the_entry_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def never(*args: object) -> None:
        raise AssertionError("nothing may be published from a bad file")

    monkeypatch.setattr(seed, "publish", never)
    path = tmp_path / "specialists.json"
    entries = [specialist("a"), specialist("b", working_hours=NO_DAY)]
    path.write_text("[" + ",".join(s.model_dump_json() for s in entries) + "]")
    assert seed.main([str(path)]) == 2
    assert "1.working_hours.weekdays.0" in capsys.readouterr().err
