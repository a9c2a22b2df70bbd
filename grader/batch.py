"""Score a table of answers: streamed in chunks, one vectorised call per chunk and rubric.

Output keeps every input column in order, then adds the columns of
:mod:`grader.output_columns`. Rows that cannot be scored (broken CSV, ragged, undecodable,
empty answer, unknown question id) stay in the output with an ``error_*`` flag and no
score; nothing is dropped. Output is written to a temporary file that replaces the target
only when the run completes. Rows are read, scored (:mod:`grader.chunks`: memo, worker
processes) and written one chunk at a time, so memory stays flat in the number of rows.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.chunks import chunked, score_chunks
from grader.errors import InputError
from grader.files import atomic_write, check_target
from grader.output_columns import output_header
from grader.rows import Layout, Row, RowScore, check_row
from grader.rubric import Rubric
from grader.scorer_set import ScorerSet
from grader.tabular import close_rows, find_column, is_excel, read_table, safe_cell
from grader.text import MAX_ANSWER_CHARS


DEFAULT_CHUNK = 2000
"""Rows read, scored and written at a time."""
MAX_REPORTED_ERRORS = 1000
"""Line numbers kept for the summary; further errors are only counted (memory stays flat)."""


@dataclass
class BatchSummary:
    """Counts of a batch run and the (line, code) of rows that could not be scored.

    ``errors`` keeps the first :data:`MAX_REPORTED_ERRORS` of them; ``error_codes`` counts all.
    """

    rows: int = 0
    scored: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    error_codes: Counter[str] = field(default_factory=Counter)

    @property
    def error_count(self) -> int:
        """Number of rows that could not be scored."""
        return sum(self.error_codes.values()) if self.error_codes else len(self.errors)

    def add(self, rows: int, errors: list[tuple[int, str]]) -> None:
        """Count one chunk: its number of rows and its (line, code) errors."""
        self.rows += rows
        self.scored += rows - len(errors)
        self.errors.extend(errors[: max(0, MAX_REPORTED_ERRORS - len(self.errors))])
        self.error_codes.update(code for _, code in errors)

    def line(self) -> str:
        """One-line summary for the terminal.

        >>> s = BatchSummary(); s.add(3, [(4, "error_empty_answer")]); s.line()
        'scored 2 of 3 rows; 1 could not be scored (error_empty_answer: 1): line 4 (error_empty_answer)'
        """
        text = f"scored {self.scored:,} of {self.rows:,} rows"
        count = self.error_count
        if count:
            codes = self.error_codes or Counter(code for _, code in self.errors)
            kinds = ", ".join(f"{code}: {n:,}" for code, n in sorted(codes.items()))
            shown = ", ".join(f"line {n} ({code})" for n, code in self.errors[:5])
            more = f" and {count - 5:,} more" if count > 5 else ""
            text += f"; {count:,} could not be scored ({kinds}): {shown}{more}"
        return text


def prepare(
    rubric_path: str | os.PathLike[str],
    input_path: str | os.PathLike[str],
    *,
    answer_col: str = "answer",
    question_col: str = "question_id",
) -> tuple[ScorerSet, list[str], Iterator[Row], Layout]:
    """Load the scorer set and open the input: (scorers, header, row iterator, layout).

    With a rubric file every row uses it; with a folder each row's ``question_col`` names
    its rubric (by id). Learned data stored beside the rubrics (``grader learn``) is used.
    """
    scorers = ScorerSet.from_path(rubric_path, learned=True)
    single = next(iter(scorers)) if not Path(rubric_path).is_dir() else None
    table = read_table(input_path)
    header, rows = table.header, table.rows
    answer_idx = find_column(header, answer_col, path=str(input_path))
    question_idx = None
    if single is None:
        question_idx = find_column(header, question_col, path=str(input_path))
    layout = Layout(len(header), answer_idx, question_idx, single, table.fallback_lines, scorers.learned)
    return scorers, header, rows, layout


def write_atomic(output_path: str | os.PathLike[str], header: list[str], chunks: Iterable[list[list[str]]], *, learned: bool = False) -> None:
    """Write chunks of CSV rows (cells already formula-safe) through :func:`grader.files.atomic_write`.

    The target is replaced only when every chunk is written; it must be a regular file or absent.
    """
    with atomic_write(output_path, newline="", fsync=False) as fh:
        writer = csv.writer(fh)
        writer.writerow([safe_cell(h) for h in output_header(header, learned=learned)])
        for rows in chunks:
            writer.writerows(rows)


def run_batch(
    rubric_path: str | os.PathLike[str],
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    answer_col: str = "answer",
    question_col: str = "question_id",
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Callable[[int], None] | None = None,
    jobs: int = 1,
    progress: Callable[[Iterator[Any]], Iterator[Any]] | None = None,
) -> BatchSummary:
    """Score every row of ``input_path`` (CSV or XLSX) and write ``output_path`` atomically.

    With a rubric file every row uses it; with a directory each row uses the rubric whose
    id equals the row's ``question_col``. ``jobs`` worker processes score chunks of
    ``chunk_size`` rows; the output is the same for any ``jobs`` and ``chunk_size``.
    ``progress`` wraps the iterator of scored chunks (each a tuple whose first item is its
    number of rows), e.g. ``lambda it: track(it, size=lambda c: c[0])``;
    ``on_progress`` is called with the number of rows of each finished chunk.
    """
    scorers, header, rows, layout = prepare(rubric_path, input_path, answer_col=answer_col, question_col=question_col)
    summary = BatchSummary()
    scored: Iterator[Any] = score_chunks(chunked(rows, chunk_size), scorers, layout, jobs=jobs, review_lines=layout.review_lines)
    if progress is not None:
        scored = progress(scored)

    def output_chunks() -> Iterator[list[list[str]]]:
        for n, out, errors in scored:
            summary.add(n, errors)
            if on_progress is not None:
                on_progress(n)
            yield out

    try:
        write_atomic(output_path, header, output_chunks(), learned=bool(layout.learned))
    finally:
        close_rows(rows)
    return summary


def estimate_rows(input_path: str | os.PathLike[str]) -> int | None:
    """Rough number of data rows (line breaks in a CSV, minus the header), for an ETA; None for XLSX.

    Answers with line breaks inside quotes make this an over-estimate.
    """
    if is_excel(input_path):
        return None
    count = 0
    try:
        with open(input_path, "rb") as fh:
            while block := fh.read(1 << 20):
                count += block.count(b"\n")
    except OSError:
        return None
    return max(0, count - 1)


def check_output_path(path: str) -> None:
    """Refuse an output path before any scoring work: a missing folder, or not a regular file."""
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise InputError(f"{path}: output folder {parent} does not exist")
    check_target(path)


def score_rows(
    header: list[str],
    rows: Iterable[Row],
    scorers: "ScorerSet | Mapping[str, Rubric]",
    *,
    answer_col: str,
    question_col: str | None = None,
    rubric_id: str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Callable[[int], None] | None = None,
) -> list[RowScore]:
    """Score rows in memory (for the app), keeping full results; one vectorised call per chunk and rubric.

    Every row uses ``rubric_id`` if given, else the rubric named by its ``question_col``.
    Rows that cannot be scored carry the ``error_*`` code of :func:`grader.rows.check_row`
    (the same as ``grader batch``) instead of a result; nothing is dropped.
    ``on_progress`` receives the number of rows finished after each chunk.
    """
    scorers = ScorerSet.coerce(scorers)
    if (rubric_id is None) == (question_col is None):
        raise InputError("give exactly one of rubric_id or question_col")
    if rubric_id is not None and rubric_id not in scorers:
        raise InputError(f"unknown rubric {rubric_id!r}")
    answer_idx = find_column(header, answer_col, path="input", option="the answer column")
    question_idx = None if question_col is None else find_column(header, question_col, path="input", option="the question column")
    layout = Layout(len(header), answer_idx, question_idx, rubric_id)
    out: list[RowScore] = []
    for chunk in chunked(rows, chunk_size):
        groups: dict[str, list[RowScore]] = {}
        for line, row in chunk:
            checked = check_row(row, layout, scorers)
            item = RowScore(line, checked.cells, checked.rubric_id, error=checked.error)
            if item.error is None:
                groups.setdefault(item.rubric_id, []).append(item)
            out.append(item)
        for rid, items in groups.items():
            results = scorers.score_many(rid, [i.cells[answer_idx][: MAX_ANSWER_CHARS * 2] for i in items])
            for item, result in zip(items, results):
                item.result = result
        if on_progress is not None:
            on_progress(len(chunk))
    return out
