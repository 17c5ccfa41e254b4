"""Planted patient identifiers never reach intake's logs, metrics or problem responses,
whether the referral is JSON or FHIR, valid or invalid (in process and as a real process)."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.settings import REPO_ROOT
from tests.intake.intake_fakes import bearer, running_intake
from tests.unit.intake.intake_builders import referral_body

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fhir"
NAME, NHS_NUMBER, BIRTH = "Zebedee Quixplanted", "PLANTED9998887776", "1931-02-03"
FREE_TEXT, REPORT = "PLANTED-QUESTION-TEXT", "PLANTED-REPORT-TEXT"
PLANTED = (NAME, "Quixplanted", NHS_NUMBER, BIRTH, FREE_TEXT, REPORT)


def planted_json(**overrides: Any) -> dict[str, Any]:
    nhs_number = {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": NHS_NUMBER}
    patient = {"name": NAME, "birth_date": BIRTH, "identifiers": [nhs_number]}
    imaging = [{"modality": "mri", "report_text": REPORT}]
    body = referral_body(patient=patient, clinical_question=FREE_TEXT, imaging=imaging)
    return body | overrides


def planted_fhir(**patient_overrides: Any) -> dict[str, Any]:
    bundle: dict[str, Any] = json.loads((FIXTURES / "fbss-recurrent-disc.message.json").read_text())
    patient = bundle["entry"][2]["resource"]
    patient["name"] = [{"text": NAME}]
    patient["identifier"][0]["value"] = NHS_NUMBER
    patient.update({"birthDate": BIRTH} | patient_overrides)
    bundle["entry"][1]["resource"]["note"] = [{"text": FREE_TEXT}]
    return bundle


def exercises() -> list[tuple[str, str, Any]]:
    """(method, path, json body) calls covering accepted, refused and conflicting referrals."""
    return [
        ("POST", "/referrals", planted_json()),
        ("POST", "/referrals", planted_json()),  # replay
        ("POST", "/referrals", planted_json(age=77)),  # 409
        ("POST", "/referrals", planted_json(sex=NAME, referral_type=NHS_NUMBER)),  # invalid
        ("POST", "/referrals", planted_json(patient={"name": NAME, "birth_date": NAME})),
        ("POST", "/fhir/Bundle", planted_fhir()),
        ("POST", "/fhir/Bundle", planted_fhir(birthDate=f"{NAME}-{BIRTH}")),  # invalid R4
        ("POST", "/fhir/Bundle", planted_fhir(gender=NAME)),  # not mappable
        ("POST", "/fhir/Bundle", {"resourceType": NAME, "name": NHS_NUMBER}),
    ]


def assert_clean(text: str) -> None:
    leaked = [p for p in PLANTED if p in text]
    assert not leaked, f"planted values leaked: {leaked}"


def test_nothing_planted_reaches_logs_metrics_or_problems(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    problems = []
    with running_intake() as (client, _):
        for method, path, body in exercises():
            response = client.request(method, path, json=body, headers=bearer("ref-north-gp"))
            if response.status_code >= 400:
                problems.append(response.text)
        metrics = client.get("/metrics").text
    assert len(problems) == 6  # every refused call was answered with a problem body
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "referral accepted" in logged  # the capture did see intake's logs
    for text in (logged, metrics, *problems):
        assert_clean(text)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_intake_process_stderr_holds_no_planted_values() -> None:
    port, closed = _free_port(), _free_port()  # Kafka on a closed port: every write is a 503
    env = os.environ | {"INTAKE_PORT": str(port), "KAFKA_BOOTSTRAP": f"127.0.0.1:{closed}",
                        "LOG_LEVEL": "DEBUG", "INTAKE_SEND_TIMEOUT_SECONDS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "services.intake"], cwd=REPO_ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120  # a loaded machine took up to 16 s to boot intake
        while True:
            try:
                httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.HTTPError:
                assert process.poll() is None, "intake exited before serving HTTP"
                assert time.monotonic() < deadline, "intake never served HTTP"
                time.sleep(0.1)
        statuses = [
            httpx.request(method, url + path, json=body, headers=bearer("ref-north-gp"),
                          timeout=10).status_code
            for method, path, body in exercises()
        ]
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    assert 503 in statuses and 422 in statuses
    stderr = err.decode()
    assert '"logger": "spine.intake"' in stderr  # intake did log (its reconnect attempts)
    assert_clean(stderr + out.decode())
