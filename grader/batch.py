"""Score a table of answers: streamed in chunks, one vectorised call per chunk and rubric.

Output keeps every input column in order, then adds score, max_score, percent, flags
(codes joined by ";") and needs_review. Rows that cannot be scored stay in the output with
an ``error_*`` flag and no score; nothing is dropped. Output is written to a temporary file
that replaces the target only when the run completes.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import InputError
from grader.integrity import rubric_vocabulary
from grader.rubric import Rubric, load_rubrics
from grader.scoring import ScoreResult, Scorer
from grader.tabular import find_column, read_rows, safe_cell
from grader.text import MAX_ANSWER_CHARS

OUTPUT_COLUMNS = ("score", "max_score", "percent", "flags", "needs_review")
DEFAULT_CHUNK = 2000


@dataclass
class BatchSummary:
    """Counts of a batch run and the (line, code) of every row that could not be scored."""

    rows: int = 0
    scored: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    def line(self) -> str:
        """One-line summary for the terminal."""
        text = f"scored {self.scored} of {self.rows} rows"
        if self.errors:
            shown = ", ".join(f"line {n} ({code})" for n, code in self.errors[:5])
            more = f" and {len(self.errors) - 5} more" if len(self.errors) > 5 else ""
            text += f"; {len(self.errors)} could not be scored: {shown}{more}"
        return text


def output_header(header: list[str]) -> list[str]:
    """Input columns, then ours; ours take a ``grader_`` prefix where a name is taken."""
    taken = {h.strip().lower() for h in header}
    return [*header, *(f"grader_{c}" if c in taken else c for c in OUTPUT_COLUMNS)]


def format_result(result: ScoreResult) -> list[str]:
    """The five output cells of a scored row."""
    return [
        f"{result.score:g}",
        f"{result.max_score:g}",
        f"{result.percent:g}",
        ";".join(dict.fromkeys(f.code for f in result.flags)),
        "true" if result.needs_review else "false",
    ]


def error_cells(code: str, max_score: float | None = None) -> list[str]:
    """The five output cells of a row that could not be scored."""
    return ["", "" if max_score is None else f"{max_score:g}", "", code, "true"]


class ScorerPool:
    """One :class:`Scorer` per rubric id, built on first use."""

    def __init__(self, rubrics: dict[str, Rubric]) -> None:
        self.rubrics = rubrics
        self._scorers: dict[str, Scorer] = {}

    def get(self, rubric_id: str) -> Scorer:
        """The scorer of ``rubric_id`` (KeyError if unknown)."""
        if rubric_id not in self._scorers:
            if not hasattr(self, "_vocabularies"):  # lets integrity checks spot answers to another question
                self._vocabularies = {rid: rubric_vocabulary(r) for rid, r in self.rubrics.items()} if len(self.rubrics) > 1 else {}
            self._scorers[rubric_id] = Scorer(self.rubrics[rubric_id], other_vocabularies=self._vocabularies)
        return self._scorers[rubric_id]


def score_chunk(
    chunk: list[tuple[int, list[str]]],
    *,
    width: int,
    answer_idx: int,
    question_idx: int | None,
    pool: ScorerPool,
    single_rubric: str | None,
) -> tuple[list[list[str]], list[tuple[int, str]]]:
    """Score one chunk of (line, row) pairs; returns output rows in input order and errors."""
    out: list[list[str] | None] = [None] * len(chunk)
    errors: list[tuple[int, str]] = []
    groups: dict[str, list[int]] = {}
    cells: list[list[str]] = []
    for k, (line, row) in enumerate(chunk):
        if row and row[0] == "\x00csv-error":
            cells.append([""] * width)
            out[k] = [*cells[k], *error_cells("error_bad_row")]
            errors.append((line, "error_bad_row"))
            continue
        cells.append((row + [""] * width)[:width])
        rid = single_rubric if single_rubric is not None else cells[k][question_idx].strip()  # type: ignore[index]
        answer = cells[k][answer_idx] if answer_idx < len(row) else ""
        code = None
        if rid not in pool.rubrics:
            code = "error_unknown_question"
        elif not answer.strip():
            code = "error_empty_answer"
        if code:
            max_score = pool.rubrics[rid].max_score if rid in pool.rubrics else None
            out[k] = [*cells[k], *error_cells(code, max_score)]
            errors.append((line, code))
            continue
        groups.setdefault(rid, []).append(k)
    for rid, indices in groups.items():
        results = pool.get(rid).score_many([cells[k][answer_idx][:MAX_ANSWER_CHARS * 2] for k in indices])
        for k, result in zip(indices, results):
            extra = format_result(result)
            if len(chunk[k][1]) > width:
                extra[3] = ";".join(filter(None, [extra[3], "ragged_row"]))
            out[k] = [*cells[k], *extra]
    return [row for row in out if row is not None], errors


def chunked(rows: Iterable[tuple[int, list[str]]], size: int) -> Iterator[list[tuple[int, list[str]]]]:
    """Group an iterator of rows into lists of at most ``size``."""
    chunk: list[tuple[int, list[str]]] = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run_batch(
    rubric_path: str | os.PathLike[str],
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    answer_col: str = "answer",
    question_col: str = "question_id",
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Callable[[int], None] | None = None,
) -> BatchSummary:
    """Score every row of ``input_path`` and write ``output_path`` atomically.

    With a rubric file every row uses it; with a directory each row uses the rubric whose
    id equals the row's ``question_col``.
    """
    rubrics = load_rubrics(rubric_path)
    single = next(iter(rubrics)) if not Path(rubric_path).is_dir() else None
    header, rows = read_rows(input_path)
    answer_idx = find_column(header, answer_col, path=str(input_path), option="--answer-col")
    question_idx = None
    if single is None:
        question_idx = find_column(header, question_col, path=str(input_path), option="--question-col")
    pool = ScorerPool(rubrics)
    summary = BatchSummary()
    target = Path(output_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow([safe_cell(h) for h in output_header(header)])
            for chunk in chunked(rows, chunk_size):
                out, errors = score_chunk(
                    chunk, width=len(header), answer_idx=answer_idx, question_idx=question_idx,
                    pool=pool, single_rubric=single,
                )
                writer.writerows([safe_cell(c) for c in row] for row in out)
                summary.rows += len(chunk)
                summary.scored += len(chunk) - len(errors)
                summary.errors.extend(errors)
                if on_progress is not None:
                    on_progress(len(chunk))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return summary


def check_output_path(path: str) -> None:
    """Refuse an output path whose folder does not exist (before any scoring work)."""
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise InputError(f"{path}: output folder {parent} does not exist")


@dataclass
class RowScore:
    """One input row scored in memory: its cells, the rubric used, and the result or an error code."""

    line: int
    cells: list[str]
    rubric_id: str
    result: ScoreResult | None = None
    error: str | None = None


def score_rows(
    header: list[str],
    rows: Iterable[tuple[int, list[str]]],
    rubrics: dict[str, Rubric],
    *,
    answer_col: str,
    question_col: str | None = None,
    rubric_id: str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Callable[[int], None] | None = None,
    pool: ScorerPool | None = None,
) -> list[RowScore]:
    """Score rows in memory (for the app), keeping full results; one vectorised call per chunk and rubric.

    Every row uses ``rubric_id`` if given, else the rubric named by its ``question_col``.
    Rows that cannot be scored carry an ``error_*`` code instead of a result; nothing is
    dropped. ``on_progress`` receives the number of rows finished after each chunk.
    """
    if (rubric_id is None) == (question_col is None):
        raise InputError("give exactly one of rubric_id or question_col")
    if rubric_id is not None and rubric_id not in rubrics:
        raise InputError(f"unknown rubric {rubric_id!r}")
    answer_idx = find_column(header, answer_col, path="input", option="the answer column")
    question_idx = None if question_col is None else find_column(header, question_col, path="input", option="the question column")
    pool = pool or ScorerPool(rubrics)
    width = len(header)
    out: list[RowScore] = []
    for chunk in chunked(rows, chunk_size):
        groups: dict[str, list[RowScore]] = {}
        for line, row in chunk:
            if row and row[0] == "\x00csv-error":
                out.append(RowScore(line, [""] * width, rubric_id or "", error="error_bad_row"))
                continue
            cells = (row + [""] * width)[:width]
            rid = rubric_id if rubric_id is not None else cells[question_idx].strip()  # type: ignore[index]
            item = RowScore(line, cells, rid)
            if rid not in pool.rubrics:
                item.error = "error_unknown_question"
            elif not cells[answer_idx].strip():
                item.error = "error_empty_answer"
            else:
                groups.setdefault(rid, []).append(item)
            out.append(item)
        for rid, items in groups.items():
            results = pool.get(rid).score_many([i.cells[answer_idx][: MAX_ANSWER_CHARS * 2] for i in items])
            for item, result in zip(items, results):
                item.result = result
        if on_progress is not None:
            on_progress(len(chunk))
    return out


COLUMN_GUESSES = {
    "student": ("student", "student_id", "student id", "name", "student name", "email", "user", "username", "id number", "sis user id", "answer_id"),
    "answer": ("answer", "response", "text", "essay", "submission", "answer_text"),
    "question": ("question_id", "question", "question id", "rubric", "rubric_id", "item", "prompt_id"),
}


def guess_columns(header: list[str]) -> dict[str, str | None]:
    """Guess which column holds the student, the answer and the question id (None if no guess).

    >>> guess_columns(["Name", "Question", "Response"])
    {'student': 'Name', 'answer': 'Response', 'question': 'Question'}
    """
    norm = {h.strip().lower(): h for h in header}
    guesses: dict[str, str | None] = {}
    for role, names in COLUMN_GUESSES.items():
        guesses[role] = next((norm[n] for n in names if n in norm), None)
    return guesses
