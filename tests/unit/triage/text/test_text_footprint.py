"""Triage's footprint (issue 13: 150 MB per service): medspaCy without QuickUMLS and nltk, spaCy
without its command line, and no token verification library in a worker that verifies no
tokens."""

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
      "nltk" in sys.modules, getattr(sys.modules.get("quickumls"), "__file__", None),
      getattr(sys.modules.get("spacy.cli"), "__file__", None),
      [m for m in ("typer", "weasel", "requests") if m in sys.modules])
"""


def test_the_letter_is_read_without_quickumls_nltk_or_spacys_command_line() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True).stdout.split()
    # Read as before (a written cauda equina is an emergency) with none of them loaded: the
    # placeholder modules have no file, and what spaCy's command line pulls in (~9.5 MB) is out.
    assert out == ["emergency", "True", "False", "None", "None", "[]"]


def test_spacys_command_line_says_it_is_left_out_if_called() -> None:
    probe = ("from services.triage.engine.text.pipeline import without_unused_modules\n"
             "without_unused_modules()\nimport spacy\n"
             "try:\n    spacy.info()\nexcept RuntimeError as e:\n    print('refused', e)")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert out.startswith("refused spaCy's command line is left out")


def test_the_triage_worker_loads_no_jwt_library_until_a_token_comes() -> None:
    probe = ("import sys, services.triage.app; print('jwt' in sys.modules); "
             "from services.common.auth import mint_token, principal_from_token; "
             "print(principal_from_token(mint_token(subject='x', role='ops')).role)")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True,
                         env={**os.environ, "SPINE_ENV": "development"}).stdout.split()
    assert out == ["False", "ops"]


def test_the_words_a_letter_taught_the_pipeline_do_not_stay_for_good(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Review 20: spaCy 3.7 keeps every string it has read, so a patient's name stayed in
    triage's memory and a referrer sending new words grew the worker without end. Past the
    bound the pipeline is dropped and built afresh: the name is gone, the strings bounded."""
    import importlib

    from services.triage.engine.text.lexicon import lexicon
    from services.triage.engine.text.reading import read_texts

    # the module (the package exports its `pipeline` function under the same name)
    pipelines = importlib.import_module("services.triage.engine.text.pipeline")
    lex = lexicon()
    monkeypatch.setattr(pipelines, "MAX_NEW_STRINGS", 300)
    read_texts([("q", "Saddle numbness since Monday.")], lex)
    fresh = len(pipelines.pipeline(lex).vocab.strings)
    words = " ".join(f"zq{i}x" for i in range(400))  # 400 words no pipeline has seen
    read_texts([("q", f"Mrs Quortleworth reports saddle numbness. {words}.")], lex)
    strings = pipelines.pipeline(lex).vocab.strings
    assert "Quortleworth" not in strings and "zq7x" not in strings
    assert len(strings) < fresh + 300
