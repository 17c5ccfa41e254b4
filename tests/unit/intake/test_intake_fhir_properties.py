"""Property: however a valid spine bundle is mangled, intake maps it or refuses it with a
FhirRejected (a 4xx), never an unexpected exception (a 5xx)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.intake.fhir.bundle import FhirRejected, load_bundle
from services.intake.fhir.mapping import map_bundle
from tests.unit.intake.intake_builders import NOW

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "fhir"
BUNDLES = [json.loads(p.read_text()) for p in sorted(FIXTURES.glob("*.json"))
           if json.loads(p.read_text()).get("resourceType") == "Bundle"]
JUNK = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 500) | st.text(max_size=12)
    | st.sampled_from(["urn:uuid:00000000-0000-4000-8000-000000000003", "Patient/pat-1",
                       "2026-01-01", "final", "revoked", "update", "mri", "L4-L5"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    children = (node.items() if isinstance(node, dict)
                else enumerate(node) if isinstance(node, list) else [])
    for key, child in children:
        found += _paths(child, (*prefix, key))
    return found


@st.composite
def mangled_bundles(draw: st.DrawFn) -> dict[str, Any]:
    bundle = copy.deepcopy(draw(st.sampled_from(BUNDLES)))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(bundle)
        if not paths:  # every key deleted by an earlier step: nothing left to mangle
            break
        path = draw(st.sampled_from(paths))
        parent = bundle
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(JUNK)
    return bundle


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mangled_bundles())
def test_mangled_bundles_are_mapped_or_refused(bundle: dict[str, Any]) -> None:
    try:
        map_bundle(load_bundle(json.dumps(bundle).encode()), now=NOW)
    except FhirRejected as refused:
        assert 400 <= refused.status < 500
