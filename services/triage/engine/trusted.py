"""Build output models from values the engine computed itself, without re-validating them."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

ModelT = TypeVar("ModelT", bound=BaseModel)
_new = object.__new__  # contracts define no __new__; the lookup through the model costs
_set = object.__setattr__


def trusted(model: type[ModelT], /, **values: Any) -> ModelT:
    """An instance holding `values`: every field, in declaration order, of its declared type."""
    # What BaseModel.model_construct does, minus its per-field alias and default lookups, which
    # made it slower than validating (1.6 vs 1.0 us a model): this is the triage hot path.
    # Order matters: JSON follows the order of __dict__. Callers pass every field in declaration
    # order; tests/unit/triage/test_triage_golden.py re-validates each result and fails on a
    # missing field, a field out of order or a value the contract would reject.
    instance = _new(model)
    _set(instance, "__dict__", values)
    _set(instance, "__pydantic_fields_set__", set(values))
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance
