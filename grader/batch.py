"""Score a table of answers: streamed in chunks, one vectorised call per chunk and rubric.

Output keeps every input column in order, then adds score, max_score, percent, flags
(codes joined by ";") and needs_review. Rows that cannot be scored (broken CSV, ragged,
undecodable, empty answer, unknown question id) stay in the output with an ``error_*`` flag
and no score; nothing is dropped. Output is written to a temporary file that replaces the
target only when the run completes.

Memory stays flat in the number of rows: rows are read, scored and written one chunk at a
time, with at most a few chunks in flight when ``jobs`` > 1 (worker processes, each with its
own scorers built from the rubrics, results kept in input order). Identical answers to the
same question are scored once per process (a bounded memo; scoring is deterministic).
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import signal
from collections import Counter, deque
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.errors import InputError
from grader.files import atomic_write, check_target
from grader.learned_scoring import confidence_of
from grader.rows import Layout, Row, RowScore, check_row
from grader.rubric import Rubric
from grader.scorer_set import ScorerSet
from grader.scoring import ScoreResult
from grader.tabular import find_column, is_excel, read_table, safe_cell
from grader.text import MAX_ANSWER_CHARS


OUTPUT_COLUMNS = ("score", "max_score", "percent", "flags", "needs_review")
LEARNED_COLUMNS = ("confidence",)
"""Added after OUTPUT_COLUMNS only when some rubric has learned data (``grader learn``)."""
DEFAULT_CHUNK = 2000
"""Rows read, scored and written at a time."""
MAX_REPORTED_ERRORS = 1000
"""Line numbers kept for the summary; further errors are only counted (memory stays flat)."""
MEMO_ENTRIES = 65_536
"""Distinct (question, answer) results remembered per process."""
MEMO_MAX_CHARS = 2_000
"""Longer answers are not memoised (they are rarely repeated and would cost memory)."""


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


def output_header(header: list[str], *, learned: bool = False) -> list[str]:
    """Input columns, then ours; ours take a ``grader_`` prefix where a name is taken."""
    taken = {h.strip().lower() for h in header}
    ours = (*OUTPUT_COLUMNS, *LEARNED_COLUMNS) if learned else OUTPUT_COLUMNS
    return [*header, *(f"grader_{c}" if c in taken else c for c in ours)]


def format_result(result: ScoreResult, *, learned: bool = False) -> list[str]:
    """The five output cells of a scored row (six with ``learned``: the confidence, blank if none)."""
    extra = []
    if learned:
        confidence = confidence_of(result)
        extra = ["" if confidence is None else f"{confidence:.2f}"]
    return [*_cells(result), *extra]


def _cells(result: ScoreResult) -> list[str]:
    return [
        f"{result.score:g}",
        f"{result.max_score:g}",
        f"{result.percent:g}",
        ";".join(result.flag_codes),
        "true" if result.needs_review else "false",
    ]


MIXED_ENCODING = "mixed_encoding"
"""Flag of a row whose line had another encoding than its file and was decoded on its own: check it."""


def mark_for_review(row: list[str], code: str, *, extra: int = 0) -> list[str]:
    """Add flag ``code`` to an output row (its last five cells are ours, then ``extra`` learned
    columns) and set needs_review.

    >>> mark_for_review(["x", "5", "10", "50", "", "false"], "mixed_encoding")[-2:]
    ['mixed_encoding', 'true']
    """
    flag_at, review_at = -2 - extra, -1 - extra
    flags = [f for f in row[flag_at].split(";") if f]
    row[flag_at] = ";".join(dict.fromkeys([*flags, code]))
    row[review_at] = "true"
    return row


def error_cells(code: str, max_score: float | None = None) -> list[str]:
    """The five output cells of a row that could not be scored."""
    return ["", "" if max_score is None else f"{max_score:g}", "", code, "true"]


@dataclass
class ChunkPlan:
    """A chunk half done: output rows (None where a score is awaited), errors, and the work left.

    ``todo`` lists distinct (rubric id, answer) pairs to score; ``waiting[i]`` the row
    positions that take the result of ``todo[i]``.
    """

    out: list[list[str] | None]
    errors: list[tuple[int, str]]
    todo: list[tuple[str, str]] = field(default_factory=list)
    waiting: list[list[int]] = field(default_factory=list)


class AnswerScorer:
    """Scores (rubric id, answer) pairs into the five output cells with the scorers of a :class:`ScorerSet`."""

    def __init__(self, scorers: ScorerSet | Mapping[str, Rubric], *, learned_columns: bool | None = None) -> None:
        self.scorers = ScorerSet.coerce(scorers)
        self.with_learned = bool(self.scorers.learned) if learned_columns is None else learned_columns
        """Whether rows get the :data:`LEARNED_COLUMNS` (default: when the set has learned data)."""

    def __call__(self, todo: list[tuple[str, str]]) -> list[list[str]]:
        """Output cells (formula-safe) of each pair, in order; one vectorised call per rubric."""
        by_rubric: dict[str, list[int]] = {}
        for i, (rid, _) in enumerate(todo):
            by_rubric.setdefault(rid, []).append(i)
        cells: list[list[str]] = [[] for _ in todo]
        for rid, idx in by_rubric.items():
            results = self.scorers.score_many(rid, [todo[i][1] for i in idx], detail=False)  # cells need no feedback
            for i, result in zip(idx, results):
                cells[i] = [safe_cell(c) for c in format_result(result, learned=self.with_learned)]
        return cells


class ChunkScorer:
    """Scores chunks of input rows into output rows (formula-safe cells), in input order.

    :meth:`plan` settles what needs no scorer (error rows, answers seen before: a bounded
    memo of (rubric id, answer) -> cells, as scoring is deterministic) and lists the distinct
    answers left; :meth:`finish` fills them in. Between the two, the answers can be scored
    here (``__call__``) or in worker processes (:func:`score_chunks`). Results equal scoring
    every row afresh.
    """

    def __init__(self, scorers: ScorerSet | Mapping[str, Rubric], layout: Layout, *, memo_entries: int = MEMO_ENTRIES) -> None:
        self.scorers = ScorerSet.coerce(scorers)
        if layout.learned and dict(layout.learned) != self.scorers.learned:  # the layout's learned data rules
            self.scorers = ScorerSet(self.scorers.rubrics, context=self.scorers.context, learned=layout.learned)
        self.layout = layout
        self.memo_entries = memo_entries
        self._memo: dict[tuple[str, str], list[str]] = {}
        self._local: AnswerScorer | None = None

    def __call__(self, chunk: list[Row]) -> tuple[list[list[str]], list[tuple[int, str]]]:
        """Output rows of ``chunk`` in input order, and the (line, code) of rows not scored."""
        plan = self.plan(chunk)
        if self._local is None:
            self._local = AnswerScorer(self.scorers, learned_columns=bool(self.layout.learned))
        return self.finish(plan, self._local(plan.todo) if plan.todo else [])

    def plan(self, chunk: list[Row]) -> ChunkPlan:
        """Rows that need no scoring done, and the distinct answers that do."""
        lay, scorers, memo = self.layout, self.scorers, self._memo
        plan = ChunkPlan([None] * len(chunk), [])
        pending: dict[tuple[str, str], int] = {}
        for k, (line, row) in enumerate(chunk):
            checked = check_row(row, lay, scorers)
            cells, rid = checked.cells, checked.rubric_id
            if checked.error is not None:
                max_score = scorers.rubrics[rid].max_score if rid in scorers else None
                learned_blank = [""] * len(LEARNED_COLUMNS) if lay.learned else []
                plan.out[k] = [*map(safe_cell, cells), *error_cells(checked.error, max_score), *learned_blank]
                plan.errors.append((line, checked.error))
                continue
            key = (rid, cells[lay.answer_idx][: MAX_ANSWER_CHARS * 2])
            known = memo.get(key)
            if known is not None:
                plan.out[k] = [*map(safe_cell, cells), *known]
                continue
            plan.out[k] = [*map(safe_cell, cells)]
            slot = pending.get(key)
            if slot is None:
                slot = pending[key] = len(plan.todo)
                plan.todo.append(key)
                plan.waiting.append([])
            plan.waiting[slot].append(k)
        return plan

    def finish(self, plan: ChunkPlan, cells: list[list[str]]) -> tuple[list[list[str]], list[tuple[int, str]]]:
        """Complete ``plan`` with the cells of its ``todo`` answers (same order) and remember them."""
        for key, extra, rows in zip(plan.todo, cells, plan.waiting):
            self._remember(key, extra)
            for k in rows:
                plan.out[k].extend(extra)  # type: ignore[union-attr]
        return plan.out, plan.errors  # type: ignore[return-value]

    def _remember(self, key: tuple[str, str], cells: list[str]) -> None:
        if self.memo_entries <= 0 or len(key[1]) > MEMO_MAX_CHARS:
            return
        if len(self._memo) >= self.memo_entries:
            del self._memo[next(iter(self._memo))]  # oldest first: bounded memory
        self._memo[key] = cells


def chunked(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    """Group an iterator of rows into lists of at most ``size``."""
    if size < 1:
        raise InputError(f"chunk size must be >= 1. Got {size}.")
    chunk: list[Row] = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- parallel scoring: an AnswerScorer per worker process; the memo and the order stay here ---
_WORKER: AnswerScorer | None = None


def _init_worker(scorers: ScorerSet, learned_columns: bool) -> None:
    global _WORKER
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the CLI's handler is for the parent; Pool.terminate() ends workers
    _WORKER = AnswerScorer(scorers, learned_columns=learned_columns)  # the set's pickle carries its learned data


def _work(todo: list[tuple[str, str]]) -> list[list[str]]:
    assert _WORKER is not None, "worker not initialised"
    return _WORKER(todo)


def score_chunks(
    chunks: Iterable[list[Row]],
    scorers: ScorerSet,
    layout: Layout,
    *,
    jobs: int = 1,
    review_lines: Container[int] = (),
) -> Iterator[tuple[int, list[list[str]], list[tuple[int, str]]]]:
    """Yield (rows in chunk, output rows, errors) for each chunk, in input order.

    Rows starting on one of ``review_lines`` (lines the reader decoded with its fallback
    encoding; it fills the container as it reads) get the :data:`MIXED_ENCODING` flag.

    With ``jobs`` > 1 the answers left after the memo are scored by that many worker
    processes; at most ``2 * jobs`` chunks are in flight, so memory does not grow with the
    input, and the memo lives here, so no answer is scored by two workers.
    """
    if jobs < 1:
        raise InputError(f"`jobs` must be >= 1. Got {jobs}.")
    scorer = ChunkScorer(scorers, layout)

    def marked(chunk: list[Row], out: list[list[str]]) -> list[list[str]]:
        for (line, _), row in zip(chunk, out):
            if line in review_lines:
                mark_for_review(row, MIXED_ENCODING, extra=len(LEARNED_COLUMNS) if layout.learned else 0)
        return out

    if jobs == 1:
        for chunk in chunks:
            out, errors = scorer(chunk)
            yield len(chunk), marked(chunk, out), errors
        return
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ctx.Pool(jobs, initializer=_init_worker, initargs=(scorer.scorers, bool(layout.learned))) as pool:
        pending: deque[tuple[list[Row], ChunkPlan, Any]] = deque()

        def settle() -> tuple[int, list[list[str]], list[tuple[int, str]]]:
            chunk, plan, result = pending.popleft()
            out, errors = scorer.finish(plan, result.get() if result is not None else [])
            return len(chunk), marked(chunk, out), errors

        for chunk in chunks:
            plan = scorer.plan(chunk)
            pending.append((chunk, plan, pool.apply_async(_work, (plan.todo,)) if plan.todo else None))
            if len(pending) >= 2 * jobs:
                yield settle()
        while pending:
            yield settle()


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
        close = getattr(rows, "close", None)
        if close is not None:
            close()
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
