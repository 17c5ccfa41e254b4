"""The free-text reader's footprint (issue 13): medspaCy without QuickUMLS and nltk."""

from __future__ import annotations

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
