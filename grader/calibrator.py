"""The calibration as an estimator (:class:`Calibrator`): fit a rubric's scoring on graded answers, predict their scores.

What is fitted, in this order, on the training rows only:

1. concept weights, per rubric with at least ``min_rows_for_weights`` training answers:
   a non-negative ridge regression of the human score fraction on the concept matches,
   shrunk towards the current weights by PRIOR_ROWS / (n + PRIOR_ROWS) (small samples
   are noisy); misconception penalties likewise, from a ridge fit on concept and
   misconception matches together;
2. the global mix: ``similarity_weight`` (with ``concept_weight`` = 1 - it),
   ``similarity_floor``/``similarity_ceiling`` and ``coverage_target``, by a grid search
   maximising the Pearson correlation of the raw score with the human fraction;
3. the cap of each validity flag that fires on at least ``MIN_FLAG_ROWS`` training
   answers (``Scoring.flag_caps``), when the human grades show the flag's default cap
   hurts (e.g. "off topic" on answers to a very short model answer);
4. a monotone map from raw score to score fraction (isotonic regression), stored as
   piecewise-linear points in ``Scoring.calibration``: one shared map, and for each rubric
   with at least ``min_rows_for_weights`` training answers its own map, shrunk towards the
   shared one (``PRIOR_ROWS``), since questions differ in how generously they are graded.
   With ``mapping="cuts"`` (scales of a few whole points, e.g. 0-3) the map is instead a
   staircase whose steps sit at raw-score cut points chosen to maximise the quadratic
   weighted kappa on the training answers (the maps: :mod:`grader.score_maps`).

Everything the scorer computes that does not depend on these settings (which concepts
match, similarity, misconception penalties, flag caps) is extracted once per answer
(:func:`extract_features`), so a fit is cheap and cross-validation
(:mod:`grader.cross_validation`) only refits. Predictions run the scorer's own formula
(:func:`grader.scoring.score_parts`) on arrays, so they equal the scorer's scores.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge

from grader.concepts import MATCHED_CREDIT
from grader.errors import InputError
from grader.evaluate import correlation
from grader.rubric import Calibration, Rubric, Scoring, rubric_from_dict
from grader.score_maps import TIE, blended_calibration, isotonic_points, qwk_cuts, staircase_points
from grader.scorer_set import ScorerSet
from grader.scoring import raw_parts, scale_similarity, score_parts

SIMILARITY_WEIGHTS = (0.0, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9)
FLOORS = (0.0, 0.05, 0.1, 0.15, 0.2)
CEILINGS = (0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
COVERAGE_TARGETS = (0.5, 0.65, 0.8, 1.0)
FLAG_CAPS = (0.2, 0.4, 0.6, 0.8, 1.0)
MIN_FLAG_ROWS = 10
"""A flag's cap is fitted only when it fires on at least this many training answers."""
PRIOR_ROWS = 20
"""Weight (in answers) of the shared map when a rubric's own map is blended with it."""
MIN_ROWS_OWN_FIT = 20
"""A rubric gets its own concept weights, penalties and map from this many training answers."""
FLAG_CAP_QUANTILE = 0.75
"""A loosened flag cap reaches the human score of this share of the flagged training answers."""
MAX_CUT_LEVELS = 20
"""Mapping 'cuts' works on scales of at most this many whole steps (kappa needs few levels)."""


@dataclass(frozen=True)
class Features:
    """What the scorer finds in each answer, independent of the fitted settings.

    Row ``i`` belongs to rubric ``rubric_ids[i]``; ``matched[i]`` has the earned share
    (0..1, partial credit included) of each concept of that rubric; ``cap`` is the lowest flag cap under the rubric's own
    scoring (1.0 when none), ``flag_codes[i]`` the codes of the capping flags and
    ``all_flag_codes[i]`` the codes of every flag (e.g. ``negated_concept``).
    """

    rubric_ids: tuple[str, ...]
    matched: tuple[np.ndarray, ...]
    similarity: np.ndarray
    penalty: np.ndarray
    cap: np.ndarray
    flag_codes: tuple[tuple[str, ...], ...] = ()
    all_flag_codes: tuple[tuple[str, ...], ...] = ()
    misconceptions: tuple[np.ndarray, ...] = ()
    flag_penalty: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.rubric_ids)


def extract_features(
    rubrics: Mapping[str, Rubric] | ScorerSet, rubric_ids: Sequence[str], answers: Sequence[str], *, pools: Sequence[str] | None = None
) -> Features:
    """Score each answer once with its rubric and keep the setting-independent parts.

    Answers are scored as ``grader batch`` scores a folder of rubrics: each rubric knows
    the others, to flag answers written for another question. ``pools`` (one key per
    answer) splits the rubrics into separate folders, e.g. one per assignment.

    >>> from grader.rubric import rubric_from_dict
    >>> r = rubric_from_dict({"id": "x", "question": "Who?", "model_answer": "Khrushchev did.",
    ...     "concepts": [{"id": "k", "label": "K", "terms": ["Khrushchev"]}]})
    >>> f = extract_features({"x": r}, ["x", "x"], ["Khrushchev did.", "Nobody knows who."])
    >>> [bool(m[0]) for m in f.matched]
    [True, False]
    """
    scorers = ScorerSet.coerce(rubrics)
    rubrics = scorers.rubrics
    if len(rubric_ids) != len(answers):
        raise ValueError(f"`rubric_ids` and `answers` must have the same length. Got {len(rubric_ids)} and {len(answers)}")
    n = len(answers)
    matched: list[np.ndarray] = [np.zeros(0, dtype=bool)] * n
    codes: list[tuple[str, ...]] = [()] * n
    every: list[tuple[str, ...]] = [()] * n
    wrong: list[np.ndarray] = [np.zeros(0, dtype=bool)] * n
    flag_pen = np.zeros(n)
    sim, pen, cap = np.zeros(n), np.zeros(n), np.ones(n)
    keys = list(pools) if pools is not None else [""] * n
    groups: dict[tuple[str, str], list[int]] = {}
    for i, rid in enumerate(rubric_ids):
        if rid not in rubrics:
            raise InputError(f"unknown rubric id {rid!r}")
        groups.setdefault((keys[i], rid), []).append(i)
    sets: dict[str, ScorerSet] = {}
    for key in sorted(set(keys)):
        members = {rid for (k, rid) in groups if k == key}
        sets[key] = scorers if pools is None else ScorerSet({r: rubrics[r] for r in sorted(members)})
    for (key, rid), idx in groups.items():
        results = sets[key].score_many(rid, [answers[i] for i in idx])
        for i, res in zip(idx, results):
            matched[i] = np.array([c.earned for c in res.concepts], dtype=float)
            sim[i] = res.similarity
            flag_pen[i] = sum(getattr(f, "penalty", 0.0) for f in res.flags)
            pen[i] = sum(m.penalty for m in res.misconceptions) + flag_pen[i]
            found = {m.misconception_id for m in res.misconceptions}
            wrong[i] = np.array([m.id in found for m in rubrics[rid].misconceptions], dtype=bool)
            capping = [f for f in res.flags if f.cap is not None]
            cap[i] = min([f.cap for f in capping], default=1.0)
            codes[i] = tuple(sorted({f.code for f in capping}))
            every[i] = tuple(sorted(res.flag_codes))
    return Features(tuple(rubric_ids), tuple(matched), sim, pen, cap, tuple(codes), tuple(every), tuple(wrong), flag_pen)


@dataclass(frozen=True)
class Settings:
    """Fitted settings: the shared scoring (with calibration) and concept weights by rubric id."""

    scoring: Scoring
    weights: dict[str, tuple[float, ...]] = field(default_factory=dict)
    train_rows: frozenset[int] = frozenset()
    calibrations: dict[str, Calibration] = field(default_factory=dict)
    penalties: dict[str, tuple[float, ...]] = field(default_factory=dict)

    def scoring_for(self, rubric: Rubric) -> Scoring:
        """The rubric's own scoring with the fitted fields (and its own map, if fitted)."""
        merged = _merged(rubric.scoring, self.scoring)
        if rubric.id in self.calibrations:
            merged = merged.model_copy(update={"calibration": self.calibrations[rubric.id]})
        return merged


def _weights_of(rubric: Rubric, settings: Settings | None) -> np.ndarray:
    if settings is not None and rubric.id in settings.weights:
        return np.asarray(settings.weights[rubric.id], dtype=float)
    return np.array([c.weight for c in rubric.concepts], dtype=float)


def earned_weights(
    rubrics: Mapping[str, Rubric], features: Features, rows: Sequence[int], settings: Settings | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(earned concept weight, total concept weight, a required concept is missing) of the given rows.

    Added up in concept order with Python's ``sum``, as the scorer adds them (numpy's dot
    product may add in another order and differ in the last bit).
    """
    earned, total = np.zeros(len(rows)), np.zeros(len(rows))
    missing = np.zeros(len(rows), dtype=bool)
    for k, i in enumerate(rows):
        rubric = rubrics[features.rubric_ids[i]]
        w = _weights_of(rubric, settings)
        m = features.matched[i]
        earned[k], total[k] = sum((w * m).tolist()), sum(w.tolist())
        required = np.array([c.required for c in rubric.concepts], dtype=bool)
        missing[k] = bool(np.any(required & (m < MATCHED_CREDIT)))
    return earned, total, missing


def row_caps(rubrics: dict[str, Rubric], features: Features, rows: Sequence[int], settings: Settings | None) -> np.ndarray:
    """Lowest flag cap of each row: the rubric's own (as scored) or with the fitted flag caps."""
    rows = list(rows)
    if settings is None or not settings.scoring.flag_caps or not features.flag_codes:
        return features.cap[rows]
    out = features.cap[rows].copy()
    for k, i in enumerate(rows):
        codes = features.flag_codes[i]
        if codes:
            scoring = _merged(rubrics[features.rubric_ids[i]].scoring, settings.scoring)
            out[k] = min([c for c in (scoring.flag_cap(code) for code in codes) if c is not None], default=1.0)
    return out


def row_penalties(features: Features, rows: Sequence[int], settings: Settings | None) -> np.ndarray:
    """Misconception plus flag penalties of each row, with fitted misconception penalties if any."""
    rows = list(rows)
    out = features.penalty[rows].copy()
    if settings is None or not settings.penalties or features.flag_penalty is None:
        return out
    for k, i in enumerate(rows):
        fitted = settings.penalties.get(features.rubric_ids[i])
        if fitted is not None:
            out[k] = float(np.asarray(fitted) @ features.misconceptions[i]) + features.flag_penalty[i]
    return out


def raw_scores(
    earned: np.ndarray, total: np.ndarray, missing: np.ndarray, scaled: np.ndarray, penalty: np.ndarray, cap: np.ndarray,
    scoring: Scoring,
) -> np.ndarray:
    """Raw scores (before calibration) of many answers under ``scoring``: the scorer's
    :func:`grader.scoring.raw_parts` on arrays; ``scaled`` is :func:`grader.scoring.scale_similarity`.

    >>> raw_scores(np.array([0.8]), np.ones(1), np.array([False]), np.ones(1), np.zeros(1), np.ones(1), Scoring()).tolist()
    [1.0]
    """
    return raw_parts(earned, scaled, total_weight=total, scoring=scoring, missing_required=missing, penalty=penalty, caps=[cap])[1]


def predict(rubrics: Mapping[str, Rubric], features: Features, rows: Sequence[int], settings: Settings | None = None) -> np.ndarray:
    """Scores (in points) the scorer gives ``rows`` under ``settings`` (each rubric's own when None).

    Each rubric's answers go through :func:`grader.scoring.score_parts` at once, with the
    rubric as calibrated (:func:`apply_settings`): the same numbers as scoring them one by one.
    """
    rows = list(rows)
    out = np.zeros(len(rows))
    earned, _, missing = earned_weights(rubrics, features, rows, settings)
    idx = np.asarray(rows, dtype=int)
    by_rubric: dict[str, list[int]] = {}
    for k, i in enumerate(rows):
        by_rubric.setdefault(features.rubric_ids[i], []).append(k)
    for rid, ks in by_rubric.items():
        rubric = rubrics[rid] if settings is None else apply_settings(rubrics[rid], settings)
        sel = idx[ks].tolist()
        parts = score_parts(
            rubric, earned_weight=earned[ks], scaled_similarity=scale_similarity(features.similarity[sel], rubric.scoring),
            missing_required=missing[ks], penalty=row_penalties(features, sel, settings),
            caps=[row_caps(rubrics, features, sel, settings)],
        )
        out[ks] = parts.score
    return out


class Calibrator:
    """The calibration as an estimator: :meth:`fit` on graded answers, :meth:`predict` their scores.

    Parameters
    ----------
    rubrics : mapping of str to Rubric
        The rubrics the features were extracted with (:func:`extract_features`).
    fit_weights : bool
        Also fit concept weights and misconception penalties (rubrics with enough answers).
    mapping : {"isotonic", "cuts"}
        The score map (see :func:`fit_settings`).

    Attributes
    ----------
    settings_ : Settings
        What :meth:`fit` learned.

    Examples
    --------
    >>> from grader.rubric import rubric_from_dict
    >>> r = rubric_from_dict({"id": "x", "question": "Who?", "model_answer": "Khrushchev did.",
    ...     "concepts": [{"id": "k", "label": "K", "terms": ["Khrushchev"]}]})
    >>> f = extract_features({"x": r}, ["x"] * 4, ["Khrushchev did.", "Khrushchev.", "Nobody.", "No idea."])
    >>> model = Calibrator({"x": r}, fit_weights=False).fit(f, np.array([1.0, 0.8, 0.1, 0.0]))
    >>> model.predict(f).tolist()
    [9.0, 9.0, 0.5, 0.5]
    """

    def __init__(self, rubrics: Mapping[str, Rubric], *, fit_weights: bool = True, mapping: str = "isotonic") -> None:
        self.rubrics = rubrics
        self.fit_weights = fit_weights
        self.mapping = mapping

    def fit(self, features: Features, human_fraction: np.ndarray, rows: Sequence[int] | None = None) -> "Calibrator":
        """Fit on ``rows`` (default: all) of ``features``; ``human_fraction`` is human score / max score."""
        train = range(len(features)) if rows is None else rows
        self.settings_ = fit_settings(
            dict(self.rubrics), features, human_fraction, train, fit_weights=self.fit_weights, mapping=self.mapping
        )
        return self

    def predict(self, features: Features, rows: Sequence[int] | None = None) -> np.ndarray:
        """Scores (in points) of ``rows`` (default: all) under the fitted settings."""
        if not hasattr(self, "settings_"):
            raise NotFittedError("This Calibrator is not fitted yet: call fit(features, human_fraction) first.")
        return predict(dict(self.rubrics), features, range(len(features)) if rows is None else rows, self.settings_)

    def calibrated_rubrics(self, rubric_ids: Sequence[str]) -> dict[str, Rubric]:
        """Copies of the rubrics ``rubric_ids`` with the fitted settings written in."""
        if not hasattr(self, "settings_"):
            raise NotFittedError("This Calibrator is not fitted yet: call fit(features, human_fraction) first.")
        return {rid: apply_settings(self.rubrics[rid], self.settings_) for rid in rubric_ids}


FITTED_FIELDS = ("concept_weight", "similarity_weight", "similarity_floor", "similarity_ceiling", "coverage_target", "calibration")


def _merged(own: Scoring, fitted: Scoring) -> Scoring:
    """The rubric's own scoring with the fitted fields (and fitted flag caps) taken from ``fitted``."""
    data = own.model_dump()
    data.update({k: getattr(fitted, k) for k in FITTED_FIELDS})
    data["flag_caps"] = {**own.flag_caps, **fitted.flag_caps}
    return Scoring.model_validate(data)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r, or -inf when undefined (a grid search then never picks it)."""
    r = correlation("pearson", a, b)
    return -math.inf if math.isnan(r) else r


def fit_concept_weights(matched: np.ndarray, target: np.ndarray, current: np.ndarray, *, alpha: float = 1.0, shrink: float = 0.5) -> np.ndarray:
    """Concept weights from a non-negative ridge fit of ``target`` on ``matched`` (n x k).

    Both the fit and ``current`` are scaled to mean 1, blended (``shrink`` of the current
    weights), floored at 0.1 and rounded to 2 places. If no concept helps, ``current``.

    >>> m = np.array([[1, 0], [1, 1], [0, 1], [0, 0]])
    >>> fit_concept_weights(m, np.array([0.5, 1.0, 0.5, 0.0]), np.array([1.0, 1.0])).tolist()
    [1.0, 1.0]
    """
    if matched.shape[1] < 2 or np.ptp(target) == 0:
        return current
    coef = Ridge(alpha=alpha, positive=True).fit(matched.astype(float), target).coef_
    if coef.sum() <= 0:
        return current
    new = coef / coef.mean()
    old = current / current.mean()
    return np.round(np.maximum(0.1, shrink * old + (1 - shrink) * new), 2)


def fit_penalties(matched: np.ndarray, wrong: np.ndarray, target: np.ndarray, current: np.ndarray, *, alpha: float = 1.0, shrink: float = 0.5) -> np.ndarray:
    """Misconception penalties (fractions of max_score) from a ridge fit of ``target`` on the
    concept matches and the misconception matches together: a misconception's penalty is its
    negative coefficient (0 if it goes with higher scores), blended with ``current``.

    >>> m = np.array([[1], [1], [0], [0]]); w = np.array([[0], [1], [0], [1]])
    >>> fit_penalties(m, w, np.array([1.0, 0.5, 0.0, 0.0]), np.array([0.2]), alpha=0.0, shrink=0.0).tolist()
    [0.25]
    """
    if wrong.shape[1] == 0 or np.ptp(target) == 0:
        return current
    x = np.hstack([matched.astype(float), wrong.astype(float)])
    coef = Ridge(alpha=alpha).fit(x, target).coef_[matched.shape[1] :]
    fitted = np.clip(-coef, 0.0, 1.0)
    return np.round(np.clip(shrink * current + (1 - shrink) * fitted, 0.0, 1.0), 3)



def fit_settings(
    rubrics: dict[str, Rubric],
    features: Features,
    human_fraction: np.ndarray,
    train_rows: Sequence[int],
    *,
    fit_weights: bool = True,
    min_rows_for_weights: int = MIN_ROWS_OWN_FIT,
    per_rubric_maps: bool = True,
    mapping: str = "isotonic",
    base: Scoring | None = None,
) -> Settings:
    """Fit concept weights, the global mix and the calibration map on ``train_rows`` only.

    ``human_fraction[i]`` is the human score of row ``i`` divided by its max score; rows
    outside ``train_rows`` are never read.
    """
    rows = sorted(set(int(i) for i in train_rows))
    if len(rows) < 2:
        raise InputError(f"calibration needs at least 2 graded answers; got {len(rows)}")
    y = np.asarray(human_fraction, dtype=float)[rows]
    base = base or Scoring()
    weights: dict[str, tuple[float, ...]] = {}
    penalties: dict[str, tuple[float, ...]] = {}
    if fit_weights:
        by_rubric: dict[str, list[int]] = {}
        for k, i in enumerate(rows):
            by_rubric.setdefault(features.rubric_ids[i], []).append(k)
        for rid, ks in sorted(by_rubric.items()):
            if len(ks) < min_rows_for_weights:
                continue
            m = np.vstack([features.matched[rows[k]] for k in ks])
            current = np.array([c.weight for c in rubrics[rid].concepts], dtype=float)
            shrink = PRIOR_ROWS / (len(ks) + PRIOR_ROWS)  # trust the data more the more answers there are
            weights[rid] = tuple(float(w) for w in fit_concept_weights(m, y[ks], current, shrink=shrink))
            if rubrics[rid].misconceptions and features.misconceptions:
                wrong = np.vstack([features.misconceptions[rows[k]] for k in ks])
                now = np.array([w.penalty for w in rubrics[rid].misconceptions], dtype=float)
                penalties[rid] = tuple(float(v) for v in fit_penalties(m, wrong, y[ks], now, shrink=shrink))
    interim = Settings(base, weights, penalties=penalties)
    earned, total, missing = earned_weights(rubrics, features, rows, interim)
    sim, cap = features.similarity[rows], features.cap[rows]
    pen = row_penalties(features, rows, interim)
    scaled: dict[tuple[float, float], np.ndarray] = {}  # by (floor, ceiling): the grid repeats each pair
    best: tuple[float, Scoring] | None = None
    for sw, floor, ceiling, target in itertools.product(SIMILARITY_WEIGHTS, FLOORS, CEILINGS, COVERAGE_TARGETS):
        if floor >= ceiling:
            continue
        scoring = base.model_copy(
            update={"concept_weight": round(1 - sw, 4), "similarity_weight": sw, "similarity_floor": floor,
                    "similarity_ceiling": ceiling, "coverage_target": target, "calibration": None}
        )
        if (floor, ceiling) not in scaled:
            scaled[floor, ceiling] = scale_similarity(sim, scoring)
        r = _pearson(raw_scores(earned, total, missing, scaled[floor, ceiling], pen, cap, scoring), y)
        if best is None or r > best[0] + TIE:
            best = (r, scoring)
    assert best is not None
    scoring = _fit_flag_caps(rubrics, features, rows, y, best[1])
    cap = row_caps(rubrics, features, rows, Settings(scoring, weights))
    raw = raw_scores(earned, total, missing, scale_similarity(sim, scoring), pen, cap, scoring)
    if mapping == "cuts":
        levels = _whole_point_levels(rubrics, features, rows)
        points = staircase_points(qwk_cuts(raw, np.round(y * levels), levels), levels)
        source = f"cut points maximising quadratic weighted kappa on {len(rows)} graded answers"
    elif mapping == "isotonic":
        points = isotonic_points(raw, y)
        source = f"isotonic fit on {len(rows)} graded answers"
    else:
        raise ValueError(f"`mapping` must be 'isotonic' or 'cuts'. Got {mapping!r}")
    scoring = Scoring.model_validate({**scoring.model_dump(), "calibration": {"points": points, "source": source}})
    own: dict[str, Calibration] = {}
    if per_rubric_maps and mapping == "isotonic":
        groups: dict[str, list[int]] = {}
        for k, i in enumerate(rows):
            groups.setdefault(features.rubric_ids[i], []).append(k)
        for rid, ks in sorted(groups.items()):
            if len(ks) >= min_rows_for_weights:
                own[rid] = blended_calibration(raw[ks], y[ks], points, prior_rows=PRIOR_ROWS)
    return Settings(scoring, weights, frozenset(rows), own, penalties)


def _whole_point_levels(rubrics: dict[str, Rubric], features: Features, rows: Sequence[int]) -> int:
    """Number of score points above 0 shared by the training rubrics (max_score / score_step)."""
    scales = {(rubrics[features.rubric_ids[i]].max_score, rubrics[features.rubric_ids[i]].scoring.score_step) for i in rows}
    if len(scales) != 1:
        raise InputError("mapping 'cuts' needs rubrics that share max_score and score_step")
    max_score, step = scales.pop()
    levels = max_score / step if step > 0 else 0
    if not (levels >= 1 and abs(levels - round(levels)) < 1e-9 and levels <= MAX_CUT_LEVELS):
        raise InputError(
            f"mapping 'cuts' needs a scale of at most {MAX_CUT_LEVELS} whole steps; got max_score {max_score:g}, score_step {step:g}"
        )
    return int(round(levels))



def _fit_flag_caps(rubrics: dict[str, Rubric], features: Features, rows: list[int], y: np.ndarray, scoring: Scoring) -> Scoring:
    """Loosen the cap of a frequent flag when human graders give its answers more than the cap.

    For every flag on at least ``MIN_FLAG_ROWS`` training answers, the new cap is the
    :data:`FLAG_CAP_QUANTILE` quantile of those answers' human fractions, rounded up to a value of ``FLAG_CAPS``; a cap
    is never tightened below the rubric's own (caps exist to stop gaming).
    """
    if not features.flag_codes:
        return scoring
    by_code: dict[str, list[float]] = {}
    for k, i in enumerate(rows):
        for code in features.flag_codes[i]:
            by_code.setdefault(code, []).append(float(y[k]))
    caps = dict(scoring.flag_caps)
    for code, values in sorted(by_code.items()):
        if len(values) < MIN_FLAG_ROWS:
            continue
        current = min(
            [c for c in (rubrics[r].scoring.flag_cap(code) for r in set(features.rubric_ids[i] for i in rows)) if c is not None],
            default=None,
        )
        if current is None:
            continue
        upper = float(np.quantile(values, FLAG_CAP_QUANTILE))
        wanted = next((v for v in FLAG_CAPS if v >= upper - 1e-9), 1.0)
        if wanted > current:
            caps[code] = wanted
    return scoring.model_copy(update={"flag_caps": caps})



def apply_settings(rubric: Rubric, settings: Settings) -> Rubric:
    """A copy of ``rubric`` with the fitted scoring fields and (if fitted) concept weights."""
    data = rubric.model_dump(mode="json", exclude_none=True)
    data["scoring"] = settings.scoring_for(rubric).model_dump(mode="json", exclude_none=True)
    if rubric.id in settings.weights:
        for concept, weight in zip(data["concepts"], settings.weights[rubric.id]):
            concept["weight"] = weight
    if rubric.id in settings.penalties:
        for wrong, penalty in zip(data["misconceptions"], settings.penalties[rubric.id]):
            wrong["penalty"] = penalty
    return rubric_from_dict(data, source=f"<calibrated {rubric.id}>")
