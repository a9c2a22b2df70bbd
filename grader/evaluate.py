"""Agreement between the scorer and human graders: metrics, per-question reports, disagreements.

``agreement`` is the metric function (shape ``metric(y_true, y_pred, *, ...)``, built on
``scipy.stats`` and ``sklearn.metrics``); ``evaluate_rows`` scores a table of graded
answers with their rubrics and reports agreement per question and overall, a confusion
table and the answers on which the scorer and the human disagree most.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats
from sklearn.metrics import cohen_kappa_score, confusion_matrix, mean_absolute_error, root_mean_squared_error

from grader.errors import InputError
from grader.rubric import Rubric
from grader.scorer_set import ScorerSet
from grader.tabular import BadRow, read_rows

TUNE_SPLIT = "tune"
"""The ``split`` value of the graded answers that rubrics may be tuned on (the rest stay unseen)."""
POOLED_MAX_SCORE = 10.0
"""Scores of rubrics with different max scores are rescaled to 0..10 before they are pooled."""
METRICS = ("pearson", "spearman", "rmse", "mae", "qwk", "exact", "adjacent", "n")
"""Keys of every agreement dict, in display order."""


def round_points(values: Any) -> np.ndarray:
    """Round scores half up to whole points (``np.round`` would round 2.5 to 2).

    >>> round_points([0.5, 1.5, 2.49, 7.5]).tolist()
    [1, 2, 2, 8]
    """
    return np.floor(np.asarray(values, dtype=float) + 0.5 + 1e-9).astype(int)


def correlation(kind: str, a: np.ndarray, b: np.ndarray) -> float:
    """Pearson or Spearman r (``kind``); NaN when fewer than two values or either side is constant.

    >>> correlation("pearson", np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 7.0])) > 0.99, correlation("pearson", np.ones(3), np.arange(3))
    (True, nan)
    """
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    result = stats.pearsonr(a, b) if kind == "pearson" else stats.spearmanr(a, b)
    return float(result[0])


def quadratic_kappa(y_true: Any, y_pred: Any, *, max_score: float) -> float:
    """Quadratic weighted kappa on scores rounded half up to whole points 0..max_score.

    NaN when undefined (no answers, or both sides give every answer the same point).

    >>> quadratic_kappa([0, 1, 2], [0, 1, 2], max_score=2)
    1.0
    """
    t, p = round_points(y_true), round_points(y_pred)
    if len(t) == 0:
        return math.nan
    labels = list(range(0, max(int(round_points([max_score])[0]), int(t.max()), int(p.max())) + 1))
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        value = cohen_kappa_score(t, p, labels=labels, weights="quadratic")
    return float(value) if np.isfinite(value) else math.nan


def agreement(y_true: Any, y_pred: Any, *, max_score: float) -> dict[str, float]:
    """Agreement between human scores ``y_true`` and automatic scores ``y_pred``.

    Returns a dict with keys ``pearson``, ``spearman`` (correlations, NaN if either side is
    constant or n < 2), ``rmse``, ``mae`` (in score points), ``qwk`` (quadratic weighted
    kappa on both scores rounded half up to whole points 0..max_score), ``exact`` (share
    of answers whose two scores round to the same whole point), ``adjacent`` (share whose
    rounded scores differ by at most one point) and ``n`` (number of answers). Every value
    is NaN when there are no answers (``n`` is then 0).

    Examples
    --------
    >>> m = agreement([0, 5, 10], [1, 5, 8], max_score=10)
    >>> m["mae"], m["exact"], round(m["adjacent"], 3)
    (1.0, 0.3333333333333333, 0.667)
    """
    t = np.asarray(y_true, dtype=float).ravel()
    p = np.asarray(y_pred, dtype=float).ravel()
    if t.shape != p.shape:
        raise ValueError(f"`y_true` and `y_pred` must have the same length. Got {len(t)} and {len(p)}")
    if not max_score > 0:
        raise ValueError(f"`max_score` must be > 0. Got {max_score}")
    n = len(t)
    if n == 0:
        return {k: (0.0 if k == "n" else math.nan) for k in METRICS}
    diff = np.abs(round_points(t) - round_points(p))
    return {
        "pearson": correlation("pearson", t, p),
        "spearman": correlation("spearman", t, p),
        "rmse": float(root_mean_squared_error(t, p)),
        "mae": float(mean_absolute_error(t, p)),
        "qwk": quadratic_kappa(t, p, max_score=max_score),
        "exact": float(np.mean(diff == 0)),
        "adjacent": float(np.mean(diff <= 1)),
        "n": float(n),
    }


def confusion_table(y_true: Any, y_pred: Any, *, max_score: float) -> tuple[list[int], list[list[int]]]:
    """(labels, counts): ``counts[i][j]`` answers with human point ``labels[i]`` and auto point ``labels[j]``.

    Both scores are rounded half up to whole points; labels run 0..max_score.

    >>> confusion_table([0, 1, 1], [0, 0, 1], max_score=1)
    ([0, 1], [[1, 0], [1, 1]])
    """
    t, p = round_points(y_true), round_points(y_pred)
    top = int(round_points([max_score])[0])
    if len(t):
        top = max(top, int(t.max()), int(p.max()))
    labels = list(range(0, top + 1))
    return labels, confusion_matrix(t, p, labels=labels).tolist() if len(t) else [[0] * len(labels) for _ in labels]


@dataclass(frozen=True)
class ScoredRow:
    """One graded answer with its automatic score (``auto`` is None if it could not be scored)."""

    line: int
    question_id: str
    answer_id: str
    answer: str
    human: float
    auto: float
    max_score: float

    @property
    def difference(self) -> float:
        """Automatic minus human score, in points."""
        return self.auto - self.human


@dataclass
class EvaluationReport:
    """Agreement per question and overall, a confusion table and the largest disagreements.

    ``overall`` pools every scored row. When the rubrics' max scores differ, pooled scores
    are rescaled to ``overall_max_score`` = :data:`POOLED_MAX_SCORE` first (the per-question
    figures never are).
    """

    per_question: dict[str, dict[str, float]]
    overall: dict[str, float]
    overall_max_score: float
    confusion_labels: list[int]
    confusion: list[list[int]]
    disagreements: list[ScoredRow]
    rows: list[ScoredRow]
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN becomes None)."""

        def row(r: ScoredRow) -> dict[str, Any]:
            return {
                "line": r.line,
                "question_id": r.question_id,
                "answer_id": r.answer_id,
                "human": r.human,
                "auto": r.auto,
                "difference": round(r.difference, 4),
                "answer": r.answer,
            }

        return {
            "overall": metrics_json(self.overall),
            "overall_max_score": self.overall_max_score,
            "per_question": {q: metrics_json(m) for q, m in self.per_question.items()},
            "confusion": {"labels": self.confusion_labels, "counts": self.confusion},
            "disagreements": [row(r) for r in self.disagreements],
            "rows": [row(r) for r in self.rows],
            "problems": list(self.problems),
        }


def _get(row: dict[str, str], column: str) -> str | None:
    """Value of ``column`` in ``row``, matching the name case- and space-insensitively."""
    if column in row:
        return row[column]
    key = column.strip().lower()
    for name, value in row.items():
        if name.strip().lower() == key:
            return value
    return None


@dataclass(frozen=True)
class GradedAnswer:
    """One usable row of a graded table."""

    line: int
    question_id: str
    answer_id: str
    answer: str
    human: float


def parse_graded_rows(
    rubrics: Mapping[str, Rubric],
    rows: Sequence[dict[str, str]],
    *,
    score_col: str = "score",
    answer_col: str = "answer",
    question_col: str | None = "question_id",
    id_col: str = "answer_id",
    line_numbers: Sequence[int] | None = None,
) -> tuple[list[GradedAnswer], list[str]]:
    """(usable answers, problems): rows with an unknown question, an empty answer, or a score
    that is not a number in 0..max_score are described in ``problems`` ("line N: ...").

    With a single rubric, rows without a question id use it; with ``question_col=None``
    every row does (the rows answer that rubric's question, whatever their columns say).

    >>> from grader.rubric import rubric_from_dict
    >>> r = rubric_from_dict({"id": "q", "question": "Q?", "model_answer": "A b c.",
    ...     "concepts": [{"id": "c", "label": "C", "terms": ["b"]}]})
    >>> ok, bad = parse_graded_rows({"q": r}, [{"answer": "b", "score": "3"}, {"answer": "b", "score": "x"}])
    >>> ok[0].human, bad
    (3.0, ["line 3: score 'x' is not a number"])
    """
    lines = list(line_numbers) if line_numbers is not None else [i + 2 for i in range(len(rows))]
    single = next(iter(rubrics)) if len(rubrics) == 1 else None
    if question_col is None and single is None:
        raise ValueError(f"`question_col=None` needs exactly one rubric. Got {len(rubrics)}")
    problems: list[str] = []
    usable: list[GradedAnswer] = []
    for line, row in zip(lines, rows):
        if not row:
            problems.append(f"line {line}: cannot parse this CSV row")
            continue
        qid = (_get(row, question_col) or "").strip() if question_col is not None else single
        if qid not in rubrics:
            if single is not None and not qid:
                qid = single
            else:
                problems.append(f"line {line}: unknown question {qid!r}" if qid else f"line {line}: no question id")
                continue
        answer = _get(row, answer_col) or ""
        if not answer.strip():
            problems.append(f"line {line}: empty answer")
            continue
        raw_score = (_get(row, score_col) or "").strip()
        try:
            human = float(raw_score)
        except ValueError:
            problems.append(f"line {line}: {score_col} {raw_score!r} is not a number")
            continue
        max_score = rubrics[qid].max_score
        if not (0 <= human <= max_score):
            problems.append(f"line {line}: {score_col} {human:g} is outside 0..{max_score:g}")
            continue
        answer_id = (_get(row, id_col) or "").strip() or f"line-{line}"
        usable.append(GradedAnswer(line, qid, answer_id, answer, human))
    return usable, problems


def evaluate_rows(
    rubrics: Mapping[str, Rubric] | ScorerSet,
    rows: Sequence[dict[str, str]],
    *,
    score_col: str = "score",
    answer_col: str = "answer",
    question_col: str | None = "question_id",
    id_col: str = "answer_id",
    line_numbers: Sequence[int] | None = None,
    top: int = 10,
    learned: dict[str, Any] | None = None,
) -> EvaluationReport:
    """Score graded answers with their rubrics and measure agreement with the human scores.

    Parameters
    ----------
    rubrics : ScorerSet or dict of Rubric
        The scorer set (or rubrics by id, scored as one question set). With a single
        rubric, rows without a question column use it.
    rows : sequence of dict
        Graded answers (column name -> cell text), e.g. from :func:`load_graded`.
    score_col, answer_col, question_col, id_col : str
        Column names (case-insensitive). ``id_col`` is optional in the rows;
        ``question_col=None`` scores every row with the set's only rubric.
    line_numbers : sequence of int, optional
        File line of each row, used in problem messages (default: row index + 2).
    top : int
        How many of the largest disagreements to keep.
    learned : dict, optional
        Learned data by rubric id (:func:`grader.learned.load_learned_all`): those rubrics
        score as ``grader batch`` does with it.

    Rows that cannot be used (see :func:`parse_graded_rows`) are skipped and described in
    ``problems``; the rest are scored.

    Raises
    ------
    InputError
        If no row can be scored.
    """
    scorers = ScorerSet.coerce(rubrics)
    if learned:  # the same scorers as `grader batch` with that learned data
        scorers = ScorerSet(scorers.rubrics, context=scorers.context, learned={**scorers.learned, **learned})
    rubrics = scorers.rubrics
    usable, problems = parse_graded_rows(
        rubrics, rows, score_col=score_col, answer_col=answer_col, question_col=question_col,
        id_col=id_col, line_numbers=line_numbers,
    )
    if not usable:
        detail = f" ({problems[0]})" if problems else ""
        raise InputError(f"no graded answer could be scored{detail}")
    groups: dict[str, list[GradedAnswer]] = {}
    for g in usable:
        groups.setdefault(g.question_id, []).append(g)

    scored: list[ScoredRow] = []
    per_question: dict[str, dict[str, float]] = {}
    for qid in sorted(groups):
        rubric = rubrics[qid]
        items = groups[qid]
        results = scorers.score_many(qid, [g.answer for g in items])
        rows_q = [
            ScoredRow(g.line, qid, g.answer_id, g.answer, g.human, res.score, rubric.max_score)
            for g, res in zip(items, results)
        ]
        per_question[qid] = agreement([r.human for r in rows_q], [r.auto for r in rows_q], max_score=rubric.max_score)
        scored.extend(rows_q)
    scored.sort(key=lambda r: r.line)

    maxima = {r.max_score for r in scored}
    overall_max = maxima.pop() if len(maxima) == 1 else POOLED_MAX_SCORE
    human = np.array([r.human / r.max_score * overall_max for r in scored])
    auto = np.array([r.auto / r.max_score * overall_max for r in scored])
    labels, counts = confusion_table(human, auto, max_score=overall_max)
    worst = sorted(scored, key=lambda r: (-abs(r.difference / r.max_score), r.line))[: max(0, top)]
    return EvaluationReport(
        per_question=per_question,
        overall=agreement(human, auto, max_score=overall_max),
        overall_max_score=overall_max,
        confusion_labels=labels,
        confusion=counts,
        disagreements=worst,
        rows=scored,
        problems=problems,
    )


def load_graded(path: str | os.PathLike[str], *, name: str | None = None) -> tuple[list[dict[str, str]], list[int]]:
    """Read a graded CSV/XLSX into (rows as dicts keyed by header, their file line numbers).

    Unparseable CSV rows are dropped here and reported by line when evaluated: they come
    back as rows without columns. ``name`` is how errors name the file (default: its path).
    """
    header, it = read_rows(path, name=name)
    rows: list[dict[str, str]] = []
    lines: list[int] = []
    for line, cells in it:
        if isinstance(cells, BadRow):
            rows.append({})
        else:
            cells = cells + [""] * (len(header) - len(cells))
            rows.append(dict(zip(header, cells)))
        lines.append(line)
    return rows, lines


def filter_split(
    rows: Sequence[dict[str, str]], lines: Sequence[int], split: str | None, *, split_col: str = "split"
) -> tuple[list[dict[str, str]], list[int]]:
    """Keep the rows whose ``split_col`` equals ``split`` (all rows when ``split`` is None).

    >>> filter_split([{"split": "tune"}, {"split": "heldout"}], [2, 3], "tune")
    ([{'split': 'tune'}], [2])
    """
    if split is None:
        return list(rows), list(lines)
    kept = [(r, n) for r, n in zip(rows, lines) if (_get(r, split_col) or "").strip() == split]
    return [r for r, _ in kept], [n for _, n in kept]


def rows_of_question(
    rows: Sequence[dict[str, str]], lines: Sequence[int], question_id: str, *, question_col: str = "question_id"
) -> tuple[list[dict[str, str]], list[int], int]:
    """The rows answering ``question_id`` (or with no question id), their lines, and how many were left out.

    >>> rows_of_question([{"question_id": "q1"}, {"question_id": "q2"}, {"answer": "x"}], [2, 3, 4], "q1")
    ([{'question_id': 'q1'}, {'answer': 'x'}], [2, 4], 1)
    """
    kept = [(r, n) for r, n in zip(rows, lines) if (_get(r, question_col) or "").strip() in ("", question_id)]
    return [r for r, _ in kept], [n for _, n in kept], len(rows) - len(kept)


def format_metrics(m: dict[str, float]) -> str:
    """One line of metrics for the terminal.

    >>> format_metrics({"pearson": 0.5, "n": 3.0})
    'n=3 pearson=0.500'
    """
    parts = [f"n={int(m['n'])}"] if "n" in m else []
    for key in METRICS:
        if key != "n" and key in m:
            parts.append(f"{key}={m[key]:.3f}" if not math.isnan(m[key]) else f"{key}=nan")
    return " ".join(parts)


def format_before_after(title: str, rows: Sequence[tuple[str, Mapping[str, float], Mapping[str, float]]]) -> str:
    """``title``, then a ``before`` and an ``after`` line of metrics for each (label, before, after).

    >>> print(format_before_after("Agreement", [("q1", {"n": 3.0}, {"n": 3.0, "pearson": 0.5})]))
    Agreement
      q1  before n=3
          after  n=3 pearson=0.500
    """
    width = max((len(label) for label, _, _ in rows), default=0)
    lines = [title]
    for label, before, after in rows:
        lines.append(f"  {label:<{width}}  before {format_metrics(dict(before))}")
        lines.append(f"  {'':<{width}}  after  {format_metrics(dict(after))}")
    return "\n".join(lines)


def metrics_json(m: Mapping[str, float], *, digits: int | None = None) -> dict[str, float | None]:
    """Metrics ready for JSON: NaN becomes None (and values are rounded to ``digits``, if given).

    >>> metrics_json({"n": 3.0, "pearson": float("nan"), "mae": 0.123456}, digits=4)
    {'n': 3.0, 'pearson': None, 'mae': 0.1235}
    """
    def value(v: float) -> float | None:
        if isinstance(v, float) and math.isnan(v):
            return None
        return v if digits is None else round(float(v), digits)

    return {k: value(v) for k, v in m.items()}


def before_after_json(before: Mapping[str, Mapping[str, float]], after: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """Per-question before/after metrics ready for JSON: ``{question: {"before": ..., "after": ...}}``."""
    return {q: {"before": metrics_json(before[q]), "after": metrics_json(after[q])} for q in before}


def _short(text: str, width: int = 90) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= width else one_line[: width - 3] + "..."


def format_report(report: EvaluationReport, *, top: int = 5) -> str:
    """The evaluation as plain text: metrics per question and overall, confusion table, disagreements."""
    width = max([len("overall"), *(len(q) for q in report.per_question)])
    lines = ["Agreement with the human scores"]
    for qid, m in report.per_question.items():
        lines.append(f"  {qid:<{width}}  {format_metrics(m)}")
    lines.append(f"  {'overall':<{width}}  {format_metrics(report.overall)}")
    lines.append("")
    lines.append(f"Confusion (rows: human points, columns: automatic points, 0..{report.overall_max_score:g})")
    cell = max(3, len(str(max((max(r) for r in report.confusion), default=0))) + 1)
    lines.append("  " + " " * 4 + "".join(f"{lab:>{cell}}" for lab in report.confusion_labels))
    for lab, row in zip(report.confusion_labels, report.confusion):
        lines.append(f"  {lab:>3} " + "".join(f"{c:>{cell}}" if c else f"{'.':>{cell}}" for c in row))
    if report.disagreements[:top]:
        lines.append("")
        lines.append("Largest disagreements")
        for r in report.disagreements[:top]:
            lines.append(f"  {r.question_id} {r.answer_id}: human {r.human:g}, auto {r.auto:g}  {_short(r.answer)}")
    return "\n".join(lines)
