"""The one row check (grader.rows): shape, bytes, rubric and answer of a table row; column guesses."""

from __future__ import annotations

import pytest

from grader.rows import Layout, check_row, guess_columns, row_problem
from grader.tabular import BadRow

LAYOUT = Layout(width=3, answer_idx=2, question_idx=0)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (["thaw", "1", "fine"], None),
        (["thaw", "1", "fine", "", " "], None),  # trailing empty cells are not ragged
        (["thaw", "1", "split", "answer"], "error_ragged_row"),
        (["thaw", "1"], "error_ragged_row"),  # the answer column is missing
        (["thaw", "1", "caf\ufffd"], "error_undecodable"),
        (BadRow(2, "error_bad_row", "field larger than field limit"), "error_bad_row"),
    ],
)
def test_row_problem(row: list[str] | BadRow, expected: str | None) -> None:
    assert row_problem(row, LAYOUT) == expected


@pytest.mark.parametrize(
    ("row", "rubric_id", "error"),
    [
        (["thaw", "1", "fine"], "thaw", None),
        (["nope", "1", "fine"], "nope", "error_unknown_question"),
        (["thaw", "1", "  "], "thaw", "error_empty_answer"),
        (["thaw", "1", "split", "answer"], "thaw", "error_ragged_row"),  # shape first, then the rubric
        (["nope", "1"], "nope", "error_ragged_row"),
        (BadRow(5, "error_bad_row", "bad quote"), "", "error_bad_row"),
    ],
)
def test_check_row_by_question_column(row: list[str] | BadRow, rubric_id: str, error: str | None) -> None:
    checked = check_row(row, LAYOUT, {"thaw"})
    assert (checked.rubric_id, checked.error) == (rubric_id, error)
    assert len(checked.cells) == LAYOUT.width


def test_check_row_with_one_rubric_for_every_row() -> None:
    layout = Layout(width=1, answer_idx=0, single_rubric="thaw")
    assert check_row(["an answer"], layout, {"thaw"}).error is None
    assert check_row(BadRow(2, "error_bad_row", "x"), layout, {"thaw"}).rubric_id == "thaw"  # its max score is still known


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["question_id", "answer_id", "answer", "score"],
         {"student": "answer_id", "student_id": None, "answer": "answer", "question": "question_id"}),
        (["Name", "Question", "Response"], {"student": "Name", "student_id": None, "answer": "Response", "question": "Question"}),
        (["Email", "Essay"], {"student": None, "student_id": "Email", "answer": "Essay", "question": None}),
        (["student", "student_id", "answer"], {"student": "student", "student_id": "student_id", "answer": "answer", "question": None}),
        (["Student ID", "Student", "Question", "Answer"],
         {"student": "Student", "student_id": "Student ID", "answer": "Answer", "question": "Question"}),
        (["ID", "Essay"], {"student": None, "student_id": "ID", "answer": "Essay", "question": None}),
        (["a", "b"], {"student": None, "student_id": None, "answer": None, "question": None}),
    ],
)
def test_guess_columns(header: list[str], expected: dict[str, str | None]) -> None:
    assert guess_columns(header) == expected
