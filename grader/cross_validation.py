"""Cross-validated agreement of a calibration: before (the rubrics as they are) and after
(out-of-fold predictions: every answer is scored by a fit that never saw it).

Folds are of answers (stratified by question) or of whole questions
(:func:`cv_splits`); :func:`format_cross_validation` prints the figures, :func:`improved`
says whether fitting helped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold

from grader.calibrator import Calibrator, Features, Settings, predict
from grader.errors import InputError
from grader.evaluate import POOLED_MAX_SCORE, agreement, before_after_json, format_before_after, metrics_json
from grader.rubric import Rubric


def cv_splits(groups: Sequence[str], *, by: str = "answer", folds: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/test row indices for cross-validation.

    ``by="answer"``: folds of answers, stratified by question so every question is in
    every training fold when it has enough answers. ``by="question"``: whole questions are
    held out (a question's answers are all in train or all in test).

    >>> sorted(t.tolist() for _, t in cv_splits(["a", "a", "b", "b"], by="question", folds=2))
    [[0, 1], [2, 3]]
    """
    n = len(groups)
    labels = np.asarray(groups)
    if by == "question":
        k = min(folds, len(set(groups)))
        if k < 2:
            raise InputError("cross-validation by question needs graded answers of at least 2 questions")
        splitter = GroupKFold(n_splits=k, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(n), groups=labels))
    if by != "answer":
        raise ValueError(f"`by` must be 'answer' or 'question'. Got {by!r}")
    k = min(folds, n)
    if k < 2:
        raise InputError(f"cross-validation needs at least 2 graded answers; got {n}")
    counts = {g: int((labels == g).sum()) for g in set(groups)}
    if min(counts.values()) >= k:
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(n), labels))
    return list(KFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(n)))


@dataclass
class CrossValidation:
    """Before/after agreement from cross-validation, per question and overall, and the folds used."""

    by: str
    folds: list[tuple[np.ndarray, np.ndarray]]
    before: dict[str, float]
    after: dict[str, float]
    before_per_question: dict[str, dict[str, float]]
    after_per_question: dict[str, dict[str, float]]
    predictions: np.ndarray
    fitted: list[Settings]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (NaN becomes None)."""
        return {
            "by": self.by,
            "folds": len(self.folds),
            "before": metrics_json(self.before),
            "after": metrics_json(self.after),
            "per_question": before_after_json(self.before_per_question, self.after_per_question),
        }


def _pooled(rubrics: dict[str, Rubric], features: Features, human: np.ndarray, pred: np.ndarray) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    ids = np.asarray(features.rubric_ids)
    maxima = np.array([rubrics[r].max_score for r in features.rubric_ids])
    same = len(set(maxima.tolist())) == 1
    scale = 1.0 if same else POOLED_MAX_SCORE / maxima
    overall = agreement(human * scale, pred * scale, max_score=float(maxima[0]) if same else POOLED_MAX_SCORE)
    per_q = {
        rid: agreement(human[ids == rid], pred[ids == rid], max_score=rubrics[rid].max_score)
        for rid in sorted(set(features.rubric_ids))
    }
    return overall, per_q


def cross_validate(
    rubrics: dict[str, Rubric],
    features: Features,
    human_scores: Sequence[float],
    *,
    by: str = "answer",
    folds: int = 5,
    seed: int = 0,
    fit_weights: bool = True,
    mapping: str = "isotonic",
) -> CrossValidation:
    """Agreement of the rubrics as they are (before) and of out-of-fold fitted settings (after)."""
    human = np.asarray(human_scores, dtype=float)
    maxima = np.array([rubrics[r].max_score for r in features.rubric_ids])
    fraction = human / maxima
    everything = list(range(len(features)))
    before_pred = predict(rubrics, features, everything)
    splits = cv_splits(features.rubric_ids, by=by, folds=folds, seed=seed)
    after_pred = np.full(len(features), np.nan)
    fitted = []
    for train, test in splits:
        model = Calibrator(rubrics, fit_weights=fit_weights, mapping=mapping).fit(features, fraction, train)
        fitted.append(model.settings_)
        after_pred[test] = model.predict(features, test.tolist())
    before, before_q = _pooled(rubrics, features, human, before_pred)
    after, after_q = _pooled(rubrics, features, human, after_pred)
    return CrossValidation(by, splits, before, after, before_q, after_q, after_pred, fitted)



def format_cross_validation(cv: CrossValidation) -> str:
    """Before/after cross-validated figures as plain text (never in-sample figures)."""
    title = f"Cross-validated agreement ({len(cv.folds)} folds by {cv.by}; every answer scored by a fit that never saw it)"
    rows = [(qid, cv.before_per_question[qid], cv.after_per_question[qid]) for qid in cv.before_per_question]
    return format_before_after(title, [*rows, ("overall", cv.before, cv.after)])


def improved(cv: CrossValidation, *, metric: str = "pearson") -> bool:
    """True when the cross-validated ``metric`` is better after fitting than before."""
    before, after = cv.before[metric], cv.after[metric]
    if math.isnan(after):
        return False
    if math.isnan(before):
        return True
    return after > before if metric not in {"rmse", "mae"} else after < before
