"""grader.review: the needs-review queue order and the stored row shape."""

from __future__ import annotations

import pytest

from grader.rows import RowScore
from grader.review import boundary_distance, final_score, record_from_score, review_group, review_queue
from grader.rubric import load_rubrics
from grader.scoring import Scorer
from grader.store import ResultRecord


def rec(row: int, percent: float | None, *, flags: str = "", needs_review: bool = False, reasons: str = "") -> ResultRecord:
    score = None if percent is None else percent / 10
    return ResultRecord(row, row + 2, "s", "q", "t", score, 10.0, percent, flags=flags, needs_review=needs_review, reasons=reasons)


@pytest.mark.parametrize(
    ("record", "group"),
    [
        (rec(0, None, flags="error_empty_answer"), "error"),
        (rec(0, 75.0, flags="keyword_list"), "flagged"),
        (rec(0, 75.0, needs_review=True, reasons="similar wording but few concepts"), "unsure"),
        (rec(0, 51.0), "near boundary"),
        (rec(0, 87.5), "near boundary"),
        (rec(0, 75.0), None),
        (rec(0, 100.0), None),
    ],
)
def test_review_group(record: ResultRecord, group: str | None) -> None:
    assert review_group(record) == group


def test_custom_boundaries_and_margin() -> None:
    assert review_group(rec(0, 75.0), boundaries=[74], margin=1) == "near boundary"
    assert review_group(rec(0, 51.0), boundaries=[74], margin=1) is None
    assert boundary_distance(75.0, []) == float("inf")


def test_queue_orders_by_group_then_closeness_then_row() -> None:
    records = [
        rec(0, 75.0),
        rec(1, 52.0),
        rec(2, 50.0),
        rec(3, 80.0, flags="repetition"),
        rec(4, None, flags="error_bad_row"),
        rec(5, 30.0, needs_review=True, reasons="near the pass mark"),
        rec(6, 60.0),
    ]
    order = [(r.row, g) for r, g in review_queue(records)]
    assert order == [(4, "error"), (3, "flagged"), (5, "unsure"), (2, "near boundary"), (6, "near boundary"), (1, "near boundary")]


@pytest.mark.parametrize(("override", "expected"), [(None, 5.0), (7.5, 7.5), (0.0, 0.0)])
def test_final_score_prefers_override(override: float | None, expected: float) -> None:
    assert final_score(rec(0, 50.0), override) == expected


def test_record_from_score_flattens_result_and_error(seed_dir) -> None:
    rubric = load_rubrics(seed_dir)["destal-politics"]
    answer = "Stalin Khrushchev gulag thaw purges camps prisoners terror police"
    result = Scorer(rubric).score(answer)
    assert result.flags  # a keyword list: the flags must survive flattening
    stored = record_from_score(3, RowScore(7, ["a"], rubric.id, result), student="Ann", answer=answer, student_id="s9")
    assert (stored.row, stored.line, stored.student, stored.student_id, stored.question_id) == (3, 7, "Ann", "s9", rubric.id)
    assert stored.score == result.score and stored.percent == result.percent
    assert stored.flags.split(";") == result.flag_codes
    assert stored.feedback.split("\n") == [item.text for item in result.feedback]
    error = record_from_score(0, RowScore(2, [""], "nope", error="error_unknown_question"), student="", answer="")
    assert error.score is None and error.flags == "error_unknown_question" and error.needs_review
