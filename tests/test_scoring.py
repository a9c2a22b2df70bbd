"""Scoring: bounds, determinism, calibration, rounding, required cap, penalties, JSON contract."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.feedback import FeedbackItem
from grader.rubric import Calibration, Scoring, rubric_from_dict
from grader.scoring import Scorer, apply_calibration, combine, round_to_step, scale_similarity, score_answer

from conftest import minimal_rubric_data

FULL = (
    "Khrushchev denounced Stalin in the Secret Speech of 1956. Political prisoners were released "
    "from the camps and censorship was relaxed during the Thaw."
)
JSON_KEYS = {"rubric_id", "score", "max_score", "percent", "concepts", "flags", "feedback"}


def _scorer(**overrides) -> Scorer:
    return Scorer(rubric_from_dict(minimal_rubric_data(**overrides)))


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return _scorer()


@pytest.mark.parametrize(
    ("sim", "floor", "ceiling", "expected"),
    [(0.3, 0.1, 0.5, 0.5), (0.05, 0.1, 0.5, 0.0), (0.9, 0.1, 0.5, 1.0), (0.1, 0.1, 0.5, 0.0), (0.5, 0.1, 0.5, 1.0)],
)
def test_scale_similarity(sim: float, floor: float, ceiling: float, expected: float) -> None:
    assert scale_similarity(sim, Scoring(similarity_floor=floor, similarity_ceiling=ceiling)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("raw", "points", "expected"),
    [
        (0.25, [(0, 0), (0.5, 1)], 0.5),
        (0.75, [(0, 0), (0.5, 1)], 1.0),  # beyond the last point: flat
        (0.5, [(0, 0), (0.4, 0.2), (1, 1)], pytest.approx(0.2 + 0.1 / 0.6 * 0.8)),
        (0.0, [(0.2, 0.1), (1, 1)], 0.1),
    ],
)
def test_apply_calibration(raw: float, points, expected) -> None:
    assert apply_calibration(raw, Calibration(points=points)) == expected


def test_apply_calibration_identity_without_points() -> None:
    assert apply_calibration(0.37, None) == 0.37


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [(7.26, 0.5, 7.5), (7.25, 0.5, 7.5), (7.24, 0.5, 7.0), (7.74, 0.5, 7.5), (3.3, 1, 3.0), (3.5, 1, 4.0),
     (2.345, 0, 2.35), (0.1 + 0.2, 0.1, 0.3), (9.99, 0.25, 10.0)],
)
def test_round_to_step(value: float, step: float, expected: float) -> None:
    assert round_to_step(value, step) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("coverage", "sim", "missing_required", "penalty", "caps", "expected"),
    [
        (1.0, 1.0, False, 0.0, [], 1.0),
        (0.0, 0.0, False, 0.0, [], 0.0),
        (1.0, 0.0, False, 0.0, [], 1.0),  # every concept covered: full marks whatever the wording
        (0.0, 1.0, False, 0.0, [], 0.125),  # wording alone runs at most SIMILARITY_LEAD ahead of coverage
        (0.4, 1.0, False, 0.0, [], 0.525),
        (1.0, 1.0, True, 0.0, [], 0.6),  # missing_required_cap
        (1.0, 1.0, False, 0.3, [], 0.7),
        (0.1, 0.0, False, 0.5, [], 0.0),  # never below 0
        (1.0, 1.0, False, 0.0, [0.5, 0.1], 0.1),
        (1.0, 1.0, True, 0.2, [], 0.4),  # cap, then penalty
    ],
)
def test_combine(coverage, sim, missing_required, penalty, caps, expected) -> None:
    got = combine(coverage, sim, scoring=Scoring(), missing_required=missing_required, penalty=penalty, caps=caps)
    assert got == pytest.approx(expected)


@pytest.mark.parametrize(("completeness", "sim", "expected"), [(1.0, 0.0, 1.0), (0.9, 0.0, 0.875), (0.8, 0.0, 0.75), (0.8, 0.6, 0.9)])
def test_combine_completeness_lifts_the_similarity_part_above_the_target(completeness, sim, expected) -> None:
    """Coverage is already full at the target (0.8); beyond it, the similarity part's floor rises to 1."""
    got = combine(1.0, sim, scoring=Scoring(), missing_required=False, penalty=0.0, caps=[], completeness=completeness)
    assert got == pytest.approx(expected)


def test_full_answer_scores_max_and_empty_scores_zero(scorer: Scorer) -> None:
    full, empty = scorer.score_many([FULL, ""])
    assert full.score == full.max_score == 10 and full.percent == 100.0
    assert all(c.matched for c in full.concepts)
    assert empty.score == 0 and [f.code for f in empty.flags] == ["empty"]


def test_partial_answer_is_in_between(scorer: Scorer) -> None:
    result = scorer.score("Khrushchev denounced Stalin in his famous Secret Speech to the Party congress.")
    assert 0 < result.score < result.max_score
    assert [c.matched for c in result.concepts] == [True, False, False]
    assert any("What happened in the camps?" in item.text for item in result.feedback)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=st.text(max_size=300))
def test_score_is_always_within_bounds(scorer: Scorer, answer: str) -> None:
    result = scorer.score(answer)
    assert 0 <= result.score <= result.max_score
    assert 0 <= result.percent <= 100
    assert 0 <= result.raw <= 1 and 0 <= result.coverage <= 1 and 0 <= result.similarity <= 1
    assert result.score == round_to_step(result.score, 0.5)  # on the rubric's step


def test_deterministic_across_scorers_and_batches() -> None:
    answers = [FULL, "The Thaw. Prisoners freed from the gulag. It became a democracy.", "I don't know"]
    first = [r.to_dict() for r in _scorer().score_many(answers)]
    again = [r.to_dict() for r in _scorer().score_many(list(reversed(answers)))][::-1]
    one_by_one = [_scorer().score(a).to_dict() for a in answers]
    assert first == again == one_by_one


def test_calibration_maps_raw_score() -> None:
    plain = _scorer().score("Khrushchev gave the Secret Speech denouncing Stalin's crimes.")
    calibrated = _scorer(scoring={"calibration": {"points": [[0, 0], [0.25, 0.0], [0.5, 0.9], [1, 1]]}}).score(
        "Khrushchev gave the Secret Speech denouncing Stalin's crimes."
    )
    assert calibrated.raw == pytest.approx(plain.raw)
    expected = apply_calibration(plain.raw, Calibration(points=[(0, 0), (0.25, 0.0), (0.5, 0.9), (1, 1)]))
    assert calibrated.score == round_to_step(expected * 10, 0.5)
    assert calibrated.score != plain.score


def test_required_concept_missing_caps_the_score() -> None:
    data = minimal_rubric_data()
    data["concepts"][0]["required"] = True
    answer = "Political prisoners were released from the camps and censorship was relaxed during the Thaw."
    free = _scorer().score(answer)
    capped = Scorer(rubric_from_dict(data)).score(answer)
    assert capped.score <= 0.6 * capped.max_score < free.score


def test_misconception_costs_its_penalty_and_gives_feedback(scorer: Scorer) -> None:
    clean = scorer.score(FULL)
    wrong = scorer.score(FULL + " After that the USSR became a democracy.")
    assert clean.score - wrong.score == pytest.approx(3.0, abs=0.5)  # penalty 0.3 of max_score 10
    assert [m.misconception_id for m in wrong.misconceptions] == ["democracy"]
    assert FeedbackItem("misconception", "Check this: The USSR stayed a one-party state.") in wrong.feedback
    assert "misconception" not in [f.code for f in wrong.flags]  # a wrong claim, not a validity flag
    assert wrong.flag_codes[-1] == "misconception" and "flag:misconception" in wrong.review_reasons
    assert {"code": "misconception", "message": "The USSR stayed a one-party state."} in wrong.to_dict()["flags"]


def test_negated_concept_is_flagged_not_earned(scorer: Scorer) -> None:
    result = scorer.score("Khrushchev never denounced Stalin and political prisoners were not released at all.")
    assert not any(c.matched for c in result.concepts)
    assert [f.code for f in result.flags].count("negated_concept") >= 1


def test_max_score_and_step_come_from_rubric() -> None:
    result = _scorer(max_score=4, scoring={"score_step": 1}).score("Khrushchev gave the Secret Speech on Stalin.")
    assert result.max_score == 4
    assert result.score == int(result.score)
    assert result.percent == round(100 * result.score / 4, 1)


def test_feedback_never_quotes_model_answer_or_terms(scorer: Scorer) -> None:
    result = scorer.score("Something about the Soviet Union in those years, explained at length here.")
    text = " ".join(item.text for item in result.feedback).lower()
    for phrase in ["political prisoners released", "censorship relaxed", "secret speech", "freed from the gulag"]:
        assert phrase not in text


def test_to_dict_is_the_json_contract(scorer: Scorer) -> None:
    data = scorer.score(FULL + " It became a democracy.").to_dict()
    assert JSON_KEYS <= set(data)
    assert data["rubric_id"] == "thaw" and data["max_score"] == 10
    assert 0 <= data["percent"] <= 100
    assert [c["id"] for c in data["concepts"]] == ["speech", "prisoners", "censorship"]
    for c in data["concepts"]:
        assert {"id", "label", "matched", "evidence"} <= set(c)
        assert all(isinstance(e, str) and e in FULL for e in c["evidence"])
    assert all({"code", "message"} <= set(f) for f in data["flags"])
    assert all(isinstance(line, str) for line in data["feedback"])
    assert json.loads(json.dumps(data)) == data


def test_score_answer_convenience_matches_scorer(scorer: Scorer) -> None:
    assert score_answer(scorer.rubric, FULL).to_dict() == scorer.score(FULL).to_dict()
