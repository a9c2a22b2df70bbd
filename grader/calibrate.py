"""``grader calibrate``: cross-validate, fit on every graded answer, write the fitted rubrics back.

The estimator is :class:`grader.calibrator.Calibrator`, the before/after figures come from
:mod:`grader.cross_validation`; this module runs them in order and saves the calibrated
rubrics over the files they were loaded from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.calibrator import Calibrator, Settings, extract_features
from grader.cross_validation import CrossValidation, cross_validate, format_cross_validation, improved  # noqa: F401 - the command prints these
from grader.rubric import Rubric, load_rubric, save_rubric
from grader.scorer_set import ScorerSet


@dataclass
class CalibrationResult:
    """The calibrated rubrics (fitted on all given rows) and the cross-validated figures."""

    rubrics: dict[str, Rubric]
    settings: Settings
    cv: CrossValidation


def calibrate(
    rubrics: Mapping[str, Rubric] | ScorerSet,
    rubric_ids: Sequence[str],
    answers: Sequence[str],
    human_scores: Sequence[float],
    *,
    by: str = "answer",
    folds: int = 5,
    seed: int = 0,
    fit_weights: bool = True,
    mapping: str = "isotonic",
) -> CalibrationResult:
    """Cross-validate, then fit on every given row and return the calibrated rubrics.

    Only rubrics that have graded answers are returned. ``rubrics`` is the scorer set (or
    rubrics by id, scored as one question set).
    """
    scorers = ScorerSet.coerce(rubrics)
    rubrics = scorers.rubrics
    features = extract_features(scorers, rubric_ids, answers)
    human = np.asarray(human_scores, dtype=float)
    cv = cross_validate(rubrics, features, human, by=by, folds=folds, seed=seed, fit_weights=fit_weights, mapping=mapping)
    maxima = np.array([rubrics[r].max_score for r in rubric_ids])
    model = Calibrator(rubrics, fit_weights=fit_weights, mapping=mapping).fit(features, human / maxima)
    return CalibrationResult(model.calibrated_rubrics(sorted(set(rubric_ids))), model.settings_, cv)


def save_calibrated(rubrics: Mapping[str, Rubric], path: str | os.PathLike[str]) -> list[Path]:
    """Write each calibrated rubric over the file it was loaded from (a rubric file, or the
    files of a rubric folder matched by id); each previous version is kept as ``.bak``.

    Returns the files written, in order.
    """
    root = Path(path)
    files = sorted([*root.glob("*.yaml"), *root.glob("*.yml")]) if root.is_dir() else [root]
    written = []
    for f in files:
        rubric_id = load_rubric(f).id
        if rubric_id in rubrics:
            save_rubric(rubrics[rubric_id], f)
            written.append(f)
    return written
