"""Scoring with what was learned from the teacher's grades (:mod:`grader.learn` learns it).

A :class:`LearnedScorer` wraps a rubric's :class:`~grader.scoring.Scorer`: the rubric's view
of an answer (:func:`rubric_features`), its nearest graded answers
(:class:`~grader.exemplars.ExemplarIndex`) and the stored model
(:class:`~grader.learned.Learned`) give the learned score, a confidence and the graded
answers it is closest to (:class:`LearnedScoreResult`). :class:`grader.scorer_set.ScorerSet`
builds one for every rubric with learned data, so every front end scores the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.errors import RubricError
from grader.exemplars import KNN_FEATURES, ExemplarIndex
from grader.learned import Learned, check_matches
from grader.rubric import Rubric
from grader.scoring import ScoreResult, Scorer, round_to_step
from grader.words import word_weights_from

BASE_FEATURES = ("raw", "coverage", "similarity", "penalty", "flags", "capped")
GENERIC_FEATURES = (*BASE_FEATURES, *KNN_FEATURES)
LOW_SUPPORT = 0.35
"""Nearest graded answer less similar than this: "few graded answers like this one"."""


# --- features ------------------------------------------------------------------------------

def _credit(concept: Any) -> float:
    """A concept's credit in [0, 1] (partial credit if the matcher gives one, else matched)."""
    credit = getattr(concept, "credit", None)
    return float(credit) if credit is not None else float(bool(concept.matched))


def rubric_features(result: ScoreResult) -> np.ndarray:
    """The rubric's view of an answer as numbers: :data:`BASE_FEATURES` then one per concept.

    >>> from grader.rubric import rubric_from_dict
    >>> r = rubric_from_dict({"id": "x", "question": "Who?", "model_answer": "Khrushchev did.",
    ...     "concepts": [{"id": "k", "label": "K", "terms": ["Khrushchev"]}]})
    >>> rubric_features(Scorer(r).score("Khrushchev did."))[[1, 6]].tolist()
    [1.0, 1.0]
    """
    penalty = sum(m.penalty for m in result.misconceptions) + sum(getattr(f, "penalty", 0.0) for f in result.flags)
    capped = min([f.cap for f in result.flags if f.cap is not None], default=1.0)
    base = [result.raw, result.coverage, result.similarity, penalty, float(len(result.flags)), 1.0 - capped]
    return np.array(base + [_credit(c) for c in result.concepts], dtype=float)


def rubric_matrix(rubric: Rubric, results: Sequence[ScoreResult]) -> np.ndarray:
    """:func:`rubric_features` of each result, one row each ((0, n) for none)."""
    if not results:
        return np.zeros((0, len(BASE_FEATURES) + len(rubric.concepts)))
    return np.vstack([rubric_features(r) for r in results])


def feature_names(rubric: Rubric, *, words: bool = False) -> list[str]:
    """Names of the learned model's inputs for ``rubric`` (``words``: with the word-weights feature)."""
    return [*GENERIC_FEATURES, *(f"concept:{c.id}" for c in rubric.concepts), *(["words"] if words else [])]


def _stack(rubric_part: np.ndarray, knn_part: np.ndarray, words: np.ndarray | None = None) -> np.ndarray:
    """Columns in :func:`feature_names` order: base, neighbour, concept features, then words."""
    nb = len(BASE_FEATURES)
    extra = [] if words is None else [np.asarray(words, dtype=float)[:, None]]
    return np.hstack([rubric_part[:, :nb], knn_part, rubric_part[:, nb:], *extra])


def _to_points(fraction: np.ndarray, rubric: Rubric, cuts: Sequence[float] | None) -> np.ndarray:
    fraction = np.clip(np.asarray(fraction, dtype=float), 0.0, 1.0)
    if cuts is not None:
        levels = len(cuts)
        whole = np.searchsorted(np.asarray(cuts), fraction, side="right")
        return whole * (rubric.max_score / levels)
    return np.array([min(rubric.max_score, round_to_step(f * rubric.max_score, rubric.scoring.score_step)) for f in fraction])


CONFIDENCE_INPUTS = ("nearest_similarity", "knn_spread", "model_vs_neighbours")


def _confidence_inputs(x: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    nb = len(BASE_FEATURES)
    knn_mean = x[:, nb + KNN_FEATURES.index("knn_mean")]
    nearest = x[:, nb + KNN_FEATURES.index("nearest_similarity")]
    spread = x[:, nb + KNN_FEATURES.index("knn_spread")]
    return np.column_stack([nearest, spread, np.abs(fraction - knn_mean)])


# --- scoring with what was learned -----------------------------------------------------------

@dataclass(frozen=True)
class Neighbour:
    """A graded answer close to the one scored: its text, the teacher's score and the similarity."""

    text: str
    score: float
    similarity: float


@dataclass(frozen=True)
class LearnedScoreResult(ScoreResult):
    """A :class:`ScoreResult` whose score was learned from graded answers.

    ``rubric_score`` is what the rubric alone gives; ``confidence`` (0..1) the estimated
    chance that the learned score is right; ``neighbours`` the closest graded answers.
    """

    rubric_score: float = 0.0
    confidence: float = 1.0
    neighbours: tuple[Neighbour, ...] = ()
    explanation: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The contract of :meth:`ScoreResult.to_dict` plus ``confidence`` and ``learned``."""
        data = super().to_dict()
        data["confidence"] = round(self.confidence, 3)
        data["learned"] = {
            "rubric_score": self.rubric_score,
            "explanation": self.explanation,
            "closest_graded": [{"answer": n.text, "score": n.score, "similarity": round(n.similarity, 3)} for n in self.neighbours],
        }
        return data


class LearnedModel:
    """Learned data made ready to score: the exemplar index refitted from the stored texts."""

    def __init__(self, learned: Learned, rubric: Rubric) -> None:
        check_matches(learned, rubric, source=f"<learned {rubric.id}>")
        self.learned = learned
        self.rubric = rubric
        self.index_ = ExemplarIndex(k=learned.k).fit(
            [e.text for e in learned.exemplars], [e.score / learned.max_score for e in learned.exemplars]
        )
        if learned.features != feature_names(rubric, words=bool(learned.words)):
            raise RubricError(f"learned data for {rubric.id!r} has features that do not fit this rubric; learn again")
        self.words_ = word_weights_from(learned.words, learned.words_intercept)
        self.coef_ = (np.asarray(learned.coef) / np.asarray(learned.scale))
        self.intercept_ = learned.intercept - float(self.coef_ @ np.asarray(learned.mean))

    def predict(self, texts: Sequence[str], rubric_x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(points, fractions, confidences, similarity matrix) of answers whose :func:`rubric_matrix` is ``rubric_x``."""
        sims = self.index_.similarities(texts)
        knn = self.index_.features(sims)
        x = _stack(rubric_x, knn, self.words_.predict(texts) if self.words_ is not None else None)
        fraction = np.clip(x @ self.coef_ + self.intercept_, 0.0, 1.0)
        # validity caps (gaming) still bind: graded neighbours must not lift a capped answer
        fraction = np.minimum(fraction, 1.0 - rubric_x[:, BASE_FEATURES.index("capped")])
        points = _to_points(fraction, self.rubric, self.learned.cuts)
        z = _confidence_inputs(x, fraction) @ np.asarray(self.learned.confidence) + self.learned.confidence_intercept
        confidence = 1.0 / (1.0 + np.exp(-z))
        return points, fraction, confidence, sims


class LearnedScorer:
    """A :class:`Scorer` whose scores follow what was learned from the teacher's grades.

    Same interface as :class:`Scorer` (``score``, ``score_many``, ``rubric``); results are
    :class:`LearnedScoreResult`. Deterministic.
    """

    def __init__(self, scorer: Scorer, learned: Learned) -> None:
        self.scorer = scorer
        self.rubric = scorer.rubric
        self.model_ = LearnedModel(learned, scorer.rubric)

    def score(self, answer: str) -> LearnedScoreResult:
        """Score one answer."""
        return self.score_many([answer])[0]

    def score_many(self, answers: Sequence[str], *, detail: bool = True) -> list[LearnedScoreResult]:
        """Score many answers: the rubric's results, then one vectorised learned prediction."""
        answers = [a if isinstance(a, str) else "" for a in answers]
        base = self.scorer.score_many(answers, detail=detail)
        if not base:
            return []
        points, fraction, confidence, sims = self.model_.predict(answers, rubric_matrix(self.rubric, base))
        top = self.model_.index_.neighbours(sims, count=3)
        learned = self.model_.learned
        out = []
        for i, result in enumerate(base):
            out.append(self._result(result, float(points[i]), float(fraction[i]), float(confidence[i]),
                                    [Neighbour(learned.exemplars[j].text, learned.exemplars[j].score, float(sims[i, j])) for j in top[i]]))
        return out

    def _result(self, base: ScoreResult, points: float, fraction: float, confidence: float, neighbours: list[Neighbour]) -> LearnedScoreResult:
        learned = self.model_.learned
        if not base.concepts or any(f.code == "empty" for f in base.flags):
            points, fraction = base.score, base.score / base.max_score  # nothing to learn from an empty answer
        reasons = [r for r in base.review_reasons if r != "near the pass mark"]
        if confidence < learned.confidence_threshold:
            reasons.append(_low_confidence_reason(confidence, neighbours))
        pass_mark = learned.pass_mark if learned.pass_mark is not None else self.rubric.scoring.pass_mark
        if abs(fraction - pass_mark) < self.rubric.scoring.review_margin:
            reasons.append("near the pass mark")
        shown = [n for n in neighbours if n.similarity > 0][:3]
        explanation = ""
        if shown:
            graded = ", ".join(f"{n.score:g}/{base.max_score:g}" for n in shown)
            explanation = f"closest to answers you graded {graded}"
        return LearnedScoreResult(
            **{**base.__dict__, "score": float(points), "needs_review": bool(reasons), "review_reasons": reasons},
            rubric_score=base.score, confidence=confidence, neighbours=tuple(shown), explanation=explanation,
        )


def _low_confidence_reason(confidence: float, neighbours: Sequence[Neighbour]) -> str:
    nearest = neighbours[0].similarity if neighbours else 0.0
    if nearest < LOW_SUPPORT:
        why = "few graded answers like this one"
    elif len({n.score for n in neighbours}) > 1:
        why = "similar graded answers got different scores"
    else:
        why = "the rubric and the graded answers disagree"
    return f"low confidence ({confidence:.2f}): {why}"


def confidence_of(result: ScoreResult) -> float | None:
    """The confidence of a learned score (None for a score of a rubric with nothing learned)."""
    return getattr(result, "confidence", None)


def wrap_scorer(scorer: Scorer, learned: Learned | None) -> Scorer | LearnedScorer:
    """``scorer`` itself when nothing was learned, else a :class:`LearnedScorer` around it."""
    return scorer if learned is None else LearnedScorer(scorer, learned)
