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
import os
import signal
from collections import Counter, deque
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.errors import InputError
from grader.files import atomic_write, check_target
from grader.integrity import rubric_vocabulary
from grader.learn import LearnedScorer, confidence_of, wrap_scorer
from grader.learned import Learned, load_learned_all
from grader.rubric import Rubric, load_rubrics
from grader.scoring import ScoreResult, Scorer
from grader.tabular import BadRow, Cells, find_column, is_excel, read_table, safe_cell
from grader.text import MAX_ANSWER_CHARS

OUTPUT_COLUMNS = ("score", "max_score", "percent", "flags", "needs_review")
LEARNED_COLUMNS = ("confidence",)
"""Added after OUTPUT_COLUMNS only when some rubric has learned data (``grader learn``)."""
DEFAULT_CHUNK = 2000
MAX_REPORTED_ERRORS = 1000
"""Line numbers kept for the summary; further errors are only counted (memory stays flat)."""
MEMO_ENTRIES = 65_536
"""Distinct (question, answer) results remembered per process."""
MEMO_MAX_CHARS = 2_000
"""Longer answers are not memoised (they are rarely repeated and would cost memory)."""
Row = tuple[int, Cells]
"""(line number in the input, cells or a :class:`~grader.tabular.BadRow`)."""


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
        ";".join(dict.fromkeys(f.code for f in result.flags)),
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


class ScorerPool:
    """One :class:`Scorer` per rubric id, built on first use; a :class:`LearnedScorer`
    around it for rubrics with ``learned`` data (see :mod:`grader.learn`)."""

    def __init__(self, rubrics: dict[str, Rubric], learned: dict[str, Learned] | None = None) -> None:
        self.rubrics = rubrics
        self.learned = dict(learned or {})
        self._scorers: dict[str, Scorer | LearnedScorer] = {}

    def get(self, rubric_id: str) -> Scorer | LearnedScorer:
        """The scorer of ``rubric_id`` (KeyError if unknown)."""
        if rubric_id not in self._scorers:
            if not hasattr(self, "_vocabularies"):  # lets integrity checks spot answers to another question
                self._vocabularies = {rid: rubric_vocabulary(r) for rid, r in self.rubrics.items()} if len(self.rubrics) > 1 else {}
            scorer = Scorer(self.rubrics[rubric_id], other_vocabularies=self._vocabularies)
            self._scorers[rubric_id] = wrap_scorer(scorer, self.learned.get(rubric_id))
        return self._scorers[rubric_id]


@dataclass(frozen=True)
class Layout:
    """Where things are in an input row: its width and the answer / question columns.

    ``single_rubric`` names the rubric every row uses (a rubric file); otherwise each row's
    ``question_idx`` cell names it (a rubric folder).
    """

    width: int
    answer_idx: int
    question_idx: int | None = None
    single_rubric: str | None = None
    review_lines: Container[int] = field(default=(), compare=False, repr=False)
    """Lines the reader decoded with its fallback encoding (filled as the file is read)."""
    learned: dict[str, Learned] = field(default_factory=dict, repr=False, compare=False)
    """Learned data by rubric id; when there is any, the output gains :data:`LEARNED_COLUMNS`."""


def row_problem(row: Cells, layout: Layout) -> str | None:
    """The ``error_*`` code of a row that cannot be scored as it stands, else None.

    A row with more non-empty cells than the header (an unquoted delimiter in an answer?)
    or too few to reach the answer column is ragged; replacement characters (U+FFFD) in the
    answer mean its bytes could not be decoded.

    >>> row_problem(["q1", "ok"], Layout(width=2, answer_idx=1)), row_problem(["q1", "a", "b"], Layout(2, 1))
    (None, 'error_ragged_row')
    """
    if isinstance(row, BadRow):
        return row.code
    if len(row) > layout.width and any(c.strip() for c in row[layout.width:]):
        return "error_ragged_row"
    if len(row) <= layout.answer_idx:
        return "error_ragged_row"
    if "\ufffd" in row[layout.answer_idx]:
        return "error_undecodable"
    return None


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
    """Scores (rubric id, answer) pairs into the five output cells; one :class:`Scorer` per rubric."""

    def __init__(self, rubrics: dict[str, Rubric], learned: dict[str, Learned] | None = None) -> None:
        self.pool = ScorerPool(rubrics, learned)
        self.with_learned = bool(learned)

    def __call__(self, todo: list[tuple[str, str]]) -> list[list[str]]:
        """Output cells (formula-safe) of each pair, in order; one vectorised call per rubric."""
        by_rubric: dict[str, list[int]] = {}
        for i, (rid, _) in enumerate(todo):
            by_rubric.setdefault(rid, []).append(i)
        cells: list[list[str]] = [[] for _ in todo]
        for rid, idx in by_rubric.items():
            results = self.pool.get(rid).score_many([todo[i][1] for i in idx])
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

    def __init__(self, rubrics: dict[str, Rubric], layout: Layout, *, memo_entries: int = MEMO_ENTRIES) -> None:
        self.rubrics = rubrics
        self.layout = layout
        self.memo_entries = memo_entries
        self._memo: dict[tuple[str, str], list[str]] = {}
        self._local: AnswerScorer | None = None

    def __call__(self, chunk: list[Row]) -> tuple[list[list[str]], list[tuple[int, str]]]:
        """Output rows of ``chunk`` in input order, and the (line, code) of rows not scored."""
        plan = self.plan(chunk)
        if self._local is None:
            self._local = AnswerScorer(self.rubrics, self.layout.learned)
        return self.finish(plan, self._local(plan.todo) if plan.todo else [])

    def plan(self, chunk: list[Row]) -> ChunkPlan:
        """Rows that need no scoring done, and the distinct answers that do."""
        lay, rubrics, memo = self.layout, self.rubrics, self._memo
        width = lay.width
        plan = ChunkPlan([None] * len(chunk), [])
        pending: dict[tuple[str, str], int] = {}
        for k, (line, row) in enumerate(chunk):
            code = row_problem(row, lay)
            cells = [""] * width if isinstance(row, BadRow) else (row + [""] * width)[:width]
            rid = lay.single_rubric if lay.single_rubric is not None else cells[lay.question_idx].strip()  # type: ignore[index]
            if code is None:
                if rid not in rubrics:
                    code = "error_unknown_question"
                elif not cells[lay.answer_idx].strip():
                    code = "error_empty_answer"
            if code is not None:
                max_score = rubrics[rid].max_score if rid in rubrics else None
                plan.out[k] = [*map(safe_cell, cells), *error_cells(code, max_score), *([""] if lay.learned else [])]
                plan.errors.append((line, code))
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


def score_chunk(
    chunk: list[Row],
    *,
    width: int,
    answer_idx: int,
    question_idx: int | None,
    pool: ScorerPool,
    single_rubric: str | None,
) -> tuple[list[list[str]], list[tuple[int, str]]]:
    """Score one chunk of (line, row) pairs; returns output rows in input order and errors."""
    scorer = ChunkScorer(pool.rubrics, Layout(width, answer_idx, question_idx, single_rubric), memo_entries=0)
    scorer._local = AnswerScorer(pool.rubrics)
    scorer._local.pool = pool
    return scorer(chunk)


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


def _init_worker(rubrics: dict[str, Rubric], learned: dict[str, Learned] | None = None) -> None:
    global _WORKER
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the CLI's handler is for the parent; Pool.terminate() ends workers
    _WORKER = AnswerScorer(rubrics, learned)


def _work(todo: list[tuple[str, str]]) -> list[list[str]]:
    assert _WORKER is not None, "worker not initialised"
    return _WORKER(todo)


def score_chunks(
    chunks: Iterable[list[Row]],
    rubrics: dict[str, Rubric],
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
        raise InputError(f"--jobs must be >= 1. Got {jobs}.")
    scorer = ChunkScorer(rubrics, layout)

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
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ctx.Pool(jobs, initializer=_init_worker, initargs=(rubrics, layout.learned)) as pool:
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
) -> tuple[dict[str, Rubric], list[str], Iterator[Row], Layout]:
    """Load the rubrics and open the input: (rubrics, header, row iterator, layout).

    With a rubric file every row uses it; with a folder each row's ``question_col`` names
    its rubric (by id). Learned data stored beside the rubrics (``grader learn``) is used.
    """
    rubrics = load_rubrics(rubric_path)
    learned = load_learned_all(rubric_path, rubrics)
    single = next(iter(rubrics)) if not Path(rubric_path).is_dir() else None
    table = read_table(input_path)
    header, rows = table.header, table.rows
    answer_idx = find_column(header, answer_col, path=str(input_path), option="--answer-col")
    question_idx = None
    if single is None:
        question_idx = find_column(header, question_col, path=str(input_path), option="--question-col")
    return rubrics, header, rows, Layout(len(header), answer_idx, question_idx, single, table.fallback_lines, learned)


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
    rubrics, header, rows, layout = prepare(rubric_path, input_path, answer_col=answer_col, question_col=question_col)
    summary = BatchSummary()
    scored: Iterator[Any] = score_chunks(chunked(rows, chunk_size), rubrics, layout, jobs=jobs, review_lines=layout.review_lines)
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
    rows: Iterable[Row],
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
            if isinstance(row, BadRow):
                out.append(RowScore(line, [""] * width, rubric_id or "", error=row.code))
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
    "student": ("student", "name", "student name", "student_name", "full name", "display name", "user", "answer_id"),
    "student_id": ("student_id", "student id", "studentid", "student number", "student_number", "id", "id number",
                   "sis user id", "sis_user_id", "user_id", "userid", "username", "login", "email", "e-mail"),
    "answer": ("answer", "response", "text", "essay", "submission", "answer_text"),
    "question": ("question_id", "question", "question id", "rubric", "rubric_id", "item", "prompt_id"),
}


def guess_columns(header: list[str]) -> dict[str, str | None]:
    """Guess which column holds the student's name, their ID, the answer and the question id (None if no guess).

    A column is guessed for one role at most (the ID first, so ``student_id`` is never taken
    for the name).

    >>> guess_columns(["Name", "student_id", "Question", "Response"])
    {'student': 'Name', 'student_id': 'student_id', 'answer': 'Response', 'question': 'Question'}
    """
    norm = {h.strip().lower(): h for h in header}
    guesses: dict[str, str | None] = {}
    taken: set[str] = set()
    for role in ("student_id", "student", "answer", "question"):
        found = next((norm[n] for n in COLUMN_GUESSES[role] if n in norm and norm[n] not in taken), None)
        guesses[role] = found
        if found is not None:
            taken.add(found)
    return {role: guesses[role] for role in COLUMN_GUESSES}
