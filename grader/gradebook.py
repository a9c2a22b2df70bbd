"""Gradebook exports: Canvas and Moodle CSV shapes, and formula-safe CSV text.

Pure functions: graded records in, rows (lists of strings) out; :func:`to_csv` turns rows
into CSV text with every cell passed through :func:`grader.tabular.safe_cell`, so a
student's answer or name cannot run as a spreadsheet formula.

:func:`build_gradebook` turns a run into ONE row per student (a column per question and a
total); a student with two answers to one question is reported, never silently collapsed.
Canvas imports a CSV whose first columns identify the student (``Student``, then any of
``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``) followed by one column per
assignment. Moodle's "Import grades from CSV" maps an identifier column (ID number,
username or email) to users, each grade item column to an item and a feedback column to
that item's feedback.
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

RESULT_COLUMNS = (
    "line", "student", "question", "auto score", "override", "final score", "max",
    "student id", "flags", "reasons", "override reason", "feedback", "answer",
)


def format_score(score: float | None) -> str:
    """A score as gradebooks expect it: no trailing ``.0``, empty when missing.

    >>> format_score(7.0), format_score(7.25), format_score(None)
    ('7', '7.25', '')
    """
    return "" if score is None else f"{score:g}"


DUPLICATE_POLICIES = ("blank", "highest", "latest")
"""What a gradebook cell holds when a student answered one question twice: nothing (the
default: the teacher decides), the higher final score, or the later row's."""


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A student with more than one answer to the same question (never silently collapsed)."""

    student: str
    student_id: str
    question: str
    lines: tuple[int, ...]

    def describe(self) -> str:
        """One line for the teacher.

        >>> Duplicate("Ann", "s1", "q1", (2, 9)).describe()
        'Ann (s1): 2 answers to q1 (lines 2, 9)'
        """
        who = f"{self.student} ({self.student_id})" if self.student_id and self.student_id != self.student else self.student
        lines = ", ".join(str(n) for n in self.lines)
        return f"{who}: {len(self.lines)} answers to {self.question} (lines {lines})"


@dataclass(frozen=True, slots=True)
class StudentRow:
    """One student's line of the gradebook: a final score (or None) and feedback per question."""

    student: str
    student_id: str
    section: str
    scores: dict[str, float | None]
    feedback: dict[str, str]
    total: float | None


@dataclass(frozen=True, slots=True)
class Gradebook:
    """One row per student, one column per question plus a total.

    ``duplicates`` lists students with two answers to one question; ``skipped`` the
    ``(line, question id)`` of rows left out because their question is unknown.
    """

    questions: list[str]
    points: dict[str, float]
    students: list[StudentRow]
    duplicates: list[Duplicate]
    skipped: list[tuple[int, str]]
    total_name: str = "Total"
    duplicate_policy: str = "blank"

    def warnings(self) -> list[str]:
        """What the teacher must know before importing: duplicates, skipped rows, missing ids."""
        out = []
        if self.duplicates:
            out.append(
                f"{len(self.duplicates)} student(s) answered a question more than once; "
                + {"blank": "those cells and totals are left empty",
                   "highest": "the higher score is used",
                   "latest": "the later row is used"}[self.duplicate_policy]
                + ": " + "; ".join(d.describe() for d in self.duplicates)
            )
        if self.skipped:
            shown = ", ".join(f"line {n} ({q or 'no question id'})" for n, q in self.skipped[:10])
            more = f" and {len(self.skipped) - 10} more" if len(self.skipped) > 10 else ""
            out.append(f"{len(self.skipped)} row(s) with an unknown question are not exported: {shown}{more}")
        if self.students and not any(s.student_id for s in self.students):
            out.append("no student IDs: Canvas and Moodle match students by ID, so these exports need IDs before an import")
        return out


def student_key(r: "ResultRecord") -> str:
    """Which student a row belongs to: same ID, or (without an ID) same name; nameless rows stay apart.

    >>> from grader.store import ResultRecord
    >>> student_key(ResultRecord(0, 2, "Ann", "q", "t", 1, 10, 10, student_id="s1")), student_key(ResultRecord(1, 3, "", "q", "t", 1, 10, 10))
    ('id:s1', 'line:3')
    """
    if r.student_id.strip():
        return f"id:{r.student_id.strip()}"
    if r.student.strip():
        return f"name:{r.student.strip()}"
    return f"line:{r.line}"


def build_gradebook(
    records: Sequence["ResultRecord"],
    overrides: Mapping[int, "Override"],
    *,
    total_name: str | None = None,
    on_duplicate: str = "blank",
) -> Gradebook:
    """One row per student with the final score (override if any) of each question and a total.

    Questions are those of rows that were scored or that failed for a reason other than an
    unknown question id; rows of an unknown question are listed in ``skipped``. A student
    who answered a question twice is listed in ``duplicates`` and the cell follows
    ``on_duplicate`` (:data:`DUPLICATE_POLICIES`); with ``"blank"`` that cell and the
    student's total stay empty. The total adds the student's known final scores.

    >>> from grader.store import ResultRecord
    >>> recs = [ResultRecord(i, i + 2, "Ann", q, "t", s, 10, s * 10, student_id="s1")
    ...         for i, (q, s) in enumerate([("q1", 8.0), ("q2", 8.0), ("q3", 8.5)])]
    >>> book = build_gradebook(recs, {})
    >>> book.questions, book.students[0].total
    (['q1', 'q2', 'q3'], 24.5)
    """
    if on_duplicate not in DUPLICATE_POLICIES:
        raise ValueError(f"on_duplicate must be one of {DUPLICATE_POLICIES}. Got {on_duplicate!r}")
    questions: list[str] = []
    points: dict[str, float] = {}
    skipped: list[tuple[int, str]] = []
    cells: dict[str, dict[str, list[tuple["ResultRecord", float | None]]]] = {}
    who: dict[str, tuple[str, str, str]] = {}
    for r in records:
        qid = r.question_id.strip()
        if not qid or "error_unknown_question" in r.flags.split(";"):
            skipped.append((r.line, qid))
            continue
        if qid not in questions:
            questions.append(qid)
        if r.max_score is not None:
            points.setdefault(qid, r.max_score)
        key = student_key(r)
        name, sid, _ = who.get(key, ("", "", ""))
        who[key] = (name or r.student.strip() or r.student_id.strip() or f"line {r.line}", sid or r.student_id.strip(), "")
        final = r.score if r.row not in overrides else overrides[r.row].score
        cells.setdefault(key, {}).setdefault(qid, []).append((r, final))
    students: list[StudentRow] = []
    duplicates: list[Duplicate] = []
    for key, by_question in cells.items():
        name, sid, section = who[key]
        scores: dict[str, float | None] = {}
        feedback: dict[str, str] = {}
        unresolved = False
        for qid, answers in by_question.items():
            if len(answers) > 1:
                duplicates.append(Duplicate(name, sid, qid, tuple(r.line for r, _ in answers)))
                if on_duplicate == "blank":
                    scores[qid], feedback[qid], unresolved = None, "", True
                    continue
                if on_duplicate == "highest":
                    chosen = max(answers, key=lambda a: -1.0 if a[1] is None else a[1])
                else:
                    chosen = answers[-1]
            else:
                chosen = answers[0]
            scores[qid] = chosen[1]
            feedback[qid] = chosen[0].feedback.replace("\n", " ")
        known = [s for s in scores.values() if s is not None]
        total = None if unresolved or not known else round(sum(known), 4)
        students.append(StudentRow(name, sid, section, scores, feedback, total))
    return Gradebook(questions, points, students, duplicates, skipped,
                     total_name=total_name or "Total", duplicate_policy=on_duplicate)


def canvas_rows(book: Gradebook) -> list[list[str]]:
    """Rows of a Canvas gradebook import: one row per student, a column per question and the total.

    Canvas matches students on its ``ID``, ``SIS User ID`` or ``SIS Login ID``; the student
    ID column fills ``SIS User ID``, and identifier columns that would be empty are left out.
    A "Points Possible" row follows the header when the maxima are known.

    >>> from grader.store import ResultRecord
    >>> book = build_gradebook([ResultRecord(0, 2, "Ann Lee", "q1", "t", 8, 10, 80, student_id="s1")], {})
    >>> canvas_rows(book)
    [['Student', 'SIS User ID', 'q1', 'Total'], ['Points Possible', '', '10', '10'], ['Ann Lee', 's1', '8', '8']]
    """
    ids = any(s.student_id for s in book.students)
    sections = any(s.section for s in book.students)
    lead = ["Student", *(["SIS User ID"] if ids else []), *(["Section"] if sections else [])]
    rows: list[list[str]] = [[*lead, *book.questions, book.total_name]]
    if book.points:
        total_points = sum(book.points.get(q, 0.0) for q in book.questions)
        rows.append(["Points Possible", *[""] * (len(lead) - 1),
                     *(format_score(book.points.get(q)) for q in book.questions), format_score(total_points)])
    for s in book.students:
        rows.append(
            [s.student, *([s.student_id] if ids else []), *([s.section] if sections else []),
             *(format_score(s.scores.get(q)) for q in book.questions), format_score(s.total)]
        )
    return rows


def moodle_rows(book: Gradebook, *, identifier: str = "ID number") -> list[list[str]]:
    """Rows of a Moodle grade import: identifier, per question its grade and feedback, then the total.

    The identifier is the student ID, or the name when there is none.

    >>> from grader.store import ResultRecord
    >>> book = build_gradebook([ResultRecord(0, 2, "Ann", "q1", "t", 8, 10, 80, feedback="Well argued.", student_id="s1")], {})
    >>> moodle_rows(book)
    [['ID number', 'q1', 'Feedback: q1', 'Total'], ['s1', '8', 'Well argued.', '8']]
    """
    header = [identifier]
    for q in book.questions:
        header += [q, f"Feedback: {q}"]
    rows: list[list[str]] = [[*header, book.total_name]]
    for s in book.students:
        row = [s.student_id or s.student]
        for q in book.questions:
            row += [format_score(s.scores.get(q)), s.feedback.get(q, "")]
        rows.append([*row, format_score(s.total)])
    return rows


def gradebook_rows(book: Gradebook) -> list[list[str]]:
    """A plain gradebook CSV: student, student id, one column per question, total.

    >>> from grader.store import ResultRecord
    >>> gradebook_rows(build_gradebook([ResultRecord(0, 2, "Ann", "q1", "t", 8, 10, 80)], {}))
    [['student', 'student id', 'q1', 'Total'], ['Ann', '', '8', '8']]
    """
    rows: list[list[str]] = [["student", "student id", *book.questions, book.total_name]]
    for s in book.students:
        rows.append([s.student, s.student_id, *(format_score(s.scores.get(q)) for q in book.questions), format_score(s.total)])
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
                str(r.line), r.student, r.question_id, format_score(r.score),
                format_score(None if ov is None else ov.score),
                format_score(r.score if ov is None else ov.score), format_score(r.max_score),
                r.student_id, r.flags, r.reasons, "" if ov is None else ov.reason,
                r.feedback.replace("\n", " "), r.answer,
            ]
        )
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
