"""The class at a glance: concepts most of the class missed, score spread, where teacher and scorer disagree.

Pure functions over a run's stored rows, the teacher's overrides, the scorer's results per
row and the teacher's concept marks (a marked concept counts as the teacher said).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from grader.review import final_score
from grader.scoring import ScoreResult
from grader.store import Override, ResultRecord


def concept_misses(
    records: Sequence[ResultRecord],
    results: Mapping[int, ScoreResult],
    *,
    marks: Mapping[int, Mapping[str, bool]] | None = None,
) -> list[dict[str, object]]:
    """Per question and concept: how many scored answers miss it and what share, most missed first.

    >>> from grader.concepts import ConceptMatch
    >>> from grader.store import ResultRecord
    >>> res = lambda hit: ScoreResult("q", 5, 10, .5, .5, .5, [ConceptMatch("c", "C", 1, hit)], [], [], [], False)
    >>> recs = [ResultRecord(i, i + 2, "s", "q", "t", 5, 10, 50) for i in range(4)]
    >>> concept_misses(recs, {0: res(True), 1: res(False), 2: res(False), 3: res(False)})[0]["missed"]
    0.75
    """
    marks = marks or {}
    counts: dict[tuple[str, str], list] = {}
    for rec in records:
        result = results.get(rec.row)
        if result is None:
            continue
        for c in result.concepts:
            present = marks.get(rec.row, {}).get(c.concept_id, c.matched)
            entry = counts.setdefault((rec.question_id, c.concept_id), [c.label, 0, 0])
            entry[1] += 0 if present else 1
            entry[2] += 1
    rows = [
        {"question": q, "concept": cid, "label": label, "missed by": miss, "answers": n, "missed": round(miss / n, 4)}
        for (q, cid), (label, miss, n) in counts.items()
    ]
    return sorted(rows, key=lambda r: (r["question"], -r["missed"], r["concept"]))


def score_spread(records: Sequence[ResultRecord], overrides: Mapping[int, Override]) -> list[dict[str, object]]:
    """Per question: answers scored, mean, median, lowest, highest final score (overrides applied)."""
    import statistics

    by_q: dict[str, list[float]] = {}
    for rec in records:
        ov = overrides.get(rec.row)
        score = final_score(rec, None if ov is None else ov.score)
        if score is not None:
            by_q.setdefault(rec.question_id, []).append(score)
    return [
        {"question": q, "answers": len(v), "mean": round(statistics.fmean(v), 2), "median": statistics.median(v),
         "lowest": min(v), "highest": max(v)}
        for q, v in sorted(by_q.items())
    ]


def disagreements(
    records: Sequence[ResultRecord], overrides: Mapping[int, Override], *, top: int = 10
) -> list[dict[str, object]]:
    """The overridden answers where the teacher's score is farthest from the scorer's, largest gap first.

    >>> from datetime import datetime, timezone
    >>> from grader.store import ResultRecord
    >>> recs = [ResultRecord(0, 2, "a", "q", "t", 5, 10, 50), ResultRecord(1, 3, "b", "q", "t", 4, 10, 40)]
    >>> ov = {0: Override(1, 0, 6, "x", datetime.now(timezone.utc)), 1: Override(1, 1, 9, "y", datetime.now(timezone.utc))}
    >>> [d["line"] for d in disagreements(recs, ov)]
    [3, 2]
    """
    rows = []
    for rec in records:
        ov = overrides.get(rec.row)
        if ov is None or rec.score is None:
            continue
        rows.append({"line": rec.line, "student": rec.student or rec.student_id, "question": rec.question_id,
                     "scorer": rec.score, "teacher": ov.score, "gap": round(ov.score - rec.score, 4),
                     "reason": ov.reason, "answer": rec.answer})
    rows.sort(key=lambda r: (-abs(r["gap"]), r["line"]))
    return rows[:top]
