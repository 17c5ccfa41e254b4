"""The Referral being assembled from a bundle: values by dotted path, where each came from, and
everything the mappers could not use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.intake.fhir.bundle import Entry

# Elements that never carry referral content: bookkeeping, narrative and the subject link.
IGNORED_ELEMENTS = frozenset({
    "resourceType", "id", "meta", "text", "implicitRules", "language", "subject", "patient",
    "encounter", "status",
})


# The unmapped report names paths and fixed reasons, never values (F11), and is capped so it can
# never push a referral past Kafka's message size (F8).
MAX_UNMAPPED_LINES = 100
MAX_UNMAPPED_CHARS = 200


def capped_report(lines: list[str]) -> list[str]:
    """At most MAX_UNMAPPED_LINES lines of at most MAX_UNMAPPED_CHARS, then a count."""
    kept = [line[:MAX_UNMAPPED_CHARS] for line in lines[:MAX_UNMAPPED_LINES]]
    if len(lines) > MAX_UNMAPPED_LINES:
        kept.append(f"... and {len(lines) - MAX_UNMAPPED_LINES} more unmapped elements")
    return kept


@dataclass
class Draft:
    data: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # referral path -> FHIR path
    unmapped: list[str] = field(default_factory=list)

    def get(self, path: str) -> Any:
        """The value at a dotted path, or None."""
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def put(self, path: str, value: Any, source: str) -> None:
        """Set a value (None sets nothing); a second value for a field is reported, not applied."""
        if value is None:
            return
        if path in self.sources:
            self.unmapped.append(f"{source} (duplicate {path}; {self.sources[path]} kept)")
            return
        *parents, leaf = path.split(".")
        node = self.data
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
        self.sources[path] = source

    def extend(self, path: str, values: list[Any], source: str) -> None:
        """Append to a list field (symptoms.character, surgeries, imaging...)."""
        current = self.get(path)
        if current is None:
            self.put(path, [], source)
            current = self.get(path)
        for value in values:
            self.sources.setdefault(f"{path}.{len(current)}", source)
            current.append(value)

    def unmap(self, source: str, why: str) -> None:
        """Record content that was not mapped, with the reason."""
        self.unmapped.append(f"{source} ({why})")

    def leftover(self, entry: Entry, consumed: set[str]) -> None:
        """Report the resource's elements that no mapper consumed."""
        present = {
            (info.alias or name).lstrip("_")
            for name, info in type(entry.resource).model_fields.items()
            if name in entry.resource.model_fields_set
        }
        for element in sorted(present - consumed - IGNORED_ELEMENTS):
            self.unmapped.append(f"{entry.path}.{element}")

    def source_of(self, referral_path: str) -> str | None:
        """The FHIR path that supplied a referral field (or its nearest parent)."""
        parts = referral_path.split(".")
        while parts:
            found = self.sources.get(".".join(parts))
            if found:
                return found
            parts.pop()
        return None
