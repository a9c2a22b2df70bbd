"""grader.marking: the teacher's concept marks recompute the score with the scorer's own formula."""

from __future__ import annotations

import csv

import pytest

from grader.marking import score_with_marks
from grader.rubric import load_rubrics
from grader.scorer_set import ScorerSet

from conftest import REPO, SEED_DIR

SAMPLES = REPO / "samples" / "destalinization" / "graded.csv"


@pytest.fixture(scope="module")
def scored():
    rubrics = load_rubrics(SEED_DIR)
    pool = ScorerSet(rubrics)
    with SAMPLES.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [(rubrics[r["question_id"]], pool.score(r["question_id"], r["answer"])) for r in rows]


def test_no_marks_gives_back_the_scorers_score_and_feedback(scored) -> None:
    for rubric, result in scored:
        same = score_with_marks(rubric, result, {})
        assert same.score == result.score and same.feedback == result.feedback and same.changed == {}
        agree = score_with_marks(rubric, result, {c.concept_id: c.matched for c in result.concepts})
        assert agree.score == result.score and agree.changed == {}


def test_marking_a_concept_present_never_lowers_and_absent_never_raises(scored) -> None:
    moved = 0
    for rubric, result in scored[:60]:
        for c in result.concepts:
            flipped = score_with_marks(rubric, result, {c.concept_id: not c.matched})
            assert flipped.changed == {c.concept_id: not c.matched}
            if c.matched:
                assert flipped.score <= result.score
            else:
                assert flipped.score >= result.score
            moved += flipped.score != result.score
    assert moved > 20


def test_all_concepts_present_reach_a_high_score_unless_flags_cap_it(scored) -> None:
    rubric, result = next((r, s) for r, s in scored if not s.flags and not s.misconceptions)
    full = score_with_marks(rubric, result, {c.concept_id: True for c in result.concepts})
    assert full.score >= 0.75 * rubric.max_score
    assert all(item.kind != "missing" for item in full.feedback)


def test_unknown_concept_and_reason_text(scored) -> None:
    rubric, result = scored[0]
    with pytest.raises(KeyError, match="unknown concept 'nope'"):
        score_with_marks(rubric, result, {"nope": True})
    c = result.concepts[0]
    marked = score_with_marks(rubric, result, {c.concept_id: not c.matched})
    state = "present" if not c.matched else "absent"
    assert marked.reason({c.concept_id: c.label}) == f"Concepts marked by the teacher: {state}: {c.label}"


def test_latest_marks_keep_the_last_mark_per_row_and_concept() -> None:
    from datetime import datetime, timezone

    from grader.marking import latest_marks
    from grader.store import ConceptMark

    now = datetime.now(timezone.utc)
    marks = [ConceptMark(1, 0, "q", "a", True, "ans", now), ConceptMark(1, 0, "q", "a", False, "ans", now),
             ConceptMark(2, 0, "q", "a", True, "other", now)]
    assert latest_marks(marks) == [("ans", "a", False), ("other", "a", True)]


def test_marks_follow_the_scorer_on_a_calibrated_rubric_with_no_concept_earned() -> None:
    """Both go through grader.scoring.score_parts: a calibration that lets a no-concept answer
    pass applies to the recomputed score too (a copied formula once missed this)."""
    from grader.rubric import rubric_from_dict
    from grader.scoring import Scorer

    rubric = rubric_from_dict({
        "id": "x", "question": "Who led the USSR after Stalin?", "model_answer": "Nikita Khrushchev led it.",
        "concepts": [{"id": "k", "label": "Khrushchev", "terms": ["Khrushchev"]}],
        "scoring": {"calibration": {"points": [[0, 0.6], [1, 1]]}},
    })
    result = Scorer(rubric).score("Some leader took over after him.")
    assert not any(c.matched for c in result.concepts) and result.score >= 5  # the calibration passes it
    assert score_with_marks(rubric, result, {}).score == result.score
