"""A case's version, as conditional requests see it: the ETag intake answers and If-Match.

The version names everything a conditional request guards, i.e. each state intake stores of
the case: the revision alone while open (so the tags issued before cancels counted stay
valid), and `<revision>-cancelled` once cancelled. The tag was the revision alone, so a
cancelled case kept its tag and a PUT from a client holding the open case's tag was judged on
the case (409 case-closed) instead of its precondition (412). A cancel does not bump the
revision instead: the revision numbers the referral's content for every consumer
(ReferralReceived, routing's stale check), and a cancel changes no content. As FHIR's
meta.versionId, the version changes whenever the case does and is a valid FHIR id.
"""

from __future__ import annotations

from services.intake.domain.registry import CaseRecord


def version_id(case: CaseRecord) -> str:
    """The case's version: `<revision>` while open, `<revision>-cancelled` once cancelled."""
    return str(case.revision) if case.status == "open" else f"{case.revision}-{case.status}"


def entity_tag(case: CaseRecord) -> str:
    """The case's ETag (weak: the receipt's bytes are not what is compared)."""
    return f'W/"{version_id(case)}"'


def matches(case: CaseRecord, if_match: str) -> bool:
    """Whether an If-Match header names the case's version (weak comparison, RFC 9110 13.1.1:
    `W/` and quotes ignored; `*` matches any case)."""
    tags = {t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")}
    return "*" in tags or version_id(case) in tags
