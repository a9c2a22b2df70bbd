"""Rubric <-> editable tables (one row per concept or misconception), for the rubric studio.

Phrase lists become one cell of phrases separated by ``;``. Turning tables back into a
rubric validates everything through :func:`grader.rubric.rubric_from_dict`, so an edit
that breaks the schema raises :class:`~grader.errors.RubricError` naming the field
(``concepts[2].weight``) instead of producing a broken rubric.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from grader.rubric import Rubric, rubric_from_dict

CONCEPT_COLUMNS = ("id", "label", "hint", "weight", "required", "terms", "synonyms")
MISCONCEPTION_COLUMNS = ("id", "phrases", "penalty", "feedback")
_SPLIT = re.compile(r"[;\n]")


def join_phrases(phrases: Sequence[str]) -> str:
    """Phrases as one cell.

    >>> join_phrases(["secret speech", "1956"])
    'secret speech; 1956'
    """
    return "; ".join(phrases)


def split_phrases(cell: Any) -> list[str]:
    """A cell of phrases separated by ``;`` or new lines, trimmed, empties dropped, order kept.

    >>> split_phrases(" secret speech;1956 ; ; "), split_phrases(None)
    (['secret speech', '1956'], [])
    """
    if _blank(cell):
        return []
    return [p.strip() for p in _SPLIT.split(str(cell)) if p.strip()]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    return "" if _blank(value) else str(value).strip()


def concept_rows(rubric: Rubric) -> list[dict[str, Any]]:
    """One dict per concept with the columns of :data:`CONCEPT_COLUMNS`."""
    return [
        {
            "id": c.id,
            "label": c.label,
            "hint": c.hint,
            "weight": c.weight,
            "required": c.required,
            "terms": join_phrases(c.terms),
            "synonyms": join_phrases(c.synonyms),
        }
        for c in rubric.concepts
    ]


def misconception_rows(rubric: Rubric) -> list[dict[str, Any]]:
    """One dict per misconception with the columns of :data:`MISCONCEPTION_COLUMNS`."""
    return [
        {"id": m.id, "phrases": join_phrases(m.phrases), "penalty": m.penalty, "feedback": m.feedback}
        for m in rubric.misconceptions
    ]


def rubric_from_tables(
    base: Rubric,
    concepts: Sequence[Mapping[str, Any]],
    misconceptions: Sequence[Mapping[str, Any]],
    *,
    source: str = "<studio>",
    **changes: Any,
) -> Rubric:
    """A new rubric: ``base`` with its concepts and misconceptions replaced by the table rows.

    Rows whose every cell is blank are ignored (an editor's empty new row). ``changes``
    overrides top-level fields (``question``, ``model_answer``, ``max_score`` ...). ``base``
    is never modified.

    >>> from grader.rubric import rubric_from_dict
    >>> r = rubric_from_dict({"id": "x", "question": "Q?", "model_answer": "A.",
    ...     "concepts": [{"id": "c", "label": "C", "terms": ["gulag"]}]})
    >>> rows = concept_rows(r); rows[0]["synonyms"] = "labour camps; camps"
    >>> rubric_from_tables(r, rows, []).concepts[0].synonyms
    ['labour camps', 'camps']
    """
    data = base.model_dump(mode="python")
    data["concepts"] = [_concept(row) for row in concepts if not all(_blank(v) for v in row.values())]
    data["misconceptions"] = [_misconception(row) for row in misconceptions if not all(_blank(v) for v in row.values())]
    data.update(changes)
    return rubric_from_dict(data, source=source)


def _number(value: Any, default: float) -> Any:
    return default if _blank(value) else value


def _concept(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": _text(row.get("id")),
        "label": _text(row.get("label")),
        "hint": _text(row.get("hint")),
        "weight": _number(row.get("weight"), 1.0),
        "required": bool(row.get("required")) if not _blank(row.get("required")) else False,
        "terms": split_phrases(row.get("terms")),
        "synonyms": split_phrases(row.get("synonyms")),
    }


def _misconception(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": _text(row.get("id")),
        "phrases": split_phrases(row.get("phrases")),
        "penalty": _number(row.get("penalty"), 0.2),
        "feedback": _text(row.get("feedback")),
    }
