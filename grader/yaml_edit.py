"""Write an edited rubric back into its YAML file without losing the teacher's comments.

PyYAML (used to read rubrics) drops comments; ruamel.yaml's round-trip mode keeps comments,
key order, block scalars and quoting. The edited rubric's values are merged into the parsed
original: keys that still exist keep their place and comments, list items that carry an
``id`` (concepts, misconceptions) are matched by id, new keys are written only when they
differ from the schema default (a hand-written file stays short). If the merged text does
not read back as exactly the edited rubric, the plain dump of :func:`rubric_to_yaml` is used.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from grader.errors import GraderError
from grader.rubric import Rubric, rubric_from_yaml, rubric_to_yaml

_MISSING = object()


def _round_trip() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap the teacher's long lines
    yaml.indent(mapping=2, sequence=2, offset=0)
    return yaml


def _merge(old: Any, full: Any, slim: Any) -> Any:
    """``full`` (every field) merged into ``old`` (parsed YAML); ``slim`` is ``full`` without defaults."""
    if isinstance(old, CommentedMap) and isinstance(full, dict):
        for key in [k for k in old if k not in full]:
            del old[key]
        for key, value in full.items():
            part = slim.get(key, _MISSING) if isinstance(slim, dict) else _MISSING
            if key in old:
                old[key] = _merge(old[key], value, part)
            elif part is not _MISSING:
                old[key] = part
        return old
    if isinstance(old, CommentedSeq) and isinstance(full, list):
        slim_items = slim if isinstance(slim, list) and len(slim) == len(full) else full
        by_id = {}
        if all(isinstance(x, dict) and "id" in x for x in full) and all(isinstance(x, CommentedMap) for x in old):
            by_id = {x.get("id"): x for x in old}
        merged = []
        for i, (value, part) in enumerate(zip(full, slim_items)):
            if by_id:
                match = by_id.get(value["id"], _MISSING)
            else:
                match = old[i] if i < len(old) else _MISSING
            merged.append(part if match is _MISSING else _merge(match, value, part))
        for i, value in enumerate(merged):  # in place: comments are attached to positions
            if i < len(old):
                if old[i] is not value:
                    old[i] = value
            else:
                old.append(value)
        while len(old) > len(merged):
            del old[len(old) - 1]
        return old
    if old == full:
        return old  # same value: keep its quoting, block style and number format
    return full


def update_yaml(original: str, rubric: Rubric) -> str:
    """YAML text of ``rubric`` that keeps the comments and layout of ``original`` where it can.

    >>> from grader.rubric import rubric_from_yaml
    >>> text = "# my notes\\nid: x  # the id\\nquestion: Q?\\nmodel_answer: A.\\nconcepts:\\n- id: c  # first\\n  label: C\\n  terms: [gulag]\\n"
    >>> r = rubric_from_yaml(text).model_copy(update={"title": "New"})
    >>> out = update_yaml(text, r)
    >>> "# my notes" in out and "# the id" in out and "# first" in out and "title: New" in out
    True
    >>> "hint:" in out  # defaults the file left out stay out
    False
    """
    yaml = _round_trip()
    try:
        doc = yaml.load(original)
    except YAMLError:
        return rubric_to_yaml(rubric)
    if not isinstance(doc, CommentedMap):
        return rubric_to_yaml(rubric)
    full = rubric.model_dump(mode="json", exclude_none=True)
    slim = rubric.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    _merge(doc, full, slim)
    buf = io.StringIO()
    yaml.dump(doc, buf)
    text = buf.getvalue()
    try:
        same = rubric_from_yaml(text) == rubric
    except GraderError:
        same = False
    return text if same else rubric_to_yaml(rubric)
