"""Combine concept coverage and similarity into a score with feedback; deterministic.

coverage = earned concept weight / (total weight * coverage_target), at most 1
raw = (concept_weight * coverage + similarity_weight * s) / (sum of weights), where the
similarity part s = min(max(scaled_similarity, coverage), coverage + SIMILARITY_LEAD):
an answer that covers every concept reaches full marks whatever its wording, and wording
alone (no concept earned) cannot reach the pass mark
then capped if a required concept is missing, minus misconception penalties, capped by
flags, mapped through the rubric's calibration (if any), scaled to max_score and rounded
to ``score_step``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from grader.concepts import ConceptMatch, MisconceptionMatch, RubricMatcher
from grader.feedback import FeedbackItem, build_feedback
from grader.integrity import Flag, check_answer, on_topic_core
from grader.rubric import Calibration, Rubric, Scoring
from grader.signals import build_context
from grader.similarity import SimilarityModel, word_features
from grader.text import Token, tokenize


@dataclass(frozen=True)
class ScoreResult:
    """A score with everything that explains it."""

    rubric_id: str
    score: float
    max_score: float
    raw: float
    coverage: float
    similarity: float
    concepts: list[ConceptMatch]
    misconceptions: list[MisconceptionMatch]
    flags: list[Flag]
    """Validity flags (misconceptions are apart, in ``misconceptions``)."""
    feedback: list[FeedbackItem]
    needs_review: bool
    review_reasons: list[str] = field(default_factory=list)

    @property
    def percent(self) -> float:
        """Score as a percentage of max_score, 0..100."""
        return round(100.0 * self.score / self.max_score, 1)

    @property
    def flag_codes(self) -> list[str]:
        """Distinct codes reported for this answer: its flags', then ``misconception`` if one matched."""
        return list(dict.fromkeys([*(f.code for f in self.flags), *(["misconception"] if self.misconceptions else [])]))

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``grader score --json`` (a stable contract)."""
        return {
            "rubric_id": self.rubric_id,
            "score": self.score,
            "max_score": self.max_score,
            "percent": self.percent,
            "concepts": [
                {
                    "id": c.concept_id,
                    "label": c.label,
                    "matched": c.matched,
                    "evidence": [s.text for s in c.evidence],
                    "spans": [[s.start, s.end] for s in c.evidence],
                }
                for c in self.concepts
            ],
            "flags": [{"code": f.code, "message": f.message} for f in self.flags]
            + [{"code": "misconception", "message": m.feedback} for m in self.misconceptions],
            "feedback": [item.text for item in self.feedback],
            "needs_review": self.needs_review,
            "coverage": round(self.coverage, 4),
            "similarity": round(self.similarity, 4),
        }


class _Floats:
    """The array functions the formula uses, on plain floats: one answer is scored without numpy."""

    minimum = staticmethod(min)
    maximum = staticmethod(max)

    @staticmethod
    def where(condition: bool, x: float, y: float) -> float:
        return x if condition else y


def _namespace(*values: Any) -> Any:
    """numpy for arrays (calibration scores many answers of a rubric at once), else :class:`_Floats`.

    The formula below is written once against these few functions, so the scorer and the
    vectorised calibration compute the same numbers with the same operations.
    """
    for value in values:
        if getattr(value, "ndim", 0):
            import numpy  # an array came in, so numpy is loaded (and numpy 1.x has no __array_namespace__)

            return numpy
    return _Floats


def _round(value: Any, digits: int) -> Any:
    """Python's ``round`` (correctly rounded, unlike ``numpy.round``) of a float or of each element of an array."""
    if not getattr(value, "ndim", 0):
        return round(value, digits)
    import numpy

    return numpy.asarray([round(v, digits) for v in value.ravel().tolist()]).reshape(value.shape)


def scale_similarity(similarity: float, scoring: Scoring) -> float:
    """Map raw cosine similarity to 0..1 between the rubric's floor and ceiling (a float or an array).

    >>> scale_similarity(0.3, Scoring(similarity_floor=0.1, similarity_ceiling=0.5))
    0.5
    """
    span = scoring.similarity_ceiling - scoring.similarity_floor
    xp = _namespace(similarity)
    return _round(xp.minimum(1.0, xp.maximum(0.0, (similarity - scoring.similarity_floor) / span)), 10)


def apply_calibration(raw: float, calibration: Calibration | None) -> float:
    """Map raw 0..1 (a float or an array) through the monotone piecewise-linear calibration (identity if none).

    >>> apply_calibration(0.25, Calibration(points=[(0, 0), (0.5, 1)]))
    0.5
    """
    if calibration is None:
        return raw
    import numpy as np  # only a calibrated rubric needs it (not imported for one plain answer: cold start)

    xs = [p[0] for p in calibration.points]
    ys = [p[1] for p in calibration.points]
    mapped = np.interp(raw, xs, ys)
    return mapped if getattr(raw, "ndim", 0) else float(mapped)


def below_pass_mark(max_score: float, scoring: Scoring) -> float:
    """The highest score on the rubric's step that stays below the pass mark.

    >>> below_pass_mark(1, Scoring(score_step=0.5)), below_pass_mark(10, Scoring())
    (0.0, 4.5)
    """
    mark = scoring.pass_mark * max_score
    step = scoring.score_step or 0.01
    return round(max(0.0, math.ceil(mark / step - 1e-9) * step - step), 4)


def round_to_step(value: float, step: float) -> float:
    """Round half up to a multiple of ``step`` (no rounding when step is 0).

    >>> round_to_step(7.26, 0.5), round_to_step(7.25, 0.5)
    (7.5, 7.5)
    """
    if step <= 0:
        return round(value, 2)
    return round(math.floor(value / step + 0.5 + 1e-9) * step, 4)


SIMILARITY_LEAD = 0.5
"""How far the similarity part may run ahead of concept coverage (see the module docstring)."""


def similarity_part(coverage: float, scaled_similarity: float, *, completeness: float, coverage_target: float) -> float:
    """The similarity term of the score, bounded by the concepts the answer earned (floats or arrays).

    Wording never runs more than SIMILARITY_LEAD ahead of ``coverage``, and an answer that
    covers every concept (``completeness`` 1: earned weight / total weight) gets the whole
    term whatever its wording; between ``coverage_target`` and 1, its floor rises linearly.

    >>> similarity_part(1.0, 0.2, completeness=1.0, coverage_target=0.8)
    1.0
    >>> similarity_part(0.0, 0.9, completeness=0.0, coverage_target=0.8)
    0.5
    >>> similarity_part(1.0, 0.2, completeness=0.9, coverage_target=0.8)
    0.5
    """
    xp = _namespace(coverage, scaled_similarity, completeness)
    span = 1.0 - coverage_target
    floor = completeness if span <= 0 else xp.maximum(0.0, (completeness - coverage_target) / span)
    part = xp.minimum(xp.maximum(scaled_similarity, floor), coverage + SIMILARITY_LEAD)
    return part if xp is not _Floats else float(part)


def combine(
    coverage: float,
    scaled_similarity: float,
    *,
    scoring: Scoring,
    missing_required: bool,
    penalty: float,
    caps: Sequence[float],
    completeness: float | None = None,
) -> float:
    """Raw score fraction in [0, 1] from its parts (before calibration); floats, or arrays of many answers.

    ``completeness`` is the earned share of all concept weight (default: ``coverage``).

    >>> combine(1.0, 1.0, scoring=Scoring(), missing_required=False, penalty=0.0, caps=[])
    1.0
    """
    completeness = coverage if completeness is None else completeness
    xp = _namespace(coverage, scaled_similarity, completeness, missing_required, penalty, *caps)
    total = scoring.concept_weight + scoring.similarity_weight
    part = similarity_part(coverage, scaled_similarity, completeness=completeness, coverage_target=scoring.coverage_target)
    raw = (scoring.concept_weight * coverage + scoring.similarity_weight * part) / total
    raw = xp.where(missing_required, xp.minimum(raw, scoring.missing_required_cap), raw)
    raw = raw - penalty
    for cap in caps:
        raw = xp.minimum(raw, cap)
    return xp.minimum(1.0, xp.maximum(0.0, raw))


def raw_parts(
    earned_weight: float,
    scaled_similarity: float,
    *,
    total_weight: float,
    scoring: Scoring,
    missing_required: bool,
    penalty: float,
    caps: Sequence[float],
) -> tuple[float, float]:
    """(coverage, raw score fraction before calibration) from the earned concept weight.

    Floats for one answer, or arrays for many (calibration's grid search tries many
    ``scoring`` settings on the same answers this way).

    >>> raw_parts(1.0, 0.0, total_weight=2.0, scoring=Scoring(coverage_target=0.5), missing_required=False, penalty=0.0, caps=[])
    (1.0, 0.75)
    """
    coverage = _namespace(earned_weight, total_weight).minimum(1.0, earned_weight / (total_weight * scoring.coverage_target))
    raw = combine(coverage, scaled_similarity, scoring=scoring, missing_required=missing_required, penalty=penalty,
                  caps=caps, completeness=earned_weight / total_weight)
    return coverage, raw


@dataclass(frozen=True)
class ScoreParts:
    """The steps from what an answer earned to its score (see the module docstring)."""

    coverage: float
    raw: float
    fraction: float
    score: float


def score_parts(
    rubric: Rubric,
    *,
    earned_weight: float,
    scaled_similarity: float,
    missing_required: bool,
    penalty: float,
    caps: Sequence[float],
) -> ScoreParts:
    """Coverage, raw score, calibrated fraction and points from an answer's earned concept weight.

    The one place the formula runs: the scorer, a teacher's concept marks
    (:mod:`grader.marking`) and calibration's predictions (:mod:`grader.calibrator`, with
    arrays of many answers of ``rubric``) all come here.

    >>> from grader.rubric import rubric_from_dict
    >>> r = rubric_from_dict({"id": "x", "question": "Q?", "model_answer": "A.",
    ...     "concepts": [{"id": "c", "label": "C", "terms": ["gulag"]}]})
    >>> score_parts(r, earned_weight=1.0, scaled_similarity=0.0, missing_required=False, penalty=0.0, caps=[]).score == r.max_score
    True
    """
    scoring = rubric.scoring
    coverage, raw = raw_parts(earned_weight, scaled_similarity, total_weight=rubric.total_weight, scoring=scoring,
                              missing_required=missing_required, penalty=penalty, caps=caps)
    fraction = apply_calibration(raw, scoring.calibration)
    xp = _namespace(fraction, *caps)
    for cap in caps:  # calibration must not lift a capped answer back up
        fraction = xp.minimum(fraction, cap)
    if xp is _Floats:
        return ScoreParts(coverage, raw, fraction, _points(fraction, earned_weight, rubric.max_score, scoring))
    earned = xp.broadcast_to(earned_weight, fraction.shape).tolist()
    score = xp.asarray([_points(f, e, rubric.max_score, scoring) for f, e in zip(fraction.tolist(), earned)])
    return ScoreParts(coverage, raw, fraction, score)


def _points(fraction: float, earned_weight: float, max_score: float, scoring: Scoring) -> float:
    """One answer's points from its calibrated fraction: rounded to the step, never above max_score."""
    score = min(max_score, round_to_step(fraction * max_score, scoring.score_step))
    if earned_weight == 0 and scoring.calibration is None and score >= scoring.pass_mark * max_score > 0:
        # wording alone, rounded up, must not pass; a calibration fitted to a teacher's grades decides itself
        score = below_pass_mark(max_score, scoring)
    return score


class Scorer:
    """Scores answers against one rubric; build once per rubric and reuse (thread-safe reads).

    Examples
    --------
    >>> from grader.rubric import rubric_from_dict
    >>> r = rubric_from_dict({"id": "x", "question": "Who led the USSR after Stalin?",
    ...     "model_answer": "Nikita Khrushchev led it and denounced Stalin.",
    ...     "concepts": [{"id": "k", "label": "Khrushchev", "terms": ["Khrushchev"]}]})
    >>> Scorer(r).score("Nikita Khrushchev led it and denounced Stalin.").percent
    100.0
    """

    def __init__(self, rubric: Rubric, *, other_vocabularies: Mapping[str, frozenset[str]] | None = None) -> None:
        self.rubric = rubric
        self.matcher_ = RubricMatcher(rubric)
        extra = [" ".join(c.phrases) for c in rubric.concepts]
        self.similarity_ = SimilarityModel(question_word_weight=rubric.scoring.question_word_weight).fit(
            rubric.model_answer, question=rubric.question, extra=extra, alternatives=rubric.alternatives
        )
        # other_vocabularies (rubric id -> grader.signals.rubric_vocabulary) lets the
        # integrity checks spot an answer written for another question of the same set.
        self.context_ = build_context(rubric, other_vocabularies=other_vocabularies)

    def score(self, answer: str) -> ScoreResult:
        """Score one answer."""
        return self.score_many([answer])[0]

    def score_many(self, answers: Sequence[str], *, detail: bool = True) -> list[ScoreResult]:
        """Score many answers (each tokenised once for matching and both similarity views).

        ``detail=False`` is the scores-only path of batch runs: the same scores, flags and
        review reasons, without feedback items or the evidence spans of earned concepts.
        """
        answers = [a if isinstance(a, str) else "" for a in answers]
        tokens = [tokenize(a) for a in answers]  # once per answer: matching and both similarity views
        sims = self.similarity_.similarities(tokens)
        return [self._score_one(a, s, t, detail=detail) for a, s, t in zip(answers, sims, tokens)]

    def _score_one(self, answer: str, similarity: float, tokens: list[Token] | None = None, *, detail: bool = True) -> ScoreResult:
        rubric, scoring = self.rubric, self.rubric.scoring
        concepts, misconceptions, analysis = self.matcher_.match(answer, tokens=tokens, evidence=detail)
        flags = check_answer(
            answer, analysis.tokens, self.context_,
            matched=frozenset(c.concept_id for c in concepts if c.matched),
            known_spans=tuple((s.start, s.end) for m in misconceptions for s in m.evidence),
        )
        if any(f.code == "padding" for f in flags):  # score the relevant core, not the filler
            similarity = self.similarity_.similarities([tokenize(on_topic_core(answer, analysis.tokens, self.context_))])[0]
        matched_weight = sum(c.weight * c.earned for c in concepts)
        missing_required = any(
            not m.matched for m, c in zip(concepts, rubric.concepts) if c.required
        )
        for c in concepts:
            if not c.matched and c.negated:
                flags.append(Flag("negated_concept", f'You wrote "{c.negated[0].text}" in a negative sense; '
                                  "check that this is what you mean.", cap=self.context_.caps.get("negated_concept"),
                                  penalty=self.context_.penalties.get("negated_concept", 0.0)))
        penalty = sum(m.penalty for m in misconceptions) + sum(f.penalty for f in flags)
        caps = [f.cap for f in flags if f.cap is not None]
        scaled = scale_similarity(similarity, scoring)
        parts = score_parts(rubric, earned_weight=matched_weight, scaled_similarity=scaled,
                            missing_required=missing_required, penalty=penalty, caps=caps)
        coverage, raw, fraction, score = parts.coverage, parts.raw, parts.fraction, parts.score
        reasons = _review_reasons(flags, misconceptions, coverage, scaled, fraction, scoring)
        feedback = build_feedback(rubric, concepts, misconceptions, flags) if detail else []
        return ScoreResult(
            rubric_id=rubric.id,
            score=score,
            max_score=rubric.max_score,
            raw=raw,
            coverage=coverage,
            similarity=similarity,
            concepts=concepts,
            misconceptions=misconceptions,
            flags=flags,
            feedback=feedback,
            needs_review=bool(reasons),
            review_reasons=reasons,
        )


def _review_reasons(
    flags: list[Flag], misconceptions: list[MisconceptionMatch], coverage: float, scaled: float, fraction: float, scoring: Scoring
) -> list[str]:
    """Why a teacher should look at this answer (empty list: the scorer is confident)."""
    reasons = [f"flag:{f.code}" for f in flags if f.review and f.code != "empty"]
    reasons += ["flag:misconception"] * len(misconceptions)
    if scaled - coverage > 0.5:  # the model answer's words without its ideas: copied or garbled
        reasons.append("similar wording but few concepts")
    if abs(fraction - scoring.pass_mark) < scoring.review_margin:
        reasons.append("near the pass mark")
    return reasons


def score_answer(rubric: Rubric, answer: str) -> ScoreResult:
    """Score one answer against ``rubric`` (builds a :class:`Scorer`; reuse one for many answers)."""
    return Scorer(rubric).score(answer)
