"""grader.batch.score_rows / guess_columns: the in-memory scoring the app uses (run_batch is tested elsewhere)."""

from __future__ import annotations

import pytest

from grader.batch import guess_columns, score_rows
from grader.errors import InputError
from grader.rubric import load_rubrics
from grader.scoring import Scorer
from grader.tabular import BadRow, read_rows

from conftest import REPO

SAMPLES = REPO / "samples" / "destalinization" / "graded.csv"


@pytest.fixture(scope="module")
def rubrics():
    return load_rubrics(REPO / "rubrics" / "destalinization")


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


def test_scores_match_the_scorer_and_progress_counts_every_row(rubrics) -> None:
    header, rows = read_rows(SAMPLES)
    rows = list(rows)
    seen: list[int] = []
    out = score_rows(header, rows, rubrics, answer_col="answer", question_col="question_id", chunk_size=50, on_progress=seen.append)
    assert len(rows) > 100 and seen == [50] * (len(rows) // 50) + [len(rows) % 50] * (len(rows) % 50 > 0)
    assert len(out) == len(rows)
    assert [o.line for o in out] == [line for line, _ in rows]
    for o in out[:10]:
        assert o.result is not None and o.error is None
        assert o.result.score == Scorer(rubrics[o.rubric_id]).score(o.cells[2]).score


def test_broken_rows_are_kept_with_an_error(rubrics) -> None:
    header = ["question_id", "answer"]
    rows = [(2, ["destal-politics", "Khrushchev freed political prisoners."]), (3, ["nope", "text"]),
            (4, ["destal-politics", "   "]), (5, BadRow(5, "error_bad_row", "bad quote")), (6, ["destal-politics"])]
    out = score_rows(header, rows, rubrics, answer_col="answer", question_col="question_id")
    assert [o.error for o in out] == [None, "error_unknown_question", "error_empty_answer", "error_bad_row", "error_empty_answer"]
    assert out[0].result is not None and all(o.result is None for o in out[1:])


def test_one_rubric_for_every_row(rubrics) -> None:
    out = score_rows(["text"], [(2, ["The Thaw freed prisoners."])], rubrics, answer_col="TEXT", rubric_id="destal-politics")
    assert out[0].rubric_id == "destal-politics" and out[0].result is not None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"answer_col": "answer"}, "exactly one of rubric_id or question_col"),
        ({"answer_col": "answer", "rubric_id": "x", "question_col": "q"}, "exactly one"),
        ({"answer_col": "answer", "rubric_id": "nope"}, "unknown rubric 'nope'"),
        ({"answer_col": "essay", "rubric_id": "destal-politics"}, "no column 'essay'"),
    ],
)
def test_bad_arguments(rubrics, kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        score_rows(["answer"], [], rubrics, **kwargs)
