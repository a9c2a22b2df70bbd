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

from grader.evaluate import evaluate_rows
from grader.rubric import Rubric, rubric_from_dict
from grader.scorer_set import ScorerSet
from grader.suggest import concept_table

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


def compare_on_samples(
    before: Rubric,
    after: Rubric,
    rows: Sequence[Mapping[str, str]],
    *,
    lines: Sequence[int] | None = None,
    score_col: str = "score",
    answer_col: str = "answer",
    others: Mapping[str, Rubric] | None = None,
) -> dict[str, Any]:
    """Agreement with human scores and the per-concept match table, before and after an edit.

    ``rows`` are graded answers of ONE question (cell dicts, e.g. from
    :func:`grader.evaluate.load_graded` filtered to a question and to the ``tune`` split);
    both rubrics score every row, each among ``others`` (the rest of its question set, as
    every front end scores it). Returns ``{"before": metrics, "after": metrics,
    "concepts": [...], "problems": [...]}`` where metrics are
    :func:`grader.evaluate.agreement` dicts and each concept row carries the
    :func:`grader.suggest.concept_table` rates of both versions (NaN where a concept
    exists in only one of them).
    """
    plain = [dict(r) for r in rows]
    reports = {
        name: evaluate_rows(
            ScorerSet({rubric.id: rubric}, context=others), plain, score_col=score_col, answer_col=answer_col,
            question_col=None, line_numbers=lines, top=0,
        )
        for name, rubric in (("before", before), ("after", after))
    }
    used = {r.line for r in reports["after"].rows}
    line_of = list(lines) if lines is not None else [i + 2 for i in range(len(plain))]
    kept = [row for row, line in zip(plain, line_of) if line in used]
    answers = [str(row.get(answer_col, "")) for row in kept]
    human = [r.human for r in reports["after"].rows]
    tables = {
        name: {c["concept_id"]: c for c in concept_table(rubric, answers, human, max_score=rubric.max_score)}
        for name, rubric in (("before", before), ("after", after))
    }
    nan = float("nan")
    concepts = []
    for cid in dict.fromkeys([*tables["before"], *tables["after"]]):
        b, a = tables["before"].get(cid, {}), tables["after"].get(cid, {})
        concepts.append(
            {
                "concept_id": cid,
                "label": (a or b)["label"],
                "high_rate_before": b.get("high_rate", nan),
                "high_rate_after": a.get("high_rate", nan),
                "low_rate_before": b.get("low_rate", nan),
                "low_rate_after": a.get("low_rate", nan),
                "lift_before": b.get("lift", nan),
                "lift_after": a.get("lift", nan),
            }
        )
    return {
        "before": reports["before"].overall,
        "after": reports["after"].overall,
        "concepts": concepts,
        "problems": list(reports["after"].problems),
    }
