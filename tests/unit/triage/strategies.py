"""Hypothesis strategies for valid referrals, derived from the pydantic contract's annotations."""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Le
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from schemas.referral import (
    Comorbidities,
    ImagingFindings,
    NeuroExam,
    Procedure,
    RedFlags,
    Referral,
    StartBack,
    Symptoms,
    Timeline,
    Waddell,
)

Strategy = st.SearchStrategy[Any]


def _bounds(metadata: list[Any]) -> tuple[float, float]:
    low = next((m.ge for m in metadata if isinstance(m, Ge)), 0)
    high = next((m.le for m in metadata if isinstance(m, Le)), 1000)
    return low, high


def for_annotation(annotation: Any, metadata: list[Any]) -> Strategy:
    """A strategy for one field annotation, honouring ge/le bounds."""
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *extra = get_args(annotation)
        nested = [m for e in extra for m in (e.metadata if isinstance(e, FieldInfo) else [e])]
        return for_annotation(inner, metadata + nested)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        return st.none() | st.one_of([for_annotation(a, metadata) for a in options])
    if origin is Literal:
        return st.sampled_from(get_args(annotation))
    if origin is list:
        (item,) = get_args(annotation)
        return st.lists(st.sampled_from(get_args(item)), unique=True, max_size=3)
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        low, high = _bounds(metadata)
        return st.integers(int(low), int(high))
    if annotation is float:
        low, high = _bounds(metadata)
        return st.floats(low, high, allow_nan=False)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return model_dict(annotation)
    return st.none()  # free-text ids are irrelevant to triage


def model_dict(model: type[BaseModel]) -> Strategy:
    """Dicts for a model with every defaulted field optional, so sections may be left out."""
    return st.fixed_dictionaries(
        {},
        optional={
            name: for_annotation(field.annotation, list(field.metadata))
            for name, field in model.model_fields.items()
        },
    )


sections = st.lists(st.none() | st.integers(0, 5), min_size=10, max_size=10)
instruments = st.fixed_dictionaries({}, optional={
    "start_back": model_dict(StartBack).map(
        lambda d: {"q9_bothersomeness": "slightly", **d}),
    "odi_sections": sections, "ndi_sections": sections,
    "waddell": model_dict(Waddell), "dn4": st.integers(0, 10),
})
surgery = st.fixed_dictionaries({
    "procedure": st.sampled_from(get_args(Procedure)),
    "weeks_before_referral": st.floats(0, 600, allow_nan=False),
    "instrumented": st.booleans(),
})
imaging_study = st.fixed_dictionaries({
    "modality": st.sampled_from(["mri", "mri_contrast", "ct", "xray_flexion_extension"]),
    "weeks_ago": st.none() | st.floats(0, 100, allow_nan=False),
    "findings": model_dict(ImagingFindings),
}, optional={"report_text": st.sampled_from(
    ["Possible recurrence.", "No evidence of abscess.", "Scar versus disc.", "Solid fusion."])})
block = st.fixed_dictionaries({"type": st.sampled_from(["medial_branch", "sij", "snrb"]),
                               "relief_pct": st.integers(0, 100)})


@st.composite
def referrals(draw: st.DrawFn) -> Referral:
    """Valid referrals covering every clinical field the engine reads."""
    data: dict[str, Any] = {
        "referral_id": "prop",
        "referral_type": draw(st.sampled_from(["post_surgery", "pre_surgery"])),
        "region": draw(st.sampled_from(["lumbar", "cervical", "thoracic"])),
        "age": draw(st.integers(18, 100)),
        "sex": "X",
        "surgeries": draw(st.lists(surgery, max_size=2)),
        "imaging": draw(st.lists(imaging_study, max_size=2)),
        "diagnostic_blocks": draw(st.lists(block, max_size=2)),
    }
    optional = {
        "comorbidities": model_dict(Comorbidities), "symptoms": model_dict(Symptoms),
        "timeline": model_dict(Timeline), "neuro_exam": model_dict(NeuroExam),
        "red_flags": model_dict(RedFlags), "instruments": instruments,
        "proposed_surgery": st.fixed_dictionaries(
            {"procedure": st.sampled_from(["microdiscectomy", "L4-5 TLIF"])},
            optional={"days_until_scheduled": st.integers(0, 60)}),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            data[name] = draw(strategy)
    return Referral.model_validate(data)
