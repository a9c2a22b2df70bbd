"""The batch pipeline (chunks, scores-only path, memo) gives what the per-answer scorer gives.

Real answers from the three public data sets in ``../shared/datasets`` (Mohler, SemEval-2013,
ASAP-SAS), scored against rubrics built from their questions and reference answers: every
output cell of ``run_batch`` equals the cells of ``ScorerSet.score`` on that answer alone,
and the scores-only path keeps every score, flag, review reason and concept credit.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from grader.batch import run_batch
from grader.build import build_rubric
from grader.output_columns import format_result
from grader.rubric import save_rubric
from grader.scorer_set import ScorerSet

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO.parent / "shared" / "datasets"
PER_SET = {"mohler": (12, 25), "semeval2013": (10, 25), "asap-sas": (4, 60)}
"""Data set -> (questions, answers per question): a few hundred varied answers each."""


def _sample(name: str) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """(rubric id, question, reference) of the first questions, and their (rubric id, answer) rows."""
    folder = DATASETS / name
    assert folder.is_dir(), f"public data sets missing: {folder} (../shared/datasets beside the repository)"
    n_questions, n_answers = PER_SET[name]
    with open(folder / f"{name}_questions.csv", encoding="utf-8", newline="") as fh:
        questions = list(csv.DictReader(fh))[:n_questions]
    ids = {q["question_id"]: "q-" + "".join(ch if ch.isalnum() else "-" for ch in q["question_id"]) for q in questions}
    refs = [(ids[q["question_id"]], q["question"], q.get("reference_answer") or "") for q in questions]
    taken: dict[str, int] = {}
    rows = []
    with open(folder / f"{name}.csv", encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            rid = ids.get(r["question_id"])
            if rid is not None and taken.get(rid, 0) < n_answers:
                taken[rid] = taken.get(rid, 0) + 1
                rows.append((rid, r["student_answer"]))
    return refs, rows


def _references(name: str, refs: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """ASAP-SAS has no reference answers: its longest top-scored training answer stands in."""
    if name != "asap-sas":
        return refs
    best: dict[str, str] = {}
    with open(DATASETS / name / f"{name}.csv", encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            rid = "q-" + "".join(ch if ch.isalnum() else "-" for ch in r["question_id"])
            if r["split"] == "train" and r["score"] == r["max_score"] and len(r["student_answer"]) > len(best.get(rid, "")):
                best[rid] = r["student_answer"]
    return [(rid, q, best[rid]) for rid, q, _ in refs]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PER_SET))
def test_batch_pipeline_equals_per_answer_scorer(name: str, tmp_path: Path) -> None:
    refs, rows = _sample(name)
    folder = tmp_path / "rubrics"
    folder.mkdir()
    for rid, question, reference in _references(name, refs):
        save_rubric(build_rubric(question, reference, rubric_id=rid), folder / f"{rid}.yaml", root=folder)
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    with src.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["question_id", "answer"])
        writer.writerows(rows + rows[:40])  # repeats go through the memo
    summary = run_batch(folder, src, out, chunk_size=97)
    assert summary.scored == len(rows) + 40

    scorers = ScorerSet.from_folder(folder)  # a fresh set: nothing cached from the batch run
    with out.open(encoding="utf-8", newline="") as fh:
        written = list(csv.reader(fh))[1:]
    flagged = 0
    for (rid, answer), cells in zip(rows + rows[:40], written):
        alone = scorers.score(rid, answer)
        assert cells[2:] == format_result(alone), (rid, answer)
        flagged += bool(alone.flags)
    assert flagged, "the sample should exercise the checks too"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PER_SET))
def test_scores_only_path_keeps_scores_flags_and_credit(name: str, tmp_path: Path) -> None:
    refs, rows = _sample(name)
    rubrics = {rid: build_rubric(q, ref, rubric_id=rid) for rid, q, ref in _references(name, refs)}
    scorers = ScorerSet(rubrics)
    by_rubric: dict[str, list[str]] = {}
    for rid, answer in rows:
        by_rubric.setdefault(rid, []).append(answer)
    earned = 0
    for rid, answers in by_rubric.items():
        full = scorers.score_many(rid, answers)
        lean = scorers.score_many(rid, answers, detail=False)
        for a, b in zip(full, lean):
            assert (a.score, a.raw, a.coverage, a.similarity, a.flag_codes, a.review_reasons) == (
                b.score, b.raw, b.coverage, b.similarity, b.flag_codes, b.review_reasons)
            assert [(c.concept_id, c.matched, c.credit, c.negated) for c in a.concepts] == [
                (c.concept_id, c.matched, c.credit, c.negated) for c in b.concepts]
            assert [m.evidence for m in a.misconceptions] == [m.evidence for m in b.misconceptions]
            assert not b.feedback and all(not c.evidence for c in b.concepts)
            earned += any(c.evidence for c in a.concepts)
    assert earned, "the full path should have evidence to leave out"
