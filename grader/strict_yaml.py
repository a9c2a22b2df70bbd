"""Strict YAML for rubrics: what ``yaml.safe_load`` accepts silently becomes a located error.

Refused, each with the line it is on: a key given twice in one mapping (the second would
win), anchors and aliases (a few lines can expand into a huge document), nesting deeper
than :data:`MAX_DEPTH`, numbers that are not finite (``.inf``, ``.nan``), YAML 1.1
base-60 numbers (``1:30`` would be read as 90) and integers of more than
:data:`MAX_INT_DIGITS` digits. Errors are :class:`yaml.YAMLError` with a ``problem_mark``,
like PyYAML's own.
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode

MAX_DEPTH = 32
"""Deepest nesting of mappings and lists (a rubric needs 5)."""
MAX_INT_DIGITS = 15


class StrictLoader(yaml.SafeLoader):
    """:class:`yaml.SafeLoader` with the refusals listed in the module docstring."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:  # type: ignore[override]
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise ConstructorError(None, None, "anchors and aliases (& and *) are not allowed in a rubric", event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise ConstructorError(None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:  # type: ignore[override]
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep) if isinstance(key_node, ScalarNode) else None
            if key is not None and key in seen:
                raise ConstructorError(None, None, f"duplicate key {key!r} (each key may appear once)", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: ScalarNode) -> int:
        text = str(self.construct_scalar(node))
        if ":" in text:
            raise ConstructorError(None, None, f"{text!r} is a base-60 number in YAML 1.1; quote it or write the number", node.start_mark)
        if sum(ch.isdigit() for ch in text) > MAX_INT_DIGITS:
            raise ConstructorError(None, None, f"integer with more than {MAX_INT_DIGITS} digits", node.start_mark)
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node: ScalarNode) -> float:
        text = str(self.construct_scalar(node))
        if ":" in text:
            raise ConstructorError(None, None, f"{text!r} is a base-60 number in YAML 1.1; quote it or write the number", node.start_mark)
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise ConstructorError(None, None, f"{text!r} is not a finite number", node.start_mark)
        return value


StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_yaml_int)
StrictLoader.add_constructor("tag:yaml.org,2002:float", StrictLoader.construct_yaml_float)
StrictLoader.add_constructor("tag:yaml.org,2002:map", StrictLoader.construct_yaml_map)


def load(text: str) -> Any:
    """Parse one YAML document strictly.

    >>> load("max_score: 10\\nweight: 1.5")
    {'max_score': 10, 'weight': 1.5}
    >>> try:
    ...     load("max_score: 1:30")
    ... except yaml.YAMLError as exc:
    ...     print(exc.problem, "- line", exc.problem_mark.line + 1)
    '1:30' is a base-60 number in YAML 1.1; quote it or write the number - line 1
    """
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
