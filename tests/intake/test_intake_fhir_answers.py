"""What the FHIR base answers in which format. POST /fhir/Bundle: a FHIR client (Accept
application/fhir+json, or `_format=json`) gets the case's Task as application/fhir+json with the
same status code and Location; any other client the documented CaseReceipt. A client that
accepts no JSON (FHIR XML only) gets 406, never a body it said it cannot read."""

from __future__ import annotations

from fhir.resources.R4B.task import Task

from services.intake.state import LocalFeed
from tests.intake.intake_fakes import bearer, running_intake
from tests.intake.test_intake_fhir_api import fixture_bytes

NORTH = bearer("ref-north-gp")
SEND = {"Content-Type": "application/fhir+json"}
MESSAGE = fixture_bytes("fbss-recurrent-disc.message")


def test_a_fhir_client_gets_the_cases_task_with_the_status_code_and_location() -> None:
    asks = NORTH | SEND | {"Accept": "application/fhir+json; fhirVersion=4.0"}
    with running_intake() as (client, _):
        created = client.post("/fhir/Bundle", content=MESSAGE, headers=asks)
        again = client.post("/fhir/Bundle", content=MESSAGE, headers=asks)
        read = client.get(created.headers["location"], headers=NORTH).json()
        revoked = client.post("/fhir/Bundle", headers=asks,
                              content=fixture_bytes("fbss-recurrent-disc.cancel.message"))
    assert created.status_code == 202 and again.status_code == 200
    assert created.headers["content-type"] == "application/fhir+json"
    task = Task.model_validate(created.json())
    assert task.status == "requested"
    assert created.headers["location"] == f"http://testserver/fhir/Task/{task.id}"
    assert created.json() == read and again.json() == read
    assert again.headers["location"] == created.headers["location"]
    assert revoked.status_code == 202 and revoked.json()["status"] == "cancelled"


def test_format_json_asks_for_the_task_as_the_accept_header_does() -> None:
    with running_intake() as (client, _):
        created = client.post("/fhir/Bundle?_format=json", content=MESSAGE, headers=NORTH | SEND)
    assert created.status_code == 202
    assert created.headers["content-type"] == "application/fhir+json"
    assert created.json()["resourceType"] == "Task"


def test_other_clients_keep_the_receipt() -> None:
    with running_intake() as (client, _):
        plain = client.post("/fhir/Bundle", content=MESSAGE, headers=NORTH | SEND)
        json_only = client.post("/fhir/Bundle", content=MESSAGE,
                                headers=NORTH | SEND | {"Accept": "application/json"})
        refused = client.post("/fhir/Bundle", content=MESSAGE, headers=NORTH | SEND | {
            "Accept": "application/fhir+json;q=0, application/json"})
    for answer in (plain, json_only, refused):
        assert answer.headers["content-type"] == "application/json"
        assert "resourceType" not in answer.json() and answer.json()["case_id"]
    assert plain.status_code == 202 and json_only.status_code == 200


class LoadingFeed(LocalFeed):
    """A status feed still reading the downstream topics to their end."""

    @property
    def loaded(self) -> bool:
        return False


def test_before_the_status_view_loaded_a_fhir_client_gets_an_informational_outcome() -> None:
    with running_intake() as (client, _):
        client.app.state.intake.feed = LoadingFeed()  # type: ignore[attr-defined]
        created = client.post("/fhir/Bundle", content=MESSAGE,
                              headers=NORTH | SEND | {"Accept": "application/fhir+json"})
    assert created.status_code == 202 and "/fhir/Task/" in created.headers["location"]
    outcome = created.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["severity"] == "information"


XML_ONLY = {"Accept": "application/fhir+xml"}


def test_a_client_accepting_only_fhir_xml_is_406_operation_outcome_and_nothing_is_written() -> None:
    with running_intake() as (client, log):
        case_id = client.post("/fhir/Bundle", content=MESSAGE, headers=NORTH | SEND).json()[
            "case_id"]
        written = len(log.records)
        refused = [
            client.get("/fhir/metadata", headers=XML_ONLY),
            client.get(f"/fhir/Task/{case_id}", headers=NORTH | XML_ONLY),
            client.get(f"/fhir/Task/{case_id}?_format=xml", headers=NORTH),
            client.get("/fhir/Task?_format=application/fhir%2Bxml", headers=NORTH),
            client.post("/fhir/Bundle", content=MESSAGE, headers=NORTH | SEND | XML_ONLY),
        ]
        served = [client.get(f"/fhir/Task/{case_id}", headers=NORTH | {"Accept": accept})
                  for accept in ("application/fhir+xml, application/fhir+json;q=0.5",
                                 "text/html,*/*;q=0.8", "application/json", "")]
    for answer in refused:
        assert answer.status_code == 406, (answer.request.url, answer.status_code)
        assert answer.headers["content-type"] == "application/fhir+json"
        assert answer.json()["resourceType"] == "OperationOutcome"
        assert answer.json()["issue"][0]["code"] == "not-supported"
    assert len(log.records) == written
    assert [answer.status_code for answer in served] == [200] * 4
