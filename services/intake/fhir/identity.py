"""The names a FHIR bundle gives its referral (see services/intake/domain/identity.py)."""

from __future__ import annotations

from services.intake.domain.identity import Name
from services.intake.fhir.bundle import BundleIndex, Entry, FhirRejected

_MAX = 200  # names are keys, not content: long ones are cut, never rejected
# Every identifier becomes a registry record kept forever and held by every intake worker, so
# their number is bounded before any is stored. Real referrals carry one to three (the sender's
# referral id, a UBRN, a local id); ten leaves room for any sender we know of.
MAX_IDENTIFIERS = 10


def _cut(text: object) -> str:
    return str(text)[:_MAX]


def sender_of(index: BundleIndex) -> str:
    """Who sent the message: MessageHeader.source.endpoint (required in R4 messages, as in BaRS).
    Other bundle types carry no sender: their fullUrl is scoped to the authenticated client."""
    for header in index.of_type("MessageHeader"):
        source = header.resource.source  # required by R4, but a mangled message may lack it
        return _cut(source.endpoint) if source is not None and source.endpoint else ""
    return ""


def referral_names(index: BundleIndex, request: Entry) -> list[Name]:
    """Every name of the referral, the preferred first: ServiceRequest.identifier, then the
    Bundle.identifier and MessageHeader id, then its fullUrl (or id) within the sender."""
    identifiers = request.resource.identifier or []
    if len(identifiers) > MAX_IDENTIFIERS:
        detail = (f"ServiceRequest.identifier holds {len(identifiers)} identifiers; at most "
                  f"{MAX_IDENTIFIERS} are accepted")
        raise FhirRejected(422, "Too many identifiers", detail, kind="fhir-invalid",
                           errors=[{"path": f"{request.path}.identifier", "message": detail}])
    names = [
        Name("identifier", _cut(ident.system or ""), _cut(ident.value))
        for ident in identifiers if ident.value
    ]
    bundle_id = index.bundle.identifier
    if bundle_id is not None and bundle_id.value:
        names.append(Name("bundle", _cut(bundle_id.system or ""), _cut(bundle_id.value)))
    for header in index.of_type("MessageHeader"):
        if header.resource.id:
            names.append(Name("message", "", _cut(header.resource.id)))
    local = request.full_url or (f"ServiceRequest/{request.resource.id}"
                                 if request.resource.id else None)
    if local:
        names.append(Name("local", sender_of(index), _cut(local)))
    return names
