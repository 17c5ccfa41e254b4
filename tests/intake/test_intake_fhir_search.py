"""Task search does bounded work: it builds Task resources for the page it returns only, reads
at most SCAN_LIMIT cases per request (and says so when that cut a page short), finds a Task by
identifier from the registry's index, and pages by cursor without repeating or skipping cases.
Work is counted (Tasks built, view rows read, cases examined), never timed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome

from schemas.topics import INTAKE_REGISTRY
from services.common.auth import Principal
from services.intake.domain.registry import CaseRecord, ErasedRecord, record_bytes
from services.intake.eventlog import OutRecord
from services.intake.fhir import resources, search
from services.intake.fhir.taskview import CaseProgress, TaskView
from tests.intake.intake_fakes import NOW, FakeIntakeLog, bearer, running_intake

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fhir"
NORTH = bearer("ref-north-gp")
FHIR_JSON = {"Content-Type": "application/fhir+json"}


class CountingTaskView(TaskView):
    """The Task view, counting the cases read from it."""

    reads = 0

    def get(self, case_id: str) -> CaseProgress | None:
        self.reads += 1
        return super().get(case_id)


def stored_cases(n: int, referrer_id: str = "ref-north-gp", start: int = 0) -> list[OutRecord]:
    """Registry records of `n` cases, one a minute, as a restarted intake would replay them."""
    return [OutRecord(INTAKE_REGISTRY, f"case/{referrer_id}-{i}", record_bytes(CaseRecord(
        case_id=f"{referrer_id}-{i}", referrer_id=referrer_id, referral_id=f"R-{i}", revision=1,
        first_body_hash="h", body_hash="h", updated_at=NOW + timedelta(minutes=i),
    ))) for i in range(start, start + n)]


@contextmanager
def intake_with(records: list[OutRecord]) -> Iterator[tuple[TestClient, CountingTaskView]]:
    log = FakeIntakeLog()
    log.records.extend(records)
    with running_intake(log) as (client, _):
        view = CountingTaskView()
        client.app.state.intake.tasks = view  # type: ignore[attr-defined]
        yield client, view


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Ids of every Task resource built, in order."""
    ids: list[str] = []
    real = resources.task_resource

    def counting(case: CaseRecord, *args: Any) -> dict[str, Any]:
        ids.append(case.case_id)
        return real(case, *args)

    monkeypatch.setattr(resources, "task_resource", counting)
    return ids


def get_bundle(client: TestClient, url: str) -> dict[str, Any]:
    response = client.get(url, headers=NORTH)
    assert response.status_code == 200, response.text
    Bundle.model_validate(response.json())
    return dict(response.json())


def next_link(bundle: dict[str, Any]) -> str | None:
    found = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
    return found[0].removeprefix("http://testserver") if found else None


def matches(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])
            if e["search"]["mode"] == "match"]


def test_a_search_matching_nothing_builds_no_task_and_reads_at_most_the_scan_limit(
    built: list[str],
) -> None:
    many = search.SCAN_LIMIT + 500
    with intake_with(stored_cases(many) + stored_cases(50, "ref-city-hospital")) as (client, view):
        first = get_bundle(client, "/fhir/Task?status=failed&_count=1")
        assert built == [] and matches(first) == []
        assert view.reads <= search.SCAN_LIMIT
        [outcome] = [e["resource"] for e in first["entry"] if e["search"]["mode"] == "outcome"]
        issue = OperationOutcome.model_validate(outcome).issue[0]
        assert (issue.severity, issue.code) == ("warning", "too-costly")
        assert "total" not in first  # not every case was looked at: the total is unknown
        second = get_bundle(client, next_link(first) or "")  # carries on where the first stopped
        assert view.reads <= many and next_link(second) is None and built == []


def test_a_page_builds_only_its_own_tasks_and_paging_covers_every_case_once(
    built: list[str],
) -> None:
    with intake_with(stored_cases(30) + stored_cases(30, "ref-city-hospital")) as (client, _):
        seen: list[str] = []
        url: str | None = "/fhir/Task?status=requested&_count=7"
        while url:
            before = len(built)
            bundle = get_bundle(client, url)
            assert len(built) - before == len(matches(bundle)) <= 7
            seen += matches(bundle)
            url = next_link(bundle)
            if len(seen) == 7:  # a newer case arriving between pages shifts nothing
                client.app.state.intake.on_registry_record(  # type: ignore[attr-defined]
                    *next((r.key, r.value) for r in stored_cases(1, start=99)))
    assert seen == [f"ref-north-gp-{i}" for i in reversed(range(30))]


def test_the_first_page_that_sees_every_match_gives_the_total() -> None:
    with intake_with(stored_cases(5)) as (client, _):
        assert get_bundle(client, "/fhir/Task?_count=10")["total"] == 5
        page = get_bundle(client, "/fhir/Task?_count=2")
        assert "total" not in page and next_link(page)


def test_an_identifier_search_reads_one_case_among_thousands(built: list[str]) -> None:
    body = (FIXTURES / "fbss-recurrent-disc.message.json").read_bytes()
    with intake_with(stored_cases(search.SCAN_LIMIT + 100)) as (client, view):
        posted = client.post("/fhir/Bundle", content=body, headers=NORTH | FHIR_JSON)
        case_id = posted.json()["case_id"]
        intake = client.app.state.intake  # type: ignore[attr-defined]
        principal = Principal(subject="ref-north-gp", role="referrer")
        for token in ("https://north-gp.example/referrals|NGP-2026-0042", "NGP-2026-0042",
                      f"{resources.CASE_SYSTEM}|{case_id}", "R-17"):
            page = search.find_tasks(intake=intake, principal=principal, based_on=None,
                                     identifier=token, status="requested", count=10)
            assert page.examined == 1 and len(page.cases) == 1, token
        built.clear()
        view.reads = 0
        bundle = get_bundle(client, "/fhir/Task?identifier=https://north-gp.example/referrals"
                                    "|NGP-2026-0042")
        assert matches(bundle) == built == [case_id] and view.reads == 1
        wrong_system = get_bundle(client, "/fhir/Task?identifier=https://other.example|NGP-2026-0042")
        assert matches(wrong_system) == [] and wrong_system["total"] == 0


def test_a_cursor_that_is_not_ours_is_a_400_naming_it() -> None:
    with intake_with(stored_cases(3)) as (client, _):
        response = client.get("/fhir/Task?_cursor=not-a-cursor", headers=NORTH)
    assert response.status_code == 400
    [issue] = OperationOutcome.model_validate(response.json()).issue
    assert issue.expression == ["_cursor"] and "_cursor" in (issue.details.text or "")


def test_every_invalid_search_parameter_is_named_in_expression() -> None:
    """The search's own 400s named the parameter in prose only, with no `expression` (as
    FastAPI's 422s for `_count` have): a client could not tell which parameter to fix."""
    with intake_with(stored_cases(1)) as (client, _):
        for query, parameter in (("status=done", "status"), ("based-on=Patient/1", "based-on"),
                                 ("_cursor=xyz", "_cursor"), ("_count=0", "_count")):
            response = client.get(f"/fhir/Task?{query}", headers=NORTH)
            assert response.status_code in (400, 422), query
            [issue] = OperationOutcome.model_validate(response.json()).issue
            assert (issue.code, issue.expression) == ("invalid", [parameter]), query


def test_a_case_erased_while_its_page_is_built_is_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tasks are built one at a time, letting other work run between them (an erasure too)."""
    with intake_with(stored_cases(3)) as (client, _):
        intake = client.app.state.intake  # type: ignore[attr-defined]
        real = resources.task_resource

        def erasing_the_oldest(case: CaseRecord, *args: Any) -> dict[str, Any]:
            intake.registry.apply("erased/ref-north-gp-0", ErasedRecord(
                case_id="ref-north-gp-0", referrer_id="ref-north-gp", erased_at=NOW))
            return real(case, *args)

        monkeypatch.setattr(resources, "task_resource", erasing_the_oldest)
        bundle = get_bundle(client, "/fhir/Task?_count=3")
    assert matches(bundle) == ["ref-north-gp-2", "ref-north-gp-1"]


def test_the_links_list_only_the_parameters_the_search_applied() -> None:
    with intake_with(stored_cases(3)) as (client, _):
        bundle = get_bundle(client, "/fhir/Task?_sort=-authored&statuss=x&status=requested"
                                    "&_count=2&_format=json")
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        second = get_bundle(client, next_link(bundle) or "")
    assert links["self"] == "http://testserver/fhir/Task?status=requested&_count=2"
    assert links["next"].startswith(links["self"] + "&_cursor=")
    [own] = [link["url"] for link in second["link"] if link["relation"] == "self"]
    assert own == links["next"]  # a page's self link is the link that led to it


def test_a_case_cancelled_between_pages_is_neither_skipped_nor_repeated() -> None:
    """Pages are in the order cases were opened: a cancellation (a registry write with a new
    `updated_at`) between two pages used to move a case not yet listed ahead of the cursor,
    and no later page listed it."""
    earlier = [OutRecord(INTAKE_REGISTRY, f"case/old-{i}", record_bytes(CaseRecord(
        case_id=f"old-{i}", referrer_id="ref-north-gp", referral_id=f"R-{i}", revision=1,
        first_body_hash="h", body_hash="h", updated_at=NOW - timedelta(minutes=30 - i),
    ))) for i in range(30)]
    with intake_with(earlier) as (client, _):
        seen: list[str] = []
        url: str | None = "/fhir/Task?_count=7"
        while url:
            bundle = get_bundle(client, url)
            seen += matches(bundle)
            url = next_link(bundle)
            if len(seen) == 7:  # the oldest case, on the last page, is cancelled meanwhile
                cancelled = client.delete("/referrals/old-0", headers=NORTH)
                assert cancelled.status_code == 202, cancelled.text
    assert seen == [f"old-{i}" for i in reversed(range(30))]


def test_a_case_cancelled_while_its_page_is_built_reads_cancelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each Task is built from the case as it is when built: a cancellation applied between two
    Tasks of a page made the later one read `requested`."""
    with intake_with(stored_cases(3)) as (client, _):
        intake = client.app.state.intake  # type: ignore[attr-defined]
        real = resources.task_resource
        oldest = intake.registry.cases["ref-north-gp-0"]

        def cancelling_the_oldest(case: CaseRecord, *args: Any) -> dict[str, Any]:
            intake.registry.apply("case/ref-north-gp-0", oldest.model_copy(
                update={"status": "cancelled", "updated_at": NOW + timedelta(hours=1)}))
            return real(case, *args)

        monkeypatch.setattr(resources, "task_resource", cancelling_the_oldest)
        bundle = get_bundle(client, "/fhir/Task?_count=3")
    statuses = {e["resource"]["id"]: e["resource"]["status"] for e in bundle["entry"]}
    assert statuses == {"ref-north-gp-2": "requested", "ref-north-gp-1": "requested",
                        "ref-north-gp-0": "cancelled"}


def test_a_status_search_lists_no_task_whose_status_changed_before_it_was_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The status filter was judged when the page was chosen, the Task built later (other
    requests run between two Tasks): a case cancelled in between was listed, reading
    `cancelled`, in a search for `requested` Tasks. The filter now applies to the Task built."""
    with intake_with(stored_cases(3)) as (client, _):
        intake = client.app.state.intake  # type: ignore[attr-defined]
        real = resources.task_resource
        oldest = intake.registry.cases["ref-north-gp-0"]

        def cancelling_the_oldest(case: CaseRecord, *args: Any) -> dict[str, Any]:
            # another worker's cancel, read back while this page is being built
            intake.registry.apply("case/ref-north-gp-0", oldest.model_copy(
                update={"status": "cancelled", "updated_at": NOW + timedelta(hours=1)}))
            return real(case, *args)

        monkeypatch.setattr(resources, "task_resource", cancelling_the_oldest)
        requested = get_bundle(client, "/fhir/Task?status=requested&_count=3")
        monkeypatch.setattr(resources, "task_resource", real)
        cancelled = get_bundle(client, "/fhir/Task?status=cancelled")
    assert matches(requested) == ["ref-north-gp-2", "ref-north-gp-1"]
    assert {e["resource"]["status"] for e in requested["entry"]} == {"requested"}
    assert requested.get("total") == 2  # the first page saw every match: its count is right
    assert matches(cancelled) == ["ref-north-gp-0"]
