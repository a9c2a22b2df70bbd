"""grader.gradebook: Canvas and Moodle import shapes, formula-safe CSV."""

from __future__ import annotations

import csv
import io

import pytest

from grader.gradebook import build_gradebook, canvas_rows, format_score, gradebook_rows, moodle_rows, to_csv


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize(("score", "text"), [(7.0, "7"), (7.5, "7.5"), (0.0, "0"), (None, ""), (9.25, "9.25")])
def test_format_score(score: float | None, text: str) -> None:
    assert format_score(score) == text


@pytest.mark.parametrize(
    ("cell", "safe"),
    [("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1+2", "'+1+2"), ("@SUM(A1)", "'@SUM(A1)"),
     ("-2.5", "-2.5"), ("-cmd", "'-cmd"), ("\tx", "'\tx"), ("plain", "plain"), (7.5, "7.5")],
)
def test_to_csv_neutralises_formulas_in_every_cell(cell: object, safe: str) -> None:
    assert parse(to_csv([["h"], [cell]])) == [["h"], [safe]]


def stored(row: int, score: float | None, **kw: object):
    from grader.store import ResultRecord

    base = dict(row=row, line=row + 2, student=f"st{row}", question_id="q1", answer=f"answer {row}", score=score,
                max_score=10.0, percent=None if score is None else score * 10, feedback="Covered: A.\nStill missing: B.")
    base.update(kw)
    return ResultRecord(**base)


def test_result_rows_keep_auto_score_next_to_override() -> None:
    from datetime import datetime, timezone

    from grader.gradebook import RESULT_COLUMNS, result_rows
    from grader.store import Override

    records = [stored(0, 5.5), stored(1, None, flags="error_empty_answer", answer="")]
    rows = result_rows(records, {0: Override(1, 0, 8.0, "paraphrase missed", datetime.now(timezone.utc))})
    assert rows[0] == list(RESULT_COLUMNS)
    got = dict(zip(rows[0], rows[1]))
    assert (got["auto score"], got["override"], got["final score"], got["override reason"]) == ("5.5", "8", "8", "paraphrase missed")
    assert got["feedback"] == "Covered: A. Still missing: B."
    got = dict(zip(rows[0], rows[2]))
    assert (got["auto score"], got["final score"], got["flags"]) == ("", "", "error_empty_answer")


def now():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


def override(row: int, score: float, reason: str = "teacher note"):
    from grader.store import Override

    return Override(1, row, score, reason, now())


CLASS = [  # Ann answered three questions, Bo two; one row has an unknown question id
    stored(0, 8.0, student="Ann Lee", student_id="s1", question_id="q1", feedback="Good."),
    stored(1, 8.0, student="Ann Lee", student_id="s1", question_id="q2"),
    stored(2, 8.5, student="Ann Lee", student_id="s1", question_id="q3"),
    stored(3, 5.5, student="Bo Ma", student_id="s2", question_id="q1", feedback="Add detail."),
    stored(4, None, student="Bo Ma", student_id="s2", question_id="q9", max_score=None, flags="error_unknown_question"),
    stored(5, 6.0, student="Bo Ma", student_id="s2", question_id="q3"),
]


def test_one_gradebook_row_per_student_with_a_column_per_question_and_a_total() -> None:
    book = build_gradebook(CLASS, {5: override(5, 7.0)})
    assert book.questions == ["q1", "q2", "q3"]
    assert [(s.student, s.scores, s.total) for s in book.students] == [
        ("Ann Lee", {"q1": 8.0, "q2": 8.0, "q3": 8.5}, 24.5),
        ("Bo Ma", {"q1": 5.5, "q3": 7.0}, 12.5),
    ]
    assert book.skipped == [(6, "q9")] and book.duplicates == []


def test_canvas_has_no_column_for_an_unknown_question_and_no_empty_id_column() -> None:
    rows = canvas_rows(build_gradebook(CLASS, {}, total_name="Essay 1"))
    assert rows[0] == ["Student", "SIS User ID", "q1", "q2", "q3", "Essay 1"]
    assert rows[1] == ["Points Possible", "", "10", "10", "10", "30"]
    assert rows[2:] == [["Ann Lee", "s1", "8", "8", "8.5", "24.5"], ["Bo Ma", "s2", "5.5", "", "6", "11.5"]]
    no_ids = canvas_rows(build_gradebook([stored(0, 3.0), stored(1, 4.0)], {}))
    assert no_ids[0] == ["Student", "q1", "Total"]  # no identifier column that would be empty


def test_moodle_and_plain_csv_have_one_row_per_student() -> None:
    book = build_gradebook(CLASS, {})
    assert moodle_rows(book) == [
        ["ID number", "q1", "Feedback: q1", "q2", "Feedback: q2", "q3", "Feedback: q3", "Total"],
        ["s1", "8", "Good.", "8", "Covered: A. Still missing: B.", "8.5", "Covered: A. Still missing: B.", "24.5"],
        ["s2", "5.5", "Add detail.", "", "", "6", "Covered: A. Still missing: B.", "11.5"],
    ]
    assert gradebook_rows(book)[1] == ["Ann Lee", "s1", "8", "8", "8.5", "24.5"]


def test_two_answers_to_one_question_are_reported_never_collapsed() -> None:
    records = [stored(0, 8.0, student="Ann", question_id="q1"), stored(1, 3.0, student="Ann", question_id="q1"),
               stored(2, 5.0, student="Ann", question_id="q2")]
    book = build_gradebook(records, {})
    assert [d.describe() for d in book.duplicates] == ["Ann: 2 answers to q1 (lines 2, 3)"]
    assert book.students[0].scores == {"q1": None, "q2": 5.0} and book.students[0].total is None
    assert any("answered a question more than once" in w and "lines 2, 3" in w for w in book.warnings())
    assert build_gradebook(records, {}, on_duplicate="highest").students[0].total == 13.0
    assert build_gradebook(records, {}, on_duplicate="latest").students[0].total == 8.0
    with pytest.raises(ValueError, match="on_duplicate must be one of"):
        build_gradebook(records, {}, on_duplicate="first")


def test_students_group_by_id_then_name_and_nameless_rows_stay_apart() -> None:
    records = [stored(0, 1.0, student="", student_id="", question_id="q1"),
               stored(1, 2.0, student="", student_id="", question_id="q1"),
               stored(2, 3.0, student="Cy", student_id="", question_id="q1")]
    book = build_gradebook(records, {})
    assert [s.student for s in book.students] == ["line 2", "line 3", "Cy"] and not book.duplicates
    assert any("no student IDs" in w for w in book.warnings())


def test_overrides_replace_scores_and_reasons_are_not_exported() -> None:
    book = build_gradebook(CLASS, {0: override(0, 10.0, "secret teacher note")})
    assert book.students[0].scores["q1"] == 10.0 and book.students[0].total == 26.5
    for rows in (canvas_rows(book), moodle_rows(book), gradebook_rows(book)):
        assert "secret teacher note" not in to_csv(rows)


def test_export_of_hostile_names_is_formula_safe() -> None:
    book = build_gradebook([stored(0, 5.0, student="=cmd|' /C calc'!A0", student_id="+s1", feedback="@feedback")], {})
    for rows in (canvas_rows(book), moodle_rows(book), gradebook_rows(book)):
        for row in parse(to_csv(rows))[1:]:
            assert not any(c.startswith(("=", "+", "@")) for c in row)
