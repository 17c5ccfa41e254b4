"""Small readers for FHIR datatypes: codes, observation values, dates, directory ids."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from services.intake.fhir.attachments import ReadBudget
from services.intake.fhir.attachments import attachment_text as read_attachment
from services.intake.fhir.profile import DIRECTORY_ID_SYSTEM, VALUE_SYSTEM


def code_in(concept: Any, *systems: str) -> str | None:
    """The first code of a CodeableConcept (or Coding list) from one of `systems`."""
    codings = getattr(concept, "coding", None) if concept is not None else None
    if codings is None and isinstance(concept, list):
        codings = concept
    for coding in codings or []:
        if coding.system in systems and coding.code:
            return str(coding.code)
    return None


def describe_code(concept: Any) -> str:
    """`system|code` of the first coding, for unmapped reports (never the free text)."""
    for coding in getattr(concept, "coding", None) or []:
        return f"{coding.system}|{coding.code}"
    return "(no coding)"


def label(concept: Any) -> str | None:
    """Human label of a CodeableConcept: text, else the first display, else the first code."""
    if concept is None:
        return None
    if concept.text:
        return str(concept.text).strip()
    for coding in concept.coding or []:
        if coding.display or coding.code:
            return str(coding.display or coding.code).strip()
    return None


def _number(value: Decimal | float | int) -> float | int:
    number = float(value)
    return int(number) if number.is_integer() else number


def element_values(element: Any) -> list[Any]:
    """The value(s) of an Observation, component or answer: bools, numbers, codes or text."""
    for attr in ("valueBoolean", "valueInteger"):
        value = getattr(element, attr, None)
        if value is not None:
            return [value]
    quantity = getattr(element, "valueQuantity", None)
    if quantity is not None and quantity.value is not None:
        return [_number(quantity.value)]
    concept = getattr(element, "valueCodeableConcept", None)
    if concept is not None:
        codes = [
            c.code for c in concept.coding or [] if c.code and c.system in (VALUE_SYSTEM, None)
        ]
        return codes or ([concept.text] if concept.text else [])
    coding = getattr(element, "valueCoding", None)
    if coding is not None and coding.code:
        return [coding.code]
    text = getattr(element, "valueString", None)
    return [text] if text is not None else []


def as_date(value: date | datetime | str | None) -> date | None:
    """A date from a FHIR date/dateTime (partial dates such as '2024' resolve to their start)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    parts = [int(p) for p in str(value)[:10].split("-")]
    return date(*([*parts, 1, 1])[:3])


def referral_day(value: date | datetime | str | None, received: date) -> date:
    """The day a referral was written, from ServiceRequest.authoredOn. A partial one ("2026",
    "2026-03", valid R4) is the day received if that falls in its period, else the period's
    nearest end: read from its start, every study and surgery after 1 January looked like the
    future (a 422 on `imaging.weeks_ago` for a referral R4 allows). A full date is itself;
    without one, the day received."""
    first = as_date(value)
    if first is None or not isinstance(value, str):
        return first or received
    year, *month = (int(p) for p in value[:10].split("-"))
    if not month or month[0] == 12:
        last = date(year, 12, 31)
    else:
        last = date(year, month[0] + 1, 1) - timedelta(days=1)
    return max(first, min(last, received))


def age_on(born: str, day: date) -> int:
    """Completed years on `day` of someone born on a FHIR date, full or partial ("1975",
    "1975-06"). A partial date counts from the start of its period, as `as_date` reads one, so
    an age the date leaves open is the older of the two: the safer side of triage's age
    thresholds (e.g. fracture risk from 65). Plain arithmetic, no `date()`, so no valid R4 date
    (year 0001 to 9999) can raise; an age the contract refuses is a 422 naming the birthDate."""
    year, month, dom = ([int(part) for part in born[:10].split("-")] + [1, 1])[:3]
    return day.year - year - ((day.month, day.day) < (month, dom))


def weeks_between(earlier: date, later: date) -> float:
    """Whole-day difference in weeks, to one decimal (how the JSON contract states weeks)."""
    return round((later - earlier).days / 7, 1)


def directory_id(resource: Any) -> str | None:
    """The id routing's directory knows this practitioner or organisation by."""
    for identifier in getattr(resource, "identifier", None) or []:
        if identifier.system == DIRECTORY_ID_SYSTEM and identifier.value:
            return str(identifier.value)
    return None


def attachment_text(attachment: Any, *, budget: ReadBudget | None = None) -> str | None:
    """Text of an inline text/plain, text/html or PDF Attachment (bounded; see attachments)."""
    return read_attachment(attachment, budget=budget).text


def extension_values(resource: Any, url: str) -> list[Any]:
    """Values of a resource's extensions with `url` (valueString/valueCode/valueBoolean...)."""
    values = []
    for ext in getattr(resource, "extension", None) or []:
        if ext.url == url:
            for attr in ("valueString", "valueCode", "valueBoolean", "valueInteger"):
                value = getattr(ext, attr, None)
                if value is not None:
                    values.append(value)
                    break
    return values
