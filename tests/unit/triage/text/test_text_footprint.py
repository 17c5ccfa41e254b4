"""Triage's footprint (issue 13: 150 MB per service): medspaCy without QuickUMLS and nltk, and no
token verification library in a worker that verifies no tokens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]

# In a fresh interpreter: this test process may have imported anything already.
PROBE = """
import sys
from tests.unit.triage.builders import fired, triage
result = triage(clinical_question="Both legs painful since the weekend and new difficulty "
                                  "starting to pee.")
print(result.urgency, "RF1_CES_established" in fired(result),
      "nltk" in sys.modules, getattr(sys.modules.get("quickumls"), "__file__", None))
"""


def test_the_letter_is_read_without_quickumls_or_nltk_in_the_process() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True).stdout.split()
    # Read as before (a written cauda equina is an emergency) with neither package loaded:
    # the placeholder module has no file.
    assert out == ["emergency", "True", "False", "None"]


def test_the_triage_worker_loads_no_jwt_library_until_a_token_comes() -> None:
    probe = ("import sys, services.triage.app; print('jwt' in sys.modules); "
             "from services.common.auth import mint_token, principal_from_token; "
             "print(principal_from_token(mint_token(subject='x', role='ops')).role)")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True,
                         env={**os.environ, "SPINE_ENV": "development"}).stdout.split()
    assert out == ["False", "ops"]
