"""Re-score stored runs after a rubric change, and say whose score moved and by how much.

Only rows of the changed questions are scored again (with every rubric of the set, as batch
scoring does, so checks that compare questions see the same set). Overrides are stored apart
from the automatic scores and are never touched: a row with an override keeps its final
score, and the table says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from grader.batch import score_rows
from grader.review import record_from_score
from grader.rubric import Rubric
from grader.scorer_set import ScorerSet
from grader.store import Store


@dataclass(frozen=True, slots=True)
class ScoreChange:
    """One re-scored row: the automatic score before and after, and the override that still wins (if any)."""

    run_id: int
    line: int
    student: str
    question_id: str
    before: float | None
    after: float | None
    override: float | None

    @property
    def change(self) -> float | None:
        """after - before (None when either is missing)."""
        if self.before is None or self.after is None:
            return None
        return round(self.after - self.before, 4)

    def as_row(self) -> dict[str, object]:
        """A table row for the teacher."""
        return {
            "run": self.run_id, "line": self.line, "student": self.student, "question": self.question_id,
            "before": self.before, "after": self.after, "change": self.change,
            "final score": self.override if self.override is not None else self.after,
            "override kept": "" if self.override is None else f"{self.override:g}",
        }


def rescore_runs(
    store: Store, rubrics: ScorerSet | Mapping[str, Rubric], changed: Sequence[str], *, run_ids: Sequence[int] | None = None
) -> list[ScoreChange]:
    """Score again every stored row of the ``changed`` question ids with ``rubrics`` (a scorer
    set, or rubrics scored as one) and store the new scores.

    ``run_ids`` limits the re-score to those runs. Returns one :class:`ScoreChange` per
    re-scored row, runs newest first, then by line.
    """
    scorers = ScorerSet.coerce(rubrics)
    wanted = [q for q in changed if q in scorers]
    affected = store.runs_with_questions(wanted)
    out: list[ScoreChange] = []
    for run_id in sorted(r for r in affected if run_ids is None or r in run_ids)[::-1]:
        records = [r for r in store.load_results(run_id) if r.question_id in wanted]
        if not records:
            continue
        scored = score_rows(
            ["question_id", "answer"], [(r.line, [r.question_id, r.answer]) for r in records], scorers,
            answer_col="answer", question_col="question_id",
        )
        fresh = [
            record_from_score(r.row, s, student=r.student, student_id=r.student_id, answer=r.answer)
            for r, s in zip(records, scored)
        ]
        store.replace_results(run_id, fresh)
        overrides = store.overrides(run_id)
        for old, new in zip(records, fresh):
            ov = overrides.get(old.row)
            out.append(ScoreChange(run_id, old.line, old.student or old.student_id, old.question_id, old.score,
                                   new.score, None if ov is None else ov.score))
    return out


def moved(changes: Sequence[ScoreChange]) -> list[ScoreChange]:
    """The changes where the automatic score moved, largest move first."""
    return sorted((c for c in changes if c.before != c.after), key=lambda c: (-(abs(c.change or 0)), c.run_id, c.line))
