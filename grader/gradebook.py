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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from grader.tabular import safe_cell

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


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
