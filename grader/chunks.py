"""Score chunks of rows in input order: a memo of answers seen, and worker processes.

Memory stays flat in the number of rows: rows are scored one chunk at a time, with at most
a few chunks in flight when ``jobs`` > 1 (worker processes, each with its own scorers built
from the rubrics, results kept in input order). Identical answers to the same question are
scored once per process (a bounded memo; scoring is deterministic).
"""

from __future__ import annotations

import multiprocessing
import signal
from collections import deque
from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from grader.errors import InputError
from grader.output_columns import LEARNED_COLUMNS, MIXED_ENCODING, error_cells, format_result, mark_for_review
from grader.rows import Layout, Row, check_row
from grader.rubric import Rubric
from grader.scorer_set import ScorerSet
from grader.tabular import safe_cell
from grader.text import MAX_ANSWER_CHARS


MEMO_ENTRIES = 65_536
"""Distinct (question, answer) results remembered per process."""
MEMO_MAX_CHARS = 2_000
"""Longer answers are not memoised (they are rarely repeated and would cost memory)."""


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
