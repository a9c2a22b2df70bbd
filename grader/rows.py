"""Rows of an answer table: where the answer and question id sit, and the one row check.

Readers (:func:`grader.tabular.read_rows`) yield ``(line, cells)`` pairs, or ``(line,
BadRow)`` for a row they could not parse. :func:`check_row` decides, for every front end
(``grader batch``, the Dask engine, the app's Batch page), whether a row can be scored and
under which rubric, so the same row gets the same ``error_*`` code on every screen.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from grader.tabular import BadRow, Cells

if TYPE_CHECKING:  # pragma: no cover - types only: reading rows needs no scorer
    from grader.learned import Learned
    from grader.scoring import ScoreResult

UNDECODABLE = "\ufffd"
"""The replacement character a reader puts where bytes could not be decoded."""



Row = tuple[int, Cells]
"""(line number in the input, cells or a :class:`~grader.tabular.BadRow`)."""


@dataclass(frozen=True)
class Layout:
    """Where things are in an input row: its width and the answer / question columns.

    ``single_rubric`` names the rubric every row uses; otherwise each row's
    ``question_idx`` cell names it.
    """

    width: int
    answer_idx: int
    question_idx: int | None = None
    single_rubric: str | None = None
    review_lines: Container[int] = field(default=(), compare=False, repr=False)
    """Lines the reader decoded with its fallback encoding (filled as the file is read)."""
    learned: "dict[str, Learned]" = field(default_factory=dict, repr=False, compare=False)
    """Learned data by rubric id (``grader learn``); when there is any, the output gains
    :data:`grader.output_columns.LEARNED_COLUMNS`."""

    def rubric_id(self, cells: list[str]) -> str:
        """The id of the rubric a row (already padded to ``width``) is scored with."""
        if self.single_rubric is not None:
            return self.single_rubric
        return cells[self.question_idx].strip() if self.question_idx is not None else ""


@dataclass(frozen=True)
class CheckedRow:
    """A row made ready to score: its cells padded or cut to the layout's width, its rubric id, and
    the ``error_*`` code that keeps it from being scored (None: score it)."""

    cells: list[str]
    rubric_id: str
    error: str | None


@dataclass
class RowScore:
    """One input row scored in memory: its cells, the rubric used, and the result or an error code."""

    line: int
    cells: list[str]
    rubric_id: str
    result: "ScoreResult | None" = None
    error: str | None = None


def row_problem(row: Cells, layout: Layout) -> str | None:
    """The ``error_*`` code of a row that cannot be scored as it stands (shape and bytes), else None.

    A row with more non-empty cells than the header (an unquoted delimiter in an answer?)
    or too few to reach the answer column is ragged; replacement characters (U+FFFD) in the
    answer mean its bytes could not be decoded.

    >>> row_problem(["q1", "ok"], Layout(width=2, answer_idx=1)), row_problem(["q1", "a", "b"], Layout(2, 1))
    (None, 'error_ragged_row')
    >>> row_problem(BadRow(3, "error_bad_row", "unexpected end of data"), Layout(2, 1))
    'error_bad_row'
    """
    if isinstance(row, BadRow):
        return row.code
    if len(row) > layout.width and any(c.strip() for c in row[layout.width :]):
        return "error_ragged_row"
    if len(row) <= layout.answer_idx:
        return "error_ragged_row"
    if UNDECODABLE in row[layout.answer_idx]:
        return "error_undecodable"
    return None


def check_row(row: Cells, layout: Layout, rubric_ids: Container[str]) -> CheckedRow:
    """The one row check: shape and bytes (:func:`row_problem`), then a known rubric, then a non-empty answer.

    >>> lay = Layout(width=2, answer_idx=1, question_idx=0)
    >>> [check_row(r, lay, {"q1"}).error for r in (["q1", "ok"], ["q2", "ok"], ["q1", " "], ["q1"])]
    [None, 'error_unknown_question', 'error_empty_answer', 'error_ragged_row']
    """
    width = layout.width
    cells = [""] * width if isinstance(row, BadRow) else (row + [""] * width)[:width]
    rubric_id = layout.rubric_id(cells)
    code = row_problem(row, layout)
    if code is None and rubric_id not in rubric_ids:
        code = "error_unknown_question"
    if code is None and not cells[layout.answer_idx].strip():
        code = "error_empty_answer"
    return CheckedRow(cells, rubric_id, code)


COLUMN_GUESSES = {
    "student": ("student", "name", "student name", "student_name", "full name", "display name", "user", "answer_id"),
    "student_id": ("student_id", "student id", "studentid", "student number", "student_number", "id", "id number",
                   "sis user id", "sis_user_id", "user_id", "userid", "username", "login", "email", "e-mail"),
    "answer": ("answer", "response", "text", "essay", "submission", "answer_text"),
    "question": ("question_id", "question", "question id", "rubric", "rubric_id", "item", "prompt_id"),
}
"""Header names (lower case) that usually hold the student's name, their ID, the answer and the question id."""


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
