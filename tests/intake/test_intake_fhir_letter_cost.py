"""A hostile PDF letter no longer holds FHIR intake (review 19).

The review's bundle: ~190 KB carrying one 140 KB PDF whose single content stream inflates to
63 MB of operators that print nothing, shared by 4 pages. Each page cost ~7 s of CPU, so two such
bundles held both parse slots and a third referrer's ordinary bundle waited 70 s. Now the page is
weighed before it is read, and the letter is accepted with the attachment listed as not read.
The CPU ceiling is far from both the old cost (~28 s a bundle) and a normal one (~0.1 s).
"""

from __future__ import annotations

import json
import time

from tests.intake.intake_fakes import bearer, running_intake
from tests.unit.intake.test_intake_fhir_attachment_budget import pdf, stream
from tests.unit.intake.test_intake_fhir_narratives import bundle, letter

FHIR_JSON = {"Content-Type": "application/fhir+json"}
NOT_READ = "attachment not read: over the reading budget; not read by triage"


def test_a_pdf_bomb_letter_is_accepted_cheaply_and_listed_as_not_read() -> None:
    bomb = pdf([0] * 4, [stream(b"BT /F1 12 Tf ET\n" * 4_500_000)])
    costly = json.dumps(bundle(letter("application/pdf", bomb))).encode()
    with running_intake() as (client, log):
        started = time.process_time()
        answers = [client.post("/fhir/Bundle", content=costly, headers=bearer(who) | FHIR_JSON)
                   for who in ("ref-a", "ref-b")]
        spent = time.process_time() - started
        small = client.post("/fhir/Bundle", content=json.dumps(bundle()),
                            headers=bearer("ref-c") | FHIR_JSON)
    assert [a.status_code for a in answers] == [202, 202] and small.status_code == 202
    for answer in answers:
        assert any(NOT_READ in line for line in answer.json()["unmapped"])
    assert len(log.events()) == 3
    assert spent < 10.0
