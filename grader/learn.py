"""Learn from the teacher's grades: score new answers the way the teacher graded similar ones.

What is learned for each question, from its graded answers (scores in points 0..max_score):

1. the graded answers themselves, as exemplars (:class:`grader.exemplars.ExemplarIndex`):
   a new answer gets the similarity-weighted mean score of the graded answers nearest to
   it in word and character TF-IDF space;
2. a small ridge regression of the score fraction on the rubric's own features (raw
   score, coverage, similarity, penalties, flags, each concept) and the neighbour
   features; the neighbour features of a graded answer are computed without it (leave one
   out), so the model learns how far to trust neighbours it has not seen. With several
   questions, one model is first fitted on all of them (generic features only) and each
   question's own model is a ridge fit of what that one leaves unexplained, so a question
   with few graded answers stays close to the shared model;
3. the map to points: on scales of at most 5 whole points graded in whole points, cut
   points chosen to maximise quadratic weighted kappa on leave-one-out predictions;
   otherwise the rubric's own rounding;
4. a confidence: a logistic model of "the learned score is right" (same whole point on
   whole-point scales, else within 10% of max_score) on leave-one-out predictions, from the
   similarity of the nearest graded answer, how much the neighbours disagree and how far
   the model is from the neighbours' vote;
5. the pass mark: the threshold on the learned fraction that best separates answers the
   teacher passed from those failed (Cohen's kappa on leave-one-out predictions).

Everything is stored as plain numbers and texts (:class:`grader.learned.Learned`). A
learned score explains itself: the concepts the rubric found and the graded answers it is
closest to (:class:`LearnedScoreResult`). :func:`cross_validate_learning` reports agreement
before (the rubric as it is) and after (every answer scored by a model that never saw it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader.errors import InputError
from grader.evaluate import agreement, before_after_json, format_before_after, metrics_json
from grader.exemplars import ExemplarIndex
from grader.learned import MAX_EXEMPLAR_CHARS, MAX_EXEMPLARS, Exemplar, Learned
from grader.learned_scoring import (  # noqa: F401 - re-exported: scoring with what was learned lives a layer down
    BASE_FEATURES,
    CONFIDENCE_INPUTS,
    GENERIC_FEATURES,
    LOW_SUPPORT,
    LearnedModel,
    LearnedScorer,
    LearnedScoreResult,
    Neighbour,
    _confidence_inputs,
    _stack,
    _to_points,
    confidence_of,
    feature_names,
    rubric_features,
    rubric_matrix,
    wrap_scorer,
)
from grader.rubric import Rubric
from grader.score_maps import qwk_cuts
from grader.scorer_set import ScorerSet
from grader.scoring import ScoreResult
from grader.words import WordWeights, fit_word_weights

MIN_GRADED = 10
"""Fewest graded answers per question to learn from."""
ALPHAS = tuple(float(a) for a in np.logspace(-2, 4, 13))
MAX_CUT_LEVELS = 5
MIN_CUT_ROWS = 50
MIN_OWN_ROWS = 50
MIN_WORD_ROWS = 200
"""Word weights (:mod:`grader.words`) are learned only from this many graded answers of a question."""
OFFSET_PRIOR_ROWS = 5.0
"""With several questions, a question gets its own model (beside the shared one) only from this
many graded answers: with fewer (Mohler, ~14 per question) cross-validation on the graded
answers showed own models overfitting (Pearson 0.54 against 0.61 for the shared model alone)."""
"""Cut points are fitted only from at least this many graded answers (else the rubric's rounding)."""
K_CHOICES = (3, 5, 10, 20, 50)
CONFIDENCE_THRESHOLD = 0.5


# --- ridge with leave-one-out predictions --------------------------------------------------

@dataclass(frozen=True)
class RidgeFit:
    """Coefficients on standardised inputs, the chosen alpha and leave-one-out predictions."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    alpha: float
    loo: np.ndarray

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions for the rows of ``x``."""
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept


def fit_ridge(x: np.ndarray, y: np.ndarray, *, alphas: Sequence[float] = ALPHAS) -> RidgeFit:
    """Ridge regression with the alpha of least leave-one-out error (closed form through an SVD).

    >>> f = fit_ridge(np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0.0, 1.0, 2.0, 3.0]), alphas=[1e-6])
    >>> np.round(f.predict(np.array([[4.0]])), 3).tolist()
    [4.0]
    """
    n = len(y)
    mean = x.mean(0)
    scale = x.std(0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    y_mean = float(y.mean())
    yc = y - y_mean
    u, s, vt = np.linalg.svd(z, full_matrices=False)
    uy = u.T @ yc
    best: tuple[float, float, np.ndarray, np.ndarray] | None = None
    for alpha in alphas:
        shrink = s**2 / (s**2 + alpha)
        fitted = u @ (shrink * uy)
        hat = (u**2) @ shrink + 1.0 / n
        loo = y - (yc - fitted) / np.maximum(1.0 - hat, 1e-6)
        err = float(np.mean((loo - y) ** 2))
        if best is None or err < best[0] - 1e-12:
            coef = vt.T @ ((s / (s**2 + alpha)) * uy)
            best = (err, float(alpha), coef, loo)
    assert best is not None
    return RidgeFit(mean, scale, best[2], y_mean, best[1], best[3])


# --- fitting -------------------------------------------------------------------------------

@dataclass
class Graded:
    """Graded answers of one question: texts, the rubric's view of them and the human scores.

    ``rubric_x`` holds :func:`rubric_features` of each answer (one row each) and
    ``rubric_scores`` the rubric's own scores (points); ``scores`` the teacher's (points).
    """

    rubric: Rubric
    texts: list[str]
    rubric_x: np.ndarray
    rubric_scores: np.ndarray
    scores: np.ndarray

    @classmethod
    def from_results(cls, rubric: Rubric, texts: Sequence[str], results: Sequence[ScoreResult], scores: Sequence[float]) -> "Graded":
        """From the rubric's results (e.g. ``Scorer.score_many(texts)``)."""
        return cls(rubric, list(texts), rubric_matrix(rubric, results), np.array([r.score for r in results], dtype=float),
                   np.asarray(scores, dtype=float))

    @property
    def fractions(self) -> np.ndarray:
        """Human scores as fractions of max_score."""
        return self.scores / self.rubric.max_score


def _whole_levels(graded: Graded) -> int | None:
    """Whole-point levels when the scale has at most MAX_CUT_LEVELS whole points, every grade is
    whole and there are at least MIN_CUT_ROWS of them."""
    m = graded.rubric.max_score
    if m > MAX_CUT_LEVELS or abs(m - round(m)) > 1e-9 or len(graded.scores) < MIN_CUT_ROWS:
        return None
    if np.any(np.abs(graded.scores - np.round(graded.scores)) > 1e-9):
        return None
    return int(round(m))


def check_enough(graded: Graded, *, min_graded: int = MIN_GRADED) -> None:
    """Raise :class:`InputError` (one line) if there are too few graded answers to learn from."""
    rid = graded.rubric.id
    if len(graded.texts) < min_graded:
        raise InputError(f"question {rid!r}: {len(graded.texts)} graded answers, need at least {min_graded} to learn from")


def learn_questions(questions: Mapping[str, Graded], *, k: int | None = None, min_graded: int = MIN_GRADED, source: str = "") -> dict[str, Learned]:
    """Learn a model per question (a shared model first when there are several). See the module doc.

    ``k`` (neighbours in the vote) is chosen among :data:`K_CHOICES` by the leave-one-out
    error of the (shared) model unless given. A question's own model is fitted only from
    :data:`MIN_OWN_ROWS` graded answers and kept only when its leave-one-out error beats
    the shared model's alone.
    """
    for g in questions.values():
        check_enough(g, min_graded=min_graded)
    order = sorted(questions)
    indexes = {rid: ExemplarIndex().fit(questions[rid].texts, questions[rid].fractions) for rid in order}
    self_sims = {rid: indexes[rid].self_similarities() for rid in order}
    word_fits: dict[str, tuple[WordWeights, np.ndarray]] = {
        rid: fit_word_weights(questions[rid].texts, questions[rid].fractions)
        for rid in order if len(questions[rid].texts) >= MIN_WORD_ROWS
    }
    ng = len(GENERIC_FEATURES)
    single = len(order) == 1
    best: tuple[float, int, dict[str, np.ndarray], RidgeFit] | None = None
    for kk in ((k,) if k is not None else K_CHOICES):
        xs = {rid: _stack(questions[rid].rubric_x, indexes[rid].features(self_sims[rid], k=kk),
                          word_fits[rid][1] if rid in word_fits else None) for rid in order}
        y_all = np.concatenate([questions[r].fractions for r in order])
        fit = fit_ridge(xs[order[0]] if single else np.vstack([xs[r][:, :ng] for r in order]), y_all)
        err = float(np.mean((np.clip(fit.loo, 0, 1) - y_all) ** 2))
        if best is None or err < best[0] - 1e-12:
            best = (err, kk, xs, fit)
    assert best is not None
    _, k_best, xs, shared = best
    out = {}
    offset = 0
    for rid in order:
        g, x = questions[rid], xs[rid]
        n, y = len(g.texts), g.fractions
        width = x.shape[1] if single else ng
        raw_coef = np.concatenate([shared.coef / shared.scale, np.zeros(x.shape[1] - width)])
        intercept = shared.intercept - float((shared.coef / shared.scale) @ shared.mean)
        loo = shared.loo[offset : offset + n]
        if not single and n < MIN_OWN_ROWS:  # only the question's own level, shrunk towards the shared model
            residual = y - shared.predict(x[:, :ng])
            intercept += float(residual.sum()) / (n + OFFSET_PRIOR_ROWS)
            loo = loo + (residual.sum() - residual) / (n - 1 + OFFSET_PRIOR_ROWS)
        elif not single:
            residual = y - shared.predict(x[:, :ng])
            own = fit_ridge(x, residual)
            if np.mean((loo + own.loo - y) ** 2) < np.mean((loo - y) ** 2):
                raw_coef = raw_coef + own.coef / own.scale
                intercept += own.intercept - float((own.coef / own.scale) @ own.mean)
                loo = loo + own.loo
        offset += n
        indexes[rid].k = k_best
        out[rid] = _finish(g, indexes[rid], x, raw_coef, intercept, np.clip(loo, 0.0, 1.0), k=k_best, source=source,
                           words=word_fits[rid][0] if rid in word_fits else None)
    return out


def _finish(g: Graded, index: ExemplarIndex, x: np.ndarray, coef: np.ndarray, intercept: float, loo: np.ndarray, *, k: int, source: str,
            words: WordWeights | None = None) -> Learned:
    rubric = g.rubric
    levels = _whole_levels(g)
    cuts = None
    if levels is not None:
        cuts = [round(c / levels, 6) for c in qwk_cuts(loo * levels, np.round(g.scores), levels)]
    points = _to_points(loo, rubric, cuts)
    tolerance = 0.5 if levels is not None else 0.1 * rubric.max_score
    right = np.abs(points - g.scores) <= tolerance + 1e-9
    conf_coef, conf_intercept = _fit_confidence(_confidence_inputs(x, loo), right)
    pass_mark = _fit_pass_mark(loo, g.fractions, rubric.scoring.pass_mark)
    keep = list(range(len(g.texts)))[:MAX_EXEMPLARS]
    return Learned(
        rubric_id=rubric.id, max_score=rubric.max_score, concept_ids=[c.id for c in rubric.concepts],
        exemplars=[Exemplar(text=g.texts[i][:MAX_EXEMPLAR_CHARS], score=float(g.scores[i])) for i in keep],
        k=k, features=feature_names(rubric, words=words is not None), mean=[0.0] * len(coef), scale=[1.0] * len(coef),
        coef=[round(float(c), 8) for c in coef], intercept=round(float(intercept), 8), cuts=cuts,
        words=dict(words.weights) if words is not None else {}, words_intercept=words.intercept if words is not None else 0.0,
        confidence=[round(float(c), 6) for c in conf_coef], confidence_intercept=round(float(conf_intercept), 6),
        confidence_threshold=CONFIDENCE_THRESHOLD, pass_mark=pass_mark,
        source=source[:500] or f"{len(g.texts)} graded answers",
    )


def _fit_confidence(z: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, float]:
    """Logistic regression of "right" on the confidence inputs; a constant when one class is missing."""
    rate = float(np.clip(right.mean(), 0.02, 0.98))
    if right.all() or not right.any() or len(right) < 10:
        return np.zeros(z.shape[1]), math.log(rate / (1 - rate))
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0).fit(z, right.astype(int))
    return model.coef_[0], float(model.intercept_[0])


def _fit_pass_mark(fraction: np.ndarray, human: np.ndarray, rubric_pass: float) -> float | None:
    """Threshold on the learned fraction maximising Cohen's kappa of pass/fail with the teacher's."""
    from sklearn.metrics import cohen_kappa_score

    passed = human >= rubric_pass - 1e-9
    if passed.all() or not passed.any():
        return None
    grid = np.round(np.linspace(0.05, 0.95, 91), 2)
    best = (-2.0, rubric_pass)
    for t in grid:
        pred = fraction >= t
        value = cohen_kappa_score(passed, pred) if pred.any() and not pred.all() else 0.0
        if value > best[0] + 1e-12 or (abs(value - best[0]) <= 1e-12 and abs(t - rubric_pass) < abs(best[1] - rubric_pass)):
            best = (float(value), float(t))
    return best[1]


# --- graded tables, cross-validation ---------------------------------------------------------

def graded_questions(rubrics: Mapping[str, Rubric], rubric_ids: Sequence[str], answers: Sequence[str], scores: Sequence[float],
                     *, scorers: ScorerSet | None = None) -> dict[str, Graded]:
    """Group graded answers by question and score them once with their rubrics (as ``grader batch`` would:
    ``scorers``, default a :class:`~grader.scorer_set.ScorerSet` of ``rubrics``)."""
    if not (len(rubric_ids) == len(answers) == len(scores)):
        raise ValueError("`rubric_ids`, `answers` and `scores` must have the same length")
    scorers = scorers if scorers is not None else ScorerSet(rubrics)
    rows: dict[str, list[int]] = {}
    for i, rid in enumerate(rubric_ids):
        if rid not in rubrics:
            raise InputError(f"unknown rubric id {rid!r}")
        rows.setdefault(rid, []).append(i)
    out = {}
    for rid, idx in sorted(rows.items()):
        texts = [answers[i] for i in idx]
        scorer = scorers[rid]
        base = getattr(scorer, "scorer", scorer)  # learn from the rubric's own view, never a learned one
        out[rid] = Graded.from_results(rubrics[rid], texts, base.score_many(texts), [scores[i] for i in idx])
    return out


def _subset(g: Graded, rows: Sequence[int]) -> Graded:
    rows = list(rows)
    return Graded(g.rubric, [g.texts[i] for i in rows], g.rubric_x[rows], g.rubric_scores[rows], g.scores[rows])


def predict_graded(learned: Learned, g: Graded) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points, fractions, confidences) of already-scored answers under ``learned``."""
    points, fraction, confidence, _ = LearnedModel(learned, g.rubric).predict(g.texts, g.rubric_x)
    return points, fraction, confidence


@dataclass
class LearningReport:
    """Cross-validated agreement per question before (rubric as is) and after learning."""

    folds: int
    before: dict[str, dict[str, float]]
    after: dict[str, dict[str, float]]
    predictions: dict[str, np.ndarray] = field(default_factory=dict)
    confidences: dict[str, np.ndarray] = field(default_factory=dict)
    learned: dict[str, Learned] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (NaN becomes None)."""
        return {"folds": self.folds, "per_question": before_after_json(self.before, self.after)}


def cross_validate_learning(questions: Mapping[str, Graded], *, folds: int = 5, seed: int = 0, k: int | None = None, min_graded: int = MIN_GRADED) -> LearningReport:
    """Out-of-fold learned scores: answers split into folds within each question; each fold is
    scored by models learned on the other folds only (exemplars, coefficients, cuts and all)."""
    from sklearn.model_selection import KFold

    for g in questions.values():
        check_enough(g, min_graded=min_graded)
    splits: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for rid, g in questions.items():
        n_folds = min(folds, len(g.texts))
        splits[rid] = list(KFold(n_splits=n_folds, shuffle=True, random_state=seed).split(np.zeros(len(g.texts))))
    n_folds = max(len(s) for s in splits.values())
    pred = {rid: np.full(len(g.texts), np.nan) for rid, g in questions.items()}
    conf = {rid: np.full(len(g.texts), np.nan) for rid, g in questions.items()}
    for f in range(n_folds):
        train = {rid: _subset(g, splits[rid][f][0]) for rid, g in questions.items() if f < len(splits[rid])}
        fitted = learn_questions(train, k=k, min_graded=min(min_graded, 2))
        for rid, learned in fitted.items():
            test = splits[rid][f][1]
            points, _, c = predict_graded(learned, _subset(questions[rid], test))
            pred[rid][test] = points
            conf[rid][test] = c
    before = {rid: agreement(g.scores, g.rubric_scores, max_score=g.rubric.max_score) for rid, g in questions.items()}
    after = {rid: agreement(g.scores, pred[rid], max_score=g.rubric.max_score) for rid, g in questions.items()}
    return LearningReport(n_folds, before, after, pred, conf)


def with_cv(learned: Learned, report: LearningReport) -> Learned:
    """``learned`` with the cross-validated before/after figures of its question attached."""
    rid = learned.rubric_id
    cv = {"before": metrics_json(report.before[rid], digits=4), "after": metrics_json(report.after[rid], digits=4)}
    return learned.model_copy(update={"cv": cv})


def format_learning(report: LearningReport) -> str:
    """Before/after cross-validated figures as plain text."""
    title = f"Cross-validated agreement ({report.folds} folds by answer; every answer scored by a model learned without it)"
    return format_before_after(title, [(qid, report.before[qid], report.after[qid]) for qid in report.before])


@dataclass
class LearnResult:
    """What ``grader learn`` produces: learned data by rubric id, the cross-validated report,
    and the questions refused (rubric id -> one-line reason)."""

    learned: dict[str, Learned]
    report: LearningReport | None
    refused: dict[str, str]


def learn(
    rubrics: Mapping[str, Rubric],
    rubric_ids: Sequence[str],
    answers: Sequence[str],
    scores: Sequence[float],
    *,
    folds: int = 5,
    seed: int = 0,
    min_graded: int = MIN_GRADED,
    source: str = "",
) -> LearnResult:
    """Cross-validate, then learn from every given graded answer, question by question.

    Questions with fewer than ``min_graded`` graded answers are refused (listed in
    ``refused``); :class:`InputError` if every question is. Scores are in points
    (0..max_score of each rubric).
    """
    questions = graded_questions(rubrics, rubric_ids, answers, scores, scorers=ScorerSet(rubrics))
    refused = {}
    for rid, g in list(questions.items()):
        try:
            check_enough(g, min_graded=min_graded)
        except InputError as exc:
            refused[rid] = str(exc)
            del questions[rid]
    if not questions:
        raise InputError(next(iter(refused.values())) if refused else "no graded answers to learn from")
    report = cross_validate_learning(questions, folds=folds, seed=seed, min_graded=min_graded)
    fitted = learn_questions(questions, min_graded=min_graded, source=source)
    report.learned = {rid: with_cv(lrn, report) for rid, lrn in fitted.items()}
    return LearnResult(report.learned, report, refused)


def learning_curve(questions: Mapping[str, Graded], *, sizes: Sequence[int] = (10, 20, 30, 50), seed: int = 0) -> list[dict[str, float]]:
    """Agreement against the number of graded answers per question (for the rubric studio).

    For each size, each question's answers are shuffled (``seed``), the first ``size`` are
    learned from and the rest scored; the agreement (as ``evaluate``) pools the scored
    rests, in fractions of max_score x 10. Sizes that leave fewer than 5 answers to score
    are skipped. Returns one dict per size: ``graded`` (per question), the metrics and ``n``.
    """
    out = []
    orders = {rid: np.random.default_rng(seed).permutation(len(g.texts)) for rid, g in questions.items()}
    for size in sizes:
        human, pred = [], []
        train, rest = {}, {}
        for rid, g in questions.items():
            if len(g.texts) - size < 5 or size < 2:
                continue
            train[rid] = _subset(g, sorted(orders[rid][:size].tolist()))
            rest[rid] = _subset(g, sorted(orders[rid][size:].tolist()))
        if not train:
            continue
        fitted = learn_questions(train, min_graded=2)
        for rid, learned in fitted.items():
            points, _, _ = predict_graded(learned, rest[rid])
            human += (rest[rid].scores / rest[rid].rubric.max_score * 10).tolist()
            pred += (points / rest[rid].rubric.max_score * 10).tolist()
        out.append({"graded": float(size), **agreement(human, pred, max_score=10)})
    return out
