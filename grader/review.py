"""The teacher's review queue: which scored rows to look at first, and why.

Order: rows that could not be scored, then rows with validity flags, then rows where the
scorer is unsure (its own review reasons), then rows whose percent lies near a grade
boundary; within a group the closest to a boundary first, then input order. Rows with no
reason are not in the queue.
"""

from __future__ import annotations

from collections.abc import Sequence

from grader.batch import RowScore
from grader.store import ResultRecord

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
        flags=";".join(dict.fromkeys(f.code for f in r.flags)),
        needs_review=r.needs_review,
        reasons=";".join(r.review_reasons),
        feedback="\n".join(r.feedback),
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
