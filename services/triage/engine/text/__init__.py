"""Free text in triage: the red-flag lexicon, the medspaCy reader and the structured overlay."""

from services.triage.engine.text.lexicon import lexicon
from services.triage.engine.text.pipeline import pipeline


def warm_pipeline() -> None:
    """Build the process-wide pipeline now (it is otherwise built on first use)."""
    pipeline(lexicon())


__all__ = ["warm_pipeline"]
