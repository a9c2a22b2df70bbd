"""grader.gradebook: Canvas and Moodle import shapes, formula-safe CSV."""

from __future__ import annotations

import csv
import io

import pytest

from grader.gradebook import CANVAS_COLUMNS, GradeRecord, canvas_rows, format_score, moodle_rows, to_csv


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


RECORDS = [
    GradeRecord("Ann Lee", "q1", 8.0, "Good.", student_id="s1", section="A"),
    GradeRecord("Bo Ma", "q1", 5.5, "Add detail.", student_id="s2"),
    GradeRecord("Ann Lee", "q2", None, "", student_id="s1", section="A"),
    GradeRecord("Bo Ma", "q2", 10.0, "Excellent.", student_id="s2"),
]


@pytest.mark.parametrize(("score", "text"), [(7.0, "7"), (7.5, "7.5"), (0.0, "0"), (None, ""), (9.25, "9.25")])
def test_format_score(score: float | None, text: str) -> None:
    assert format_score(score) == text


def test_canvas_header_order_points_row_and_pivot() -> None:
    rows = canvas_rows(RECORDS, points_possible={"q1": 10, "q2": 10})
    assert rows[0] == [*CANVAS_COLUMNS, "q1", "q2"]
    assert list(CANVAS_COLUMNS) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert rows[1] == ["Points Possible", "", "", "", "", "10", "10"]
    assert rows[2] == ["Ann Lee", "", "s1", "", "A", "8", ""]
    assert rows[3] == ["Bo Ma", "", "s2", "", "", "5.5", "10"]
    assert len(rows) == 4


def test_canvas_without_points_row_and_missing_item_cell_is_empty() -> None:
    rows = canvas_rows([GradeRecord("Ann", "q1", 3), GradeRecord("Bo", "q2", 4)])
    assert rows == [[*CANVAS_COLUMNS, "q1", "q2"], ["Ann", "", "", "", "", "3", ""], ["Bo", "", "", "", "", "", "4"]]


def test_later_record_for_same_student_and_item_wins() -> None:
    rows = canvas_rows([GradeRecord("Ann", "q1", 3), GradeRecord("Ann", "q1", 9)])
    assert rows[1][-1] == "9"


def test_moodle_one_item_has_plain_feedback_column() -> None:
    rows = moodle_rows(RECORDS[:2])
    assert rows == [["ID number", "q1", "Feedback"], ["s1", "8", "Good."], ["s2", "5.5", "Add detail."]]


def test_moodle_several_items_name_their_feedback_and_fall_back_to_name() -> None:
    rows = moodle_rows([*RECORDS, GradeRecord("Cy No-Id", "q1", 2)], identifier="Email address")
    assert rows[0] == ["Email address", "q1", "Feedback: q1", "q2", "Feedback: q2"]
    assert rows[1] == ["s1", "8", "Good.", "", ""]
    assert rows[3] == ["Cy No-Id", "2", "", "", ""]


@pytest.mark.parametrize(
    ("cell", "safe"),
    [("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1+2", "'+1+2"), ("@SUM(A1)", "'@SUM(A1)"),
     ("-2.5", "-2.5"), ("-cmd", "'-cmd"), ("\tx", "'\tx"), ("plain", "plain"), (7.5, "7.5")],
)
def test_to_csv_neutralises_formulas_in_every_cell(cell: object, safe: str) -> None:
    assert parse(to_csv([["h"], [cell]])) == [["h"], [safe]]


def test_export_of_hostile_names_is_formula_safe() -> None:
    records = [GradeRecord("=cmd|' /C calc'!A0", "q1", 5, "@feedback", student_id="+s1")]
    for rows in (canvas_rows(records), moodle_rows(records)):
        for row in parse(to_csv(rows))[1:]:
            assert not any(c.startswith(("=", "+", "@")) for c in row)


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


def test_grade_records_use_final_score_and_item_name() -> None:
    from datetime import datetime, timezone

    from grader.gradebook import grade_records
    from grader.store import Override

    records = [stored(0, 5.5, student="", student_id="s0"), stored(1, 7.0, student="", student_id="")]
    ov = {1: Override(1, 1, 9.0, "teacher note", datetime.now(timezone.utc))}
    by_question = grade_records(records, ov)
    assert [(g.student, g.item, g.score) for g in by_question] == [("s0", "q1", 5.5), ("line 3", "q1", 9.0)]
    assert all("teacher note" not in g.feedback for g in by_question)
    assert {g.item for g in grade_records(records, ov, item="Essay 1")} == {"Essay 1"}
