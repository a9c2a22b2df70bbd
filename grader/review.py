"""The teacher's review queue: which scored rows to look at first, and why.

Order: rows that could not be scored, then rows with validity flags, then rows where the
scorer is unsure (its own review reasons), then rows whose percent lies near a grade
boundary; within a group the closest to a boundary first, then input order. Rows with no
reason are not in the queue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from grader.rows import RowScore
from grader.store import Override, ResultRecord

DEFAULT_BOUNDARIES = (50.0, 60.0, 70.0, 80.0, 90.0)
DEFAULT_MARGIN = 2.5
GROUPS = ("error", "flagged", "unsure", "near boundary")


def record_from_score(row: int, scored: RowScore, *, student: str, answer: str, student_id: str = "") -> ResultRecord:
    """Flatten an in-memory scored row into the stored shape (flags and reasons joined by ``;``)."""
    r = scored.result
    if r is None:
        return ResultRecord(
            row=row, line=scored.line, student=student, question_id=scored.rubric_id, answer=answer,
            score=None, max_score=None, percent=None, flags=scored.error or "", needs_review=True,
            reasons=scored.error or "", student_id=student_id,
        )
    return ResultRecord(
        row=row,
        line=scored.line,
        student=student,
        question_id=r.rubric_id,
        answer=answer,
        score=r.score,
        max_score=r.max_score,
        percent=r.percent,
        flags=";".join(r.flag_codes),
        needs_review=r.needs_review,
        reasons=";".join(r.review_reasons),
        feedback="\n".join(item.text for item in r.feedback),
        student_id=student_id,
    )


def boundary_distance(percent: float | None, boundaries: Sequence[float] = DEFAULT_BOUNDARIES) -> float:
    """Distance in percentage points from ``percent`` to the nearest boundary (inf if none).

    >>> boundary_distance(58.0), boundary_distance(None)
    (2.0, inf)
    """
    if percent is None or not boundaries:
        return float("inf")
    return min(abs(percent - b) for b in boundaries)


def review_group(
    record: ResultRecord, *, boundaries: Sequence[float] = DEFAULT_BOUNDARIES, margin: float = DEFAULT_MARGIN
) -> str | None:
    """The queue group of a row (one of :data:`GROUPS`), or None if it needs no review.

    >>> review_group(ResultRecord(0, 2, "a", "q", "t", 5.5, 10, 55.0, flags="keyword_list"))
    'flagged'
    >>> review_group(ResultRecord(0, 2, "a", "q", "t", 7.0, 10, 70.0))
    'near boundary'
    >>> review_group(ResultRecord(0, 2, "a", "q", "t", 7.5, 10, 75.0)) is None
    True
    """
    if record.score is None:
        return "error"
    if record.flags:
        return "flagged"
    if record.needs_review or record.reasons:
        return "unsure"
    if boundary_distance(record.percent, boundaries) <= margin:
        return "near boundary"
    return None


def review_queue(
    records: Sequence[ResultRecord],
    *,
    boundaries: Sequence[float] = DEFAULT_BOUNDARIES,
    margin: float = DEFAULT_MARGIN,
) -> list[tuple[ResultRecord, str]]:
    """Rows needing review with their group, most urgent first (deterministic order).

    >>> recs = [ResultRecord(0, 2, "a", "q", "t", 7.5, 10, 75.0),
    ...         ResultRecord(1, 3, "b", "q", "t", 5.0, 10, 51.0),
    ...         ResultRecord(2, 4, "c", "q", "", None, None, None, flags="error_empty_answer")]
    >>> [(r.row, g) for r, g in review_queue(recs)]
    [(2, 'error'), (1, 'near boundary')]
    """
    keyed = []
    for rec in records:
        group = review_group(rec, boundaries=boundaries, margin=margin)
        if group is not None:
            keyed.append(((GROUPS.index(group), boundary_distance(rec.percent, boundaries), rec.row), rec, group))
    keyed.sort(key=lambda item: item[0])
    return [(rec, group) for _, rec, group in keyed]


def final_score(record: ResultRecord, override: float | None) -> float | None:
    """The teacher's override if there is one, else the automatic score.

    >>> final_score(ResultRecord(0, 2, "a", "q", "t", 5.0, 10, 50.0), 6.5)
    6.5
    """
    return record.score if override is None else override


def result_table(
    records: Sequence[ResultRecord],
    overrides: Mapping[int, Override],
    groups: Mapping[int, str] | None = None,
) -> list[dict[str, object]]:
    """The rows of a run as the teacher reads them: one dict per row, nothing cut off.

    Rows are named by their ``line`` in the uploaded file (as in every message), never by a
    0-based position; text cells are ``""`` rather than None; scores stay numbers (None when
    missing) so the table sorts. ``groups`` adds the "why review" column of the queue.

    >>> result_table([ResultRecord(0, 2, "Ann", "q1", "An answer.", 5.0, 10, 50.0, student_id="s1")], {})[0]["line"]
    2
    """
    out: list[dict[str, object]] = []
    for rec in records:
        ov = overrides.get(rec.row)
        row: dict[str, object] = {
            "line": rec.line,
            "student": rec.student,
            "student id": rec.student_id,
            "question": rec.question_id,
            "auto score": rec.score,
            "override": None if ov is None else ov.score,
            "final score": final_score(rec, None if ov is None else ov.score),
            "max": rec.max_score,
        }
        if groups is not None:
            row["why review"] = groups.get(rec.row, "")
        row.update({
            "flags": rec.flags.replace(";", "; "),
            "reasons": rec.reasons.replace(";", "; "),
            "override reason": "" if ov is None else ov.reason,
            "answer": rec.answer,
        })
        out.append(row)
    return out


def row_label(record: ResultRecord) -> str:
    """How a row is named on screen: its file line, the student, the question and the automatic score.

    >>> row_label(ResultRecord(0, 2, "Ann", "q1", "t", 5.0, 10, 50.0, student_id="s1"))
    'line 2 - Ann (s1) - q1 - auto 5'
    """
    who = record.student or record.student_id or "(no name)"
    if record.student and record.student_id and record.student_id != record.student:
        who += f" ({record.student_id})"
    auto = "-" if record.score is None else f"{record.score:g}"
    return f"line {record.line} - {who} - {record.question_id or '(no question)'} - auto {auto}"
