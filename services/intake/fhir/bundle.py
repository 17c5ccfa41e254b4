"""Load a FHIR R4 Bundle: refuse other versions and non-Bundles with a reason, validate it with
the fhir.resources R4B models (R4B matches R4 for every resource intake reads), and index its
entries so `urn:uuid:`, absolute and relative `Type/id` references resolve inside the bundle."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

ACCEPTED_TYPES = ("message", "document", "transaction", "collection")
OTHER_BUNDLE_TYPES = frozenset({
    "searchset", "history", "batch", "batch-response", "transaction-response",
    "subscription-notification",
})
# Resource types that exist in STU3 (or DSTU2) but not in R4: their presence dates the payload.
PRE_R4_TYPES = frozenset({
    "ReferralRequest", "ProcedureRequest", "ProcessRequest", "ProcessResponse",
    "EligibilityRequest", "EligibilityResponse", "ImagingManifest", "DeviceComponent",
    "DataElement", "Sequence", "ServiceDefinition",
})
_PRE_R4_PROFILE = re.compile(r"(?i)/(stu3|dstu2|r3|3\.0(\.\d+)?)/")
_FHIR_VERSION_PARAM = re.compile(r"(?i)fhirversion\s*=\s*\"?([0-9.]+)")
_SAFE_MESSAGE_LEN = 200
# Validation costs CPU per element, and 1 MiB holds ~19,500 tiny entries (1.5 s of CPU). Real
# referrals are far below this (the fixtures carry 9-31 entries); one filling the contract
# (every finding, 30 surgeries and blocks, 20 letters, 50 imaging studies each with a report
# and three findings, and their practitioners) is about 450. Counted on the raw JSON, before
# fhir.resources sees it.
MAX_BUNDLE_ENTRIES = 500


class FhirRejected(Exception):
    """The payload is not an R4 referral bundle intake can take; `detail` says why."""

    def __init__(
        self, status: int, title: str, detail: str, *, kind: str,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.kind = status, title, detail, kind
        self.errors = errors


def _unprocessable(detail: str, kind: str = "fhir-unsupported") -> FhirRejected:
    return FhirRejected(422, "Unsupported FHIR content", detail, kind=kind)


def fhir_path(loc: tuple[Any, ...] | list[Any], root: str = "Bundle") -> str:
    """('entry', 3, 'resource', 'code') -> 'Bundle.entry[3].resource.code'."""
    path = root
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def safe_errors(exc: ValidationError, root: str = "Bundle") -> list[dict[str, str]]:
    """Each error's path and message; messages that quote the input are blanked (privacy)."""
    errors = []
    for err in exc.errors(include_url=False):
        message, value = str(err["msg"]), err.get("input")
        if isinstance(value, str) and len(value) >= 3 and value in message:
            message = message.replace(value, "…")
        errors.append({"path": fhir_path(err["loc"], root), "message": message[:_SAFE_MESSAGE_LEN]})
    return errors


@dataclass
class Entry:
    index: int
    full_url: str | None
    resource: Any  # an R4B resource model
    path: str  # FHIR path of the resource, e.g. Bundle.entry[3].resource

    @property
    def type(self) -> str:
        return str(self.resource.get_resource_type())


@dataclass
class BundleIndex:
    bundle: Bundle
    entries: list[Entry]
    _by_ref: dict[str, Entry] = field(default_factory=dict)
    used: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        for entry in self.entries:
            if entry.full_url:
                self._by_ref.setdefault(entry.full_url, entry)
                tail = _type_id_tail(entry.full_url)
                if tail:
                    self._by_ref.setdefault(tail, entry)
            if entry.resource.id:
                self._by_ref.setdefault(f"{entry.type}/{entry.resource.id}", entry)
        self._by_ref.update(_contained(self.entries))

    def of_type(self, resource_type: str) -> list[Entry]:
        """Entries holding `resource_type`, in bundle order."""
        return [e for e in self.entries if e.type == resource_type]

    def use(self, entry: Entry) -> Entry:
        """Mark an entry as mapped (anything never used is reported as unmapped)."""
        self.used.add(entry.index)
        return entry

    def resolve(self, reference: Any, *types: str) -> Entry | None:
        """The bundle entry a Reference points at (of one of `types`, if given), marked used."""
        ref = getattr(reference, "reference", None)
        if not ref:
            return None
        entry = self._by_ref.get(ref) or self._by_ref.get(_type_id_tail(ref) or "")
        if entry is None or (types and entry.type not in types):
            return None
        return self.use(entry)

    def unused(self) -> list[Entry]:
        """Entries no mapper used."""
        return [e for e in self.entries if e.index not in self.used]


def _contained(entries: list[Entry]) -> dict[str, Entry]:
    """`#id` -> the contained resource, for ids that name one contained resource in the whole
    bundle. R4 resolves `#id` inside the referencing resource; without knowing which one refers,
    an id two containers share is left unresolved rather than guessed. Unresolved (before this,
    always), a contained Patient made a valid bundle 422 'Patient.birthDate missing' and a
    contained requester's name was not read. (A contained resource nothing refers to is not
    listed in `unmapped`: left as found.)"""
    found: dict[str, Entry | None] = {}
    for entry in entries:
        for j, inner in enumerate(getattr(entry.resource, "contained", None) or []):
            if inner.id:
                key = f"#{inner.id}"
                # Negative indices: a contained resource is never an entry of its own.
                found[key] = None if key in found else Entry(
                    -1 - len(found), None, inner, f"{entry.path}.contained[{j}]")
    return {key: entry for key, entry in found.items() if entry is not None}


def _type_id_tail(ref: str) -> str | None:
    """'http://x/fhir/Patient/12' or 'Patient/12' -> 'Patient/12' (None for urn:uuid, #id)."""
    parts = ref.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2][:1].isupper() and parts[-2].isalpha():
        return f"{parts[-2]}/{parts[-1]}"
    return None


def _named(resource_type: object) -> str:
    """A resource type fit to echo in a problem: known FHIR (or pre-R4) types only, never input
    that might be patient data."""
    name = str(resource_type)
    if name in PRE_R4_TYPES:
        return name
    try:
        get_fhir_model_class(name)
    except (ValueError, KeyError):
        return "an unknown resourceType"
    return name


def _entry_resources(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(path, resource) for the bundle's entries; each must name a known FHIR resource type."""
    entries = data.get("entry") or []
    if not isinstance(entries, list):
        raise _unprocessable("Bundle.entry must be a list")
    found = []
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if resource is None:
            continue
        rtype = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(rtype, str) or _named(rtype) != rtype:
            raise _unprocessable(f"Bundle.entry[{i}].resource has no known FHIR resourceType")
        found.append((f"Bundle.entry[{i}].resource", resource))
    return found


def _check_entry_count(data: dict[str, Any]) -> None:
    entries = data.get("entry")
    if isinstance(entries, list) and len(entries) > MAX_BUNDLE_ENTRIES:
        detail = (f"Bundle.entry holds {len(entries)} entries; at most {MAX_BUNDLE_ENTRIES} "
                  "are accepted in one referral")
        raise FhirRejected(413, "Too many entries", detail, kind="fhir-too-costly",
                           errors=[{"path": "Bundle.entry", "message": detail}])


def _check_version(resources: list[dict[str, Any]], content_type: str | None) -> None:
    declared = _FHIR_VERSION_PARAM.search(content_type or "")
    if declared and not declared.group(1).startswith("4.0"):
        raise FhirRejected(
            415, "Unsupported FHIR version",
            f"fhirVersion={declared.group(1)} declared; this endpoint accepts FHIR R4 (4.0.x)",
            kind="fhir-version",
        )
    for resource in resources:
        rtype = resource.get("resourceType")
        meta = resource.get("meta")
        profiles = meta.get("profile") if isinstance(meta, dict) else None
        stu3_profile = isinstance(profiles, list) and any(
            _PRE_R4_PROFILE.search(str(p)) for p in profiles
        )
        if (isinstance(rtype, str) and rtype in PRE_R4_TYPES) or stu3_profile:
            raise _unprocessable(
                f"{_named(rtype)} looks like FHIR STU3 (resource type or meta.profile); "
                "this endpoint accepts FHIR R4 Bundles only", kind="fhir-version",
            )


def _validated(data: dict[str, Any]) -> Bundle:
    try:
        return Bundle.model_validate(data)
    except ValidationError as exc:
        errors = safe_errors(exc)
        raise FhirRejected(
            422, "Invalid FHIR R4 Bundle", f"{len(errors)} element(s) violate FHIR R4",
            kind="fhir-invalid", errors=errors,
        ) from exc
    except (KeyError, TypeError, AttributeError) as exc:
        # fhir.resources raises these instead of a ValidationError for some malformed nested
        # resources (e.g. a contained resource with an unknown type): still the client's error.
        raise _unprocessable("a resource in the bundle cannot be read as FHIR R4") from exc


def load_bundle(raw: bytes, *, content_type: str | None = None) -> BundleIndex:
    """Parse and validate an R4 Bundle of type message, document, transaction or collection."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FhirRejected(
            400, "Malformed JSON", "the body is not valid JSON", kind="json"
        ) from exc
    except (RecursionError, ValueError) as exc:
        # The guard bounds depth and numbers first; this is the backstop should a body ever
        # reach here unchecked (too deep to parse, or past Python's int-conversion limit).
        raise FhirRejected(
            422, "Unreadable JSON",
            "the body nests too deeply or holds a number too long to read", kind="json",
        ) from exc
    if not isinstance(data, dict) or "resourceType" not in data:
        raise _unprocessable("the body is not a FHIR resource (no resourceType)")
    is_bundle = data["resourceType"] == "Bundle"
    if is_bundle:
        _check_entry_count(data)  # first: everything below walks the entries
    _check_version([data] + ([r for _, r in _entry_resources(data)] if is_bundle else []),
                   content_type)
    if not is_bundle:
        raise _unprocessable(
            f"expected a Bundle, got {_named(data['resourceType'])}: send the ServiceRequest "
            "inside a message, document, transaction or collection Bundle",
        )
    bundle_type = data.get("type") if isinstance(data.get("type"), str) else None
    if bundle_type not in ACCEPTED_TYPES:
        named = bundle_type if bundle_type in OTHER_BUNDLE_TYPES else "(missing/unknown)"
        raise _unprocessable(
            f"Bundle.type {named} is not accepted; use one of {', '.join(ACCEPTED_TYPES)}",
        )
    bundle = _validated(data)
    entries = [
        Entry(i, e.fullUrl, e.resource, f"Bundle.entry[{i}].resource")
        for i, e in enumerate(bundle.entry or []) if e.resource is not None
    ]
    _require_message_source(entries)
    _require_unique_full_urls(entries)
    return BundleIndex(bundle, entries)


def _require_unique_full_urls(entries: list[Entry]) -> None:
    """R4 bdl-7: a fullUrl names one resource in a Bundle (two versions of it at most, told
    apart by meta.versionId). fhir.resources does not check it, and references resolve to the
    first entry of a fullUrl: a second resource under it was read as the first one's (a Patient
    sharing the ServiceRequest's fullUrl was 422 'birthDate missing') or silently passed over
    (a second Practitioner under the requester's fullUrl). Refused, naming the entry."""
    seen: dict[str, set[str | None]] = {}
    errors = []
    for entry in entries:
        if not entry.full_url:
            continue
        meta = getattr(entry.resource, "meta", None)
        version = str(meta.versionId) if meta is not None and meta.versionId else None
        versions = seen.setdefault(entry.full_url, set())
        if versions and (version is None or version in versions or None in versions):
            errors.append({"path": f"Bundle.entry[{entry.index}].fullUrl",
                           "message": "fullUrl already used by an earlier entry (bdl-7)"})
        versions.add(version)
    if errors:
        raise FhirRejected(422, "Invalid FHIR R4 Bundle",
                           f"{len(errors)} element(s) violate FHIR R4", kind="fhir-invalid",
                           errors=errors)


def _require_message_source(entries: list[Entry]) -> None:
    """MessageHeader.source and its endpoint are 1..1 in R4, but fhir.resources lets a JSON null
    through. The endpoint names the sender, whose scope the referral's names live in: without
    it a message would be named as if the authenticated client had sent a bare bundle."""
    errors = [
        {"path": f"{e.path}.source" + (".endpoint" if e.resource.source is not None else ""),
         "message": "Field required"}
        for e in entries if e.type == "MessageHeader"
        and (e.resource.source is None or not e.resource.source.endpoint)
    ]
    if errors:
        raise FhirRejected(422, "Invalid FHIR R4 Bundle",
                           f"{len(errors)} element(s) violate FHIR R4", kind="fhir-invalid",
                           errors=errors)
