"""YAML for the files people edit by hand (the lexicon, the rule table, the SLA policy).

PyYAML keeps the last of two equal keys and says nothing: a second `patterns:` under one concept
silently dropped the first list (found 2026-11-29, three concepts of the lexicon). Here a
repeated key is an error naming the key and its line.
"""

from __future__ import annotations

from typing import Any

import yaml


class DuplicateKeyError(ValueError):
    pass


class _UniqueKeyLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if key in seen:
                raise DuplicateKeyError(
                    f"key {key!r} repeated at line {key_node.start_mark.line + 1}")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_config_yaml(text: str) -> Any:
    """yaml.safe_load, refusing a key repeated within one mapping."""
    return yaml.load(text, Loader=_UniqueKeyLoader)
