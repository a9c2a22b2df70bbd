"""Monotone maps from a raw score (0..1) to a score fraction, stored as calibration points.

Two kinds, both fitted on graded answers: an isotonic regression of the human score
fraction on the raw score (:func:`isotonic_points`, one question's own map blended with a
shared one by :func:`blended_calibration`), and, for scales of a few whole points, a
staircase whose steps sit at cut points maximising the quadratic weighted kappa
(:func:`qwk_cuts`, :func:`staircase_points`). :mod:`grader.calibrator` fits the rubric's
map with them; :mod:`grader.learn` reuses the kappa cuts for learned scores.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from sklearn.isotonic import IsotonicRegression

from grader.evaluate import quadratic_kappa
from grader.rubric import Calibration

MAX_POINTS = 12
"""At most this many calibration points are stored (the isotonic steps are thinned)."""
BLEND_POINTS = 11
"""Evenly spaced raw scores at which a rubric's own map is blended with the shared one."""
CUT_GAP = 0.0001
"""Raw-score width of a step in the staircase map (calibration x values must strictly increase)."""
QWK_GRID = 99
"""Raw-score quantiles tried as cut points by the kappa search."""
TIE = 1e-12
"""A fit must beat the best so far by more than this (ties keep the earlier, simpler choice)."""


def isotonic_points(raw: np.ndarray, target: np.ndarray, *, max_points: int = MAX_POINTS) -> list[tuple[float, float]]:
    """Monotone piecewise-linear points (x strictly increasing over [0, 1]) fitted by isotonic regression.

    >>> isotonic_points(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0.0, 0.2, 0.8, 1.0]))
    [(0.0, 0.0), (0.1, 0.0), (0.2, 0.2), (0.8, 0.8), (0.9, 1.0), (1.0, 1.0)]
    """
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, target)
    xs = [round(float(x), 4) for x in iso.X_thresholds_]
    ys = [round(float(y), 4) for y in iso.y_thresholds_]
    if len(xs) > max_points:  # thin evenly, keeping both ends
        keep = sorted(set(np.linspace(0, len(xs) - 1, max_points).round().astype(int).tolist()))
        xs, ys = [xs[k] for k in keep], [ys[k] for k in keep]
    points: list[tuple[float, float]] = []
    if xs[0] > 0:
        points.append((0.0, ys[0]))
    for x, y in zip(xs, ys):
        if points and x <= points[-1][0]:
            continue
        points.append((x, max(y, points[-1][1]) if points else y))
    if points[-1][0] < 1:
        points.append((1.0, points[-1][1]))
    if len(points) < 2:
        points = [(0.0, points[0][1]), (1.0, points[0][1])]
    return points



def blended_calibration(raw: np.ndarray, target: np.ndarray, shared: list[tuple[float, float]], *, prior_rows: float) -> Calibration:
    """A rubric's own isotonic map blended with the shared map: n/(n+prior) of its own.

    Evaluated at :data:`BLEND_POINTS` evenly spaced raw values; a blend of monotone maps is monotone.

    >>> c = blended_calibration(np.array([0.0, 1.0]), np.array([1.0, 1.0]), [(0.0, 0.0), (1.0, 1.0)], prior_rows=2)
    >>> c.points[0], c.points[-1]
    ((0.0, 0.5), (1.0, 1.0))
    """
    own = isotonic_points(raw, target, max_points=len(raw) + 2)  # every step: thinned by the blend grid instead
    xs = np.linspace(0.0, 1.0, BLEND_POINTS)
    share = len(raw) / (len(raw) + prior_rows)
    ys = share * np.interp(xs, *zip(*own)) + (1 - share) * np.interp(xs, *zip(*shared))
    ys = np.maximum.accumulate(np.round(ys, 4))
    return Calibration(
        points=[(round(float(x), 4), float(y)) for x, y in zip(xs, ys)],
        source=f"isotonic fit on {len(raw)} graded answers of this question, blended with the shared map",
    )



def staircase_points(cuts: Sequence[float], levels: int) -> list[tuple[float, float]]:
    """Calibration points that send raw scores below ``cuts[0]`` to 0, from ``cuts[k-1]`` to
    ``k / levels`` (with ``round_to_step`` to whole points afterwards).

    >>> staircase_points([0.3, 0.6], 2)
    [(0.0, 0.0), (0.2999, 0.0), (0.3, 0.5), (0.5999, 0.5), (0.6, 1.0), (1.0, 1.0)]
    """
    points = [(0.0, 0.0)]
    for k, cut in enumerate(sorted(cuts), start=1):
        cut = round(min(1.0, max(2 * CUT_GAP, float(cut))), 4)
        low = round(cut - CUT_GAP, 4)
        if low <= points[-1][0]:
            continue
        points += [(low, points[-1][1]), (cut, round(k / levels, 4))]
    if points[-1][0] < 1.0:
        points.append((1.0, points[-1][1]))
    return points


def qwk_cuts(raw: np.ndarray, points: np.ndarray, levels: int, *, rounds: int = 2) -> list[float]:
    """Cut points on ``raw`` (one per score level above 0) maximising the quadratic weighted
    kappa with the human ``points`` (whole numbers 0..levels) by coordinate ascent over raw
    quantiles, starting from the cuts that reproduce the human score distribution."""
    shares = [float(np.mean(points <= k)) for k in range(levels)]
    cuts = [float(c) for c in np.quantile(raw, shares)]
    grid = [float(c) for c in np.unique(np.quantile(raw, np.linspace(0.01, 0.99, QWK_GRID)))]

    def kappa(c: list[float]) -> float:
        value = quadratic_kappa(points, np.searchsorted(np.sort(c), raw, side="right"), max_score=levels)
        return -1.0 if math.isnan(value) else value

    best = kappa(cuts)
    for _ in range(rounds):
        for k in range(levels):
            for value in grid:
                candidate = cuts[:k] + [value] + cuts[k + 1 :]
                score = kappa(candidate)
                if score > best + TIE:
                    best, cuts = score, candidate
    return sorted(cuts)
