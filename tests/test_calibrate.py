"""Calibration: vectorised scoring matches the Scorer, fits recover known settings, CV never leaks."""

from __future__ import annotations

import numpy as np
import pytest

from grader.calibrate import calibrate
from grader.calibrator import (
    Calibrator,
    Features,
    Settings,
    apply_settings,
    earned_weights,
    extract_features,
    fit_concept_weights,
    fit_penalties,
    fit_settings,
    predict,
    raw_scores,
)
from grader.cross_validation import cross_validate, cv_splits, improved
from grader.cli import main
from grader.errors import InputError
from grader.rubric import Calibration, Scoring, load_rubric, rubric_from_dict, rubric_to_yaml
from grader.score_maps import isotonic_points, qwk_cuts, staircase_points
from grader.scoring import Scorer, apply_calibration, combine, round_to_step, scale_similarity

RUBRIC = rubric_from_dict(
    {
        "id": "speech",
        "question": "What did Khrushchev do in 1956 and what followed?",
        "model_answer": "In the Secret Speech he denounced Stalin's cult of personality; prisoners were "
        "released from the gulag and censorship was relaxed during the Thaw.",
        "max_score": 10,
        "concepts": [
            {"id": "speech", "label": "Secret Speech", "terms": ["secret speech"]},
            {"id": "cult", "label": "Cult of personality", "terms": ["cult of personality", "denounced Stalin"]},
            {"id": "prisoners", "label": "Prisoners released", "terms": ["prisoners released", "gulag"]},
            {"id": "thaw", "label": "Thaw", "terms": ["thaw", "censorship relaxed"]},
        ],
    }
)

ANSWERS = [
    ("In the Secret Speech he denounced Stalin's cult of personality, gulag prisoners were released and the Thaw relaxed censorship.", 10),
    ("He gave the Secret Speech attacking the cult of personality and many prisoners were released from the gulag.", 8),
    ("The Secret Speech denounced Stalin and started a thaw in culture.", 7),
    ("Khrushchev gave a secret speech against Stalin's cult of personality in 1956.", 6),
    ("Prisoners were released from the gulag camps after the speech of 1956.", 5),
    ("There was a thaw: censorship relaxed and writers could publish more freely.", 5),
    ("He criticised Stalin and some things changed in the country after that.", 3),
    ("Khrushchev became leader and did some reforms in farming and housing.", 2),
    ("Stalin was a great leader and everybody loved him a lot in 1956.", 1),
    ("The Cold War was a conflict between the USA and the Soviet Union.", 0),
    ("I am not sure what happened in that year to be honest with you.", 0),
    ("Stalin's crimes were exposed in a speech, and many people came back from the camps.", 7),
]
TEXTS = [a for a, _ in ANSWERS]
HUMAN = np.array([s for _, s in ANSWERS], dtype=float)
IDS = ["speech"] * len(ANSWERS)


@pytest.fixture(scope="module")
def features() -> Features:
    return extract_features({"speech": RUBRIC}, IDS, TEXTS)


def test_predict_with_the_rubric_settings_equals_the_scorer(features: Features) -> None:
    expected = [r.score for r in Scorer(RUBRIC).score_many(TEXTS)]
    assert predict({"speech": RUBRIC}, features, range(len(TEXTS))).tolist() == expected


def test_predict_with_fitted_settings_equals_the_scorer_on_the_calibrated_rubric(features: Features) -> None:
    settings = fit_settings({"speech": RUBRIC}, features, HUMAN / 10, range(len(TEXTS)), min_rows_for_weights=5)
    calibrated = apply_settings(RUBRIC, settings)
    expected = [r.score for r in Scorer(calibrated).score_many(TEXTS)]
    assert predict({"speech": RUBRIC}, features, range(len(TEXTS)), settings).tolist() == expected


@pytest.mark.parametrize(
    ("coverage", "similarity", "missing", "penalty", "cap"),
    [(0.0, 0.0, False, 0.0, 1.0), (0.5, 0.3, False, 0.0, 1.0), (1.0, 0.9, True, 0.0, 1.0),
     (0.75, 0.2, False, 0.2, 1.0), (1.0, 1.0, False, 0.0, 0.1), (0.25, 0.05, False, 0.5, 0.6)],
)
def test_raw_scores_is_the_vectorised_combine(coverage: float, similarity: float, missing: bool, penalty: float, cap: float) -> None:
    scoring = Scoring(similarity_weight=0.4, concept_weight=0.6, coverage_target=0.8, similarity_floor=0.1)
    earned = coverage * scoring.coverage_target  # of a total weight of 1: combine() takes the capped coverage
    scaled = scale_similarity(np.array([similarity]), scoring)
    got = raw_scores(np.array([earned]), np.ones(1), np.array([missing]), scaled, np.array([penalty]), np.array([cap]), scoring)
    want = combine(min(1.0, coverage), scale_similarity(similarity, scoring), scoring=scoring, completeness=earned,
                   missing_required=missing, penalty=penalty, caps=[cap] if cap < 1 else [])
    assert got[0] == pytest.approx(want)


def test_earned_weights_use_fitted_weights(features: Features) -> None:
    first = [0]  # the full answer matches every concept
    earned, total, _ = earned_weights({"speech": RUBRIC}, features, first, None)
    assert earned[0] == total[0] == RUBRIC.total_weight
    # answer 3 ("Secret Speech ... cult of personality") matches speech and cult only
    weighted = Settings(Scoring(), {"speech": (3.0, 1.0, 1.0, 1.0)})
    assert features.matched[3].tolist() == [True, True, False, False]
    earned, total, _ = earned_weights({"speech": RUBRIC}, features, [3], weighted)
    assert (earned[0], total[0]) == (4.0, 6.0)


def test_isotonic_points_pool_adjacent_violators_by_hand() -> None:
    # y = .5, .1, .9 at x = .1, .2, .3: the first two violate the order and pool to .3
    points = isotonic_points(np.array([0.1, 0.2, 0.3]), np.array([0.5, 0.1, 0.9]))
    assert points == [(0.0, 0.3), (0.1, 0.3), (0.2, 0.3), (0.3, 0.9), (1.0, 0.9)]


def test_isotonic_points_are_monotone_and_thinned() -> None:
    rng = np.random.default_rng(1)
    raw = rng.random(400)
    points = isotonic_points(raw, np.clip(raw + rng.normal(0, 0.1, 400), 0, 1), max_points=8)
    xs, ys = zip(*points)
    assert xs[0] == 0.0 and xs[-1] == 1.0
    assert all(a < b for a, b in zip(xs, xs[1:]))
    assert all(a <= b for a, b in zip(ys, ys[1:]))
    assert len(points) <= 10


def test_fit_concept_weights_prefers_the_concept_that_predicts() -> None:
    matched = np.array([[1, 0], [1, 1], [0, 1], [0, 0], [1, 0], [0, 1]])
    target = np.array([1.0, 1.0, 0.0, 0.0, 1.0, 0.0])  # only the first concept matters
    weights = fit_concept_weights(matched, target, np.array([1.0, 1.0]))
    assert weights[0] > 1.4 and weights[1] == pytest.approx(0.5)  # fit (2, 0) blended with (1, 1)


def test_fit_concept_weights_keeps_current_when_nothing_to_learn() -> None:
    current = np.array([1.5, 1.0])
    assert fit_concept_weights(np.array([[1, 0], [0, 1]]), np.array([0.5, 0.5]), current) is current


def test_fit_settings_finds_similarity_when_it_is_what_humans_follow() -> None:
    rng = np.random.default_rng(0)
    n = 60
    sim = rng.random(n)
    feats = Features(("speech",) * n, tuple(rng.random((n, 4)) < 0.5), sim, np.zeros(n), np.ones(n))
    settings = fit_settings({"speech": RUBRIC}, feats, sim, range(n), fit_weights=False)
    assert settings.scoring.similarity_weight == 0.9
    assert settings.scoring.calibration is not None
    assert settings.train_rows == frozenset(range(n))


def test_fit_settings_needs_two_rows(features: Features) -> None:
    with pytest.raises(InputError, match="at least 2 graded answers; got 1"):
        fit_settings({"speech": RUBRIC}, features, HUMAN / 10, [0])


@pytest.mark.parametrize("by", ["answer", "question"])
def test_cv_splits_partition_rows_without_overlap(by: str) -> None:
    groups = ["a"] * 12 + ["b"] * 10 + ["c"] * 8
    splits = cv_splits(groups, by=by, folds=3, seed=4)
    tests = np.concatenate([te for _, te in splits])
    assert sorted(tests.tolist()) == list(range(30))  # every row tested exactly once
    for train, test in splits:
        assert not set(train) & set(test)
        assert len(train) + len(test) == 30
        if by == "question":
            assert not {groups[i] for i in train} & {groups[i] for i in test}
        else:
            assert {groups[i] for i in train} == {"a", "b", "c"}


def test_cv_splits_reject_bad_arguments() -> None:
    with pytest.raises(InputError, match="at least 2 questions"):
        cv_splits(["a", "a"], by="question")
    with pytest.raises(ValueError, match="must be 'answer' or 'question'. Got 'row'"):
        cv_splits(["a", "a"], by="row")


@pytest.mark.slow  # cross-validation refits once per fold
def test_cross_validation_never_sees_its_test_rows(features: Features) -> None:
    rubrics = {"speech": RUBRIC}
    cv = cross_validate(rubrics, features, HUMAN, folds=3, fit_weights=True)
    assert not np.isnan(cv.predictions).any()
    for (train, test), settings in zip(cv.folds, cv.fitted):
        assert settings.train_rows == frozenset(train.tolist())
        assert not settings.train_rows & set(test.tolist())
    # Changing the human scores of one fold's test rows must not change that fold's predictions.
    train, test = cv.folds[0]
    scrambled = HUMAN.copy()
    scrambled[test] = 10 - scrambled[test]
    again = cross_validate(rubrics, features, scrambled, folds=3, fit_weights=True)
    assert np.array_equal(again.predictions[test], cv.predictions[test])
    assert again.before == cross_validate(rubrics, features, scrambled, folds=3).before


@pytest.mark.slow  # cross-validation refits once per fold
def test_before_figures_are_the_rubric_as_it_is(features: Features) -> None:
    from grader.evaluate import agreement

    cv = cross_validate({"speech": RUBRIC}, features, HUMAN, folds=3)
    auto = [r.score for r in Scorer(RUBRIC).score_many(TEXTS)]
    assert cv.before == agreement(HUMAN, auto, max_score=10)


def test_improved_compares_cross_validated_figures() -> None:
    class CV:
        before = {"pearson": 0.5, "rmse": 1.0}
        after = {"pearson": 0.6, "rmse": 1.2}

    assert improved(CV()) is True  # type: ignore[arg-type]
    assert improved(CV(), metric="rmse") is False  # type: ignore[arg-type]


@pytest.mark.slow  # a full calibration
def test_calibrate_returns_valid_rubrics_with_a_monotone_map() -> None:
    result = calibrate({"speech": RUBRIC}, IDS, TEXTS, HUMAN, folds=3)
    rubric = result.rubrics["speech"]
    assert rubric.scoring.calibration is not None
    ys = [y for _, y in rubric.scoring.calibration.points]
    assert ys == sorted(ys)
    assert rubric.model_answer == RUBRIC.model_answer  # only scoring settings change


def _write_inputs(tmp_path) -> tuple:
    rubric_path = tmp_path / "speech.yaml"
    rubric_path.write_text(rubric_to_yaml(RUBRIC), encoding="utf-8")
    csv_path = tmp_path / "graded.csv"
    lines = ["question_id,answer_id,answer,score,split"]
    for k, (text, score) in enumerate(ANSWERS):
        lines.append(f'speech,a{k},"{text}",{score},tune')
    lines.append('speech,h1,"The Secret Speech denounced Stalin.",6,heldout')
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rubric_path, csv_path


@pytest.mark.slow  # a full calibration
def test_cli_calibrate_dry_run_writes_nothing(tmp_path, capsys) -> None:
    rubric_path, csv_path = _write_inputs(tmp_path)
    before = rubric_path.read_text()
    assert main(["calibrate", str(rubric_path), str(csv_path), "--folds", "3", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "n=12 " in out and "before" in out and "after" in out  # tune rows only, never heldout
    assert rubric_path.read_text() == before


@pytest.mark.slow  # a full calibration
def test_cli_calibrate_force_writes_with_backup(tmp_path, capsys) -> None:
    rubric_path, csv_path = _write_inputs(tmp_path)
    before = rubric_path.read_text()
    assert main(["calibrate", str(tmp_path), str(csv_path), "--folds", "3", "--force"]) == 0
    assert (tmp_path / "speech.yaml.bak").read_text() == before
    assert load_rubric(rubric_path).scoring.calibration is not None


def test_cli_calibrate_bad_column_is_one_line_error(tmp_path, capsys) -> None:
    rubric_path, csv_path = _write_inputs(tmp_path)
    assert main(["calibrate", str(rubric_path), str(csv_path), "--score-col", "grade"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no column 'grade' (use --score-col)" in err


def test_staircase_points_send_raw_scores_to_whole_points() -> None:
    cal = Calibration(points=staircase_points([0.3, 0.6], 2))
    got = [round_to_step(apply_calibration(x, cal) * 2, 1) for x in (0.0, 0.29, 0.3, 0.45, 0.6, 0.99)]
    assert got == [0, 0, 1, 1, 2, 2]


def test_qwk_cuts_separate_cleanly_separable_levels() -> None:
    raw = np.array([0.1, 0.15, 0.2, 0.5, 0.55, 0.6, 0.8, 0.9])
    points = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    cuts = qwk_cuts(raw, points, 2)
    assert np.searchsorted(cuts, raw, side="right").tolist() == points.tolist()


@pytest.mark.slow  # a grid search per mapping
def test_cuts_mapping_needs_a_whole_point_scale(features: Features) -> None:
    # 0-10 in steps of 2: 5 whole levels is allowed; a 0.3 step is not
    coarse = RUBRIC.model_copy(update={"scoring": RUBRIC.scoring.model_copy(update={"score_step": 2.0})})
    settings = fit_settings({"speech": coarse}, features, HUMAN / 10, range(len(TEXTS)), mapping="cuts")
    ys = [y for _, y in settings.scoring.calibration.points]
    assert set(ys) <= {0.0, 0.2, 0.4, 0.6, 0.8, 1.0} and ys == sorted(ys)
    odd = RUBRIC.model_copy(update={"scoring": RUBRIC.scoring.model_copy(update={"score_step": 0.3})})
    with pytest.raises(InputError, match="at most 20 whole steps"):
        fit_settings({"speech": odd}, features, HUMAN / 10, range(len(TEXTS)), mapping="cuts")
    with pytest.raises(ValueError, match="must be 'isotonic' or 'cuts'. Got 'linear'"):
        fit_settings({"speech": RUBRIC}, features, HUMAN / 10, range(len(TEXTS)), mapping="linear")


@pytest.mark.slow  # a full calibration
def test_cli_calibrate_uses_all_rows_when_the_split_column_is_empty(tmp_path, capsys) -> None:
    rubric_path, csv_path = _write_inputs(tmp_path)
    text = csv_path.read_text().replace(",tune\n", ",\n").replace(",heldout\n", ",\n")
    csv_path.write_text(text, encoding="utf-8")
    assert main(["calibrate", str(rubric_path), str(csv_path), "--folds", "3", "--dry-run"]) == 0
    assert "n=13 " in capsys.readouterr().out  # 12 + the former heldout row


def test_fitted_misconception_penalties_match_the_scorer() -> None:
    data = RUBRIC.model_dump()
    data["misconceptions"] = [{"id": "praise", "phrases": ["great leader"], "penalty": 0.0, "feedback": "Check this claim."}]
    rubric = rubric_from_dict(data)
    rubrics = {"speech": rubric}
    feats = extract_features(rubrics, IDS, TEXTS)
    assert [bool(w[0]) for w in feats.misconceptions].count(True) == 1
    settings = fit_settings(rubrics, feats, HUMAN / 10, range(len(TEXTS)), min_rows_for_weights=5)
    assert settings.penalties["speech"][0] > 0  # the praise goes with a low human score
    calibrated = apply_settings(rubric, settings)
    assert calibrated.misconceptions[0].penalty == settings.penalties["speech"][0]
    expected = [r.score for r in Scorer(calibrated).score_many(TEXTS)]
    assert predict(rubrics, feats, range(len(TEXTS)), settings).tolist() == expected


def test_fit_penalties_by_hand() -> None:
    # OLS of y on (concept, misconception) with an intercept: the misconception costs 0.25
    m, w = np.array([[1], [1], [0], [0]]), np.array([[0], [1], [0], [1]])
    assert fit_penalties(m, w, np.array([1.0, 0.5, 0.0, 0.0]), np.array([0.2]), alpha=0.0, shrink=0.0).tolist() == [0.25]
    # a "misconception" that goes with higher scores costs nothing; shrink blends with the current value
    assert fit_penalties(m, 1 - w, np.array([1.0, 0.5, 0.0, 0.0]), np.array([0.2]), alpha=0.0, shrink=0.5).tolist() == [0.1]


def test_calibrator_is_an_estimator(features: Features) -> None:
    from sklearn.exceptions import NotFittedError

    model = Calibrator({"speech": RUBRIC}, fit_weights=False)
    with pytest.raises(NotFittedError, match="call fit"):
        model.predict(features)
    train = list(range(0, len(TEXTS), 2))
    assert model.fit(features, HUMAN / 10, train) is model
    expected = fit_settings({"speech": RUBRIC}, features, HUMAN / 10, train, fit_weights=False)
    assert model.settings_ == expected
    assert model.predict(features).tolist() == predict({"speech": RUBRIC}, features, range(len(TEXTS)), expected).tolist()


@pytest.mark.slow
def test_predict_equals_the_scorer_on_the_bundled_samples() -> None:
    """The vectorised predictions run the scorer's own formula: identical numbers, answer by answer."""
    import csv

    from conftest import REPO
    from grader.scorer_set import ScorerSet

    rubrics = {r.id: r for r in (load_rubric(p) for p in sorted((REPO / "rubrics" / "destalinization").glob("*.yaml")))}
    with (REPO / "samples" / "destalinization" / "graded.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    ids, texts = [r["question_id"] for r in rows], [r["answer"] for r in rows]
    human = np.array([float(r["score"]) for r in rows]) / np.array([rubrics[i].max_score for i in ids])
    scorers = ScorerSet(rubrics)
    feats = extract_features(scorers, ids, texts)
    assert predict(rubrics, feats, range(len(ids))).tolist() == [scorers.score(i, t).score for i, t in zip(ids, texts)]
    settings = fit_settings(rubrics, feats, human, range(len(ids)))
    assert settings.weights and settings.calibrations  # fitted weights and per-question maps are exercised
    calibrated = ScorerSet({rid: apply_settings(r, settings) for rid, r in rubrics.items()})
    assert predict(rubrics, feats, range(len(ids)), settings).tolist() == [calibrated.score(i, t).score for i, t in zip(ids, texts)]
