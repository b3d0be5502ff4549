"""YAML loading that refuses a key written twice in one mapping, which PyYAML would silently resolve to the last."""

from __future__ import annotations

from typing import Any

import yaml

_MERGE_TAG = "tag:yaml.org,2002:merge"


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """The same key twice in one mapping; `line` is the second one (1-based), `first_line` the first."""

    def __init__(self, key: Any, first_line: int, node: yaml.Node) -> None:
        self.key = key
        self.first_line = first_line
        self.line = node.start_mark.line + 1
        super().__init__(None, None, f"key {key!r} appears twice (first at line {first_line})", node.start_mark)


def refuse_duplicate_keys(loader: yaml.constructor.BaseConstructor, node: yaml.MappingNode) -> None:
    """Raise DuplicateKeyError for the second occurrence of a key in `node` (merged `<<` keys may be overridden)."""
    first_lines: dict[Any, int] = {}
    for key_node, _value in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
            continue
        key = loader.construct_object(key_node, deep=True)
        if key in first_lines:
            raise DuplicateKeyError(key, first_lines[key], key_node)
        first_lines[key] = key_node.start_mark.line + 1


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader whose mappings refuse duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            refuse_duplicate_keys(self, node)
        return super().construct_mapping(node, deep=deep)
