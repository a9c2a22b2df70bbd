"""Gradebook exports: Canvas and Moodle CSV shapes, and formula-safe CSV text.

Pure functions: graded records in, rows (lists of strings) out; :func:`to_csv` turns rows
into CSV text with every cell passed through :func:`grader.tabular.safe_cell`, so a
student's answer or name cannot run as a spreadsheet formula.

Canvas imports a CSV whose first columns are ``Student, ID, SIS User ID, SIS Login ID,
Section`` followed by one column per assignment. Moodle's "Import grades from CSV" maps
an identifier column (ID number, username or email) to users, each grade item column to
an item and a feedback column to that item's feedback.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from grader.tabular import safe_cell

if TYPE_CHECKING:  # only for annotations: exporting needs no database driver
    from grader.store import Override, ResultRecord

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
RESULT_COLUMNS = (
    "row", "line", "student", "question", "auto score", "override", "final score", "max",
    "student id", "flags", "reasons", "override reason", "feedback", "answer",
)


@dataclass(frozen=True, slots=True)
class GradeRecord:
    """One student's final grade on one item (a question or assignment)."""

    student: str
    item: str
    score: float | None
    feedback: str = ""
    student_id: str = ""
    section: str = ""


def format_score(score: float | None) -> str:
    """A score as gradebooks expect it: no trailing ``.0``, empty when missing.

    >>> format_score(7.0), format_score(7.25), format_score(None)
    ('7', '7.25', '')
    """
    return "" if score is None else f"{score:g}"


def _items(records: Sequence[GradeRecord]) -> list[str]:
    return list(dict.fromkeys(r.item for r in records))


def _students(records: Sequence[GradeRecord]) -> list[tuple[str, str, str]]:
    return list(dict.fromkeys((r.student, r.student_id, r.section) for r in records))


def _pivot(records: Sequence[GradeRecord]) -> dict[tuple[str, str, str], dict[str, GradeRecord]]:
    """Per student (name, id, section), per item, the last record given (later overrides win)."""
    table: dict[tuple[str, str, str], dict[str, GradeRecord]] = {}
    for r in records:
        table.setdefault((r.student, r.student_id, r.section), {})[r.item] = r
    return table


def canvas_rows(records: Sequence[GradeRecord], *, points_possible: dict[str, float] | None = None) -> list[list[str]]:
    """Rows of a Canvas gradebook import: header, optional "Points Possible" row, one row per student.

    >>> canvas_rows([GradeRecord("Ann Lee", "Quiz 1", 8, student_id="s1")])
    [['Student', 'ID', 'SIS User ID', 'SIS Login ID', 'Section', 'Quiz 1'], ['Ann Lee', '', 's1', '', '', '8']]
    """
    items = _items(records)
    rows: list[list[str]] = [[*CANVAS_COLUMNS, *items]]
    if points_possible:
        rows.append(["Points Possible", "", "", "", "", *(format_score(points_possible.get(i)) for i in items)])
    table = _pivot(records)
    for key in _students(records):
        student, student_id, section = key
        grades = table[key]
        rows.append(
            [student, "", student_id, "", section, *(format_score(grades[i].score) if i in grades else "" for i in items)]
        )
    return rows


def moodle_rows(records: Sequence[GradeRecord], *, identifier: str = "ID number") -> list[list[str]]:
    """Rows of a Moodle grade import: identifier, then per item its grade and its feedback.

    With one item the feedback column is called ``Feedback``; with several,
    ``Feedback: <item>``. The identifier is the student id, or the name when there is none.

    >>> moodle_rows([GradeRecord("Ann Lee", "Quiz 1", 8, "Well argued.", student_id="s1")])
    [['ID number', 'Quiz 1', 'Feedback'], ['s1', '8', 'Well argued.']]
    """
    items = _items(records)
    header = [identifier]
    for item in items:
        header += [item, "Feedback" if len(items) == 1 else f"Feedback: {item}"]
    rows: list[list[str]] = [header]
    table = _pivot(records)
    for key in _students(records):
        student, student_id, _ = key
        grades = table[key]
        row = [student_id or student]
        for item in items:
            r = grades.get(item)
            row += [format_score(r.score), r.feedback] if r is not None else ["", ""]
        rows.append(row)
    return rows


def result_rows(records: Sequence["ResultRecord"], overrides: Mapping[int, "Override"]) -> list[list[str]]:
    """The full results table of a run: header :data:`RESULT_COLUMNS`, one row per scored row.

    The automatic score stays next to the override and the final score (override if any).
    """
    rows: list[list[str]] = [list(RESULT_COLUMNS)]
    for r in records:
        ov = overrides.get(r.row)
        rows.append(
            [
                str(r.row), str(r.line), r.student, r.question_id, format_score(r.score),
                format_score(None if ov is None else ov.score),
                format_score(r.score if ov is None else ov.score), format_score(r.max_score),
                r.student_id, r.flags, r.reasons, "" if ov is None else ov.reason,
                r.feedback.replace("\n", " "), r.answer,
            ]
        )
    return rows


def grade_records(
    records: Sequence["ResultRecord"], overrides: Mapping[int, "Override"], *, item: str | None = None
) -> list[GradeRecord]:
    """Gradebook records of a run: final score (override if any) and the student-facing feedback.

    The item is ``item`` if given, else the row's question id. Students without a name are
    named by their id or their line. Override reasons are teachers' notes and are not exported
    as feedback.
    """
    return [
        GradeRecord(
            student=r.student or r.student_id or f"line {r.line}",
            item=item or r.question_id or "grader",
            score=r.score if r.row not in overrides else overrides[r.row].score,
            feedback=r.feedback.replace("\n", " "),
            student_id=r.student_id,
        )
        for r in records
    ]


def to_csv(rows: Iterable[Sequence[object]]) -> str:
    """CSV text with every cell made formula-safe (see :func:`grader.tabular.safe_cell`).

    >>> to_csv([["name", "answer"], ["Bo", "=1+1"]])
    "name,answer\\r\\nBo,'=1+1\\r\\n"
    """
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
    return buf.getvalue()
