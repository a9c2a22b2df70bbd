"""Grading with the rubric: the teacher marks concepts present or absent, the score follows.

:func:`score_with_marks` recomputes a :class:`~grader.scoring.ScoreResult` with some concepts
set by the teacher, with the scorer's own formula (earned weight with partial credit,
coverage, required concepts, misconception and flag penalties and caps, the similarity part
bounded by coverage, calibration, rounding, the pass-mark guard), so marking every concept
as the scorer did gives back the scorer's score. It mirrors ``Scorer._score_one`` in
:mod:`grader.scoring`; ``tests/test_marking.py`` checks the two agree on the sample answers,
so a change to the formula there fails here until it is mirrored. Similarity, flags and
misconceptions stay as the scorer found them, except that a concept marked present is no
longer reported as negated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from grader.concepts import ConceptMatch
from grader.feedback import FeedbackItem, build_feedback
from grader.rubric import Rubric
from grader.scoring import Scorer, ScoreResult, scale_similarity, score_parts

if TYPE_CHECKING:  # annotations only: marking needs no database driver
    from grader.store import ConceptMark


@dataclass(frozen=True)
class MarkedScore:
    """The score with the teacher's marks, what the marks changed, and the matching feedback."""

    score: float
    max_score: float
    concepts: list[ConceptMatch]
    changed: dict[str, bool]
    feedback: list[FeedbackItem]

    def reason(self, labels: Mapping[str, str] | None = None) -> str:
        """The override reason naming the concepts the teacher changed.

        >>> MarkedScore(6, 10, [], {"a": True, "b": False}, []).reason({"a": "Secret Speech"})
        'Concepts marked by the teacher: present: Secret Speech; absent: b'
        """
        labels = labels or {}
        present = [labels.get(c, c) for c, v in self.changed.items() if v]
        absent = [labels.get(c, c) for c, v in self.changed.items() if not v]
        parts = ([f"present: {', '.join(present)}"] if present else []) + ([f"absent: {', '.join(absent)}"] if absent else [])
        return "Concepts marked by the teacher: " + ("; ".join(parts) if parts else "as the scorer found them")


def score_with_marks(rubric: Rubric, result: ScoreResult, marks: Mapping[str, bool]) -> MarkedScore:
    """The score of ``result``'s answer when the concepts in ``marks`` are present (True) or absent (False).

    Unknown concept ids raise ``KeyError``; concepts not in ``marks`` keep the scorer's decision.

    >>> from grader.rubric import rubric_from_dict
    >>> from grader.scoring import Scorer
    >>> r = rubric_from_dict({"id": "x", "question": "Who led the USSR after Stalin?",
    ...     "model_answer": "Nikita Khrushchev led it and denounced Stalin.",
    ...     "concepts": [{"id": "k", "label": "Khrushchev", "terms": ["Khrushchev"]},
    ...                  {"id": "d", "label": "Denounced", "terms": ["denounced Stalin"]}]})
    >>> res = Scorer(r).score("Khrushchev led it.")
    >>> score_with_marks(r, res, {}).score == res.score, score_with_marks(r, res, {"d": True}).score > res.score
    (True, True)
    """
    known = {c.concept_id for c in result.concepts}
    for cid in marks:
        if cid not in known:
            raise KeyError(f"unknown concept {cid!r}; known: {', '.join(sorted(known))}")
    scoring = rubric.scoring
    # A concept the teacher changed earns all (present) or nothing (absent); the others keep
    # the scorer's decision, partial credit included.
    concepts = [
        replace(c, matched=marks[c.concept_id], credit=None)
        if c.concept_id in marks and bool(marks[c.concept_id]) != c.matched else c
        for c in result.concepts
    ]
    changed = {c.concept_id: c.matched for c, old in zip(concepts, result.concepts) if c.matched != old.matched}
    earned_weight = sum(c.weight * c.earned for c in concepts)
    required = {c.id for c in rubric.concepts if c.required}
    missing_required = any(not c.matched for c in concepts if c.concept_id in required)
    now_present = [c for c in result.concepts if changed.get(c.concept_id) and c.negated]
    flags = [
        f for f in result.flags
        if not (f.code == "negated_concept" and any(c.negated[0].text in f.message for c in now_present))
    ]
    penalty = sum(m.penalty for m in result.misconceptions) + sum(f.penalty for f in flags)
    caps = [f.cap for f in flags if f.cap is not None]
    score = score_parts(rubric, earned_weight=earned_weight, scaled_similarity=scale_similarity(result.similarity, scoring),
                        missing_required=missing_required, penalty=penalty, caps=caps).score
    feedback = build_feedback(rubric, concepts, list(result.misconceptions), flags)
    return MarkedScore(score, rubric.max_score, concepts, changed, feedback)


def agreement_with_marks(rubric: Rubric, marks: Sequence[tuple[str, str, bool]]) -> list[dict[str, object]]:
    """How often ``rubric`` agrees with teachers' concept marks, per concept (for rubric tuning).

    ``marks`` are ``(answer, concept id, present)`` triples (the latest mark per answer and
    concept should be given once). Each answer is scored with ``rubric``; a mark agrees when
    the rubric matches the concept exactly when the teacher said it is present. Marks of
    concepts the rubric does not have are left out.

    >>> from grader.rubric import rubric_from_dict
    >>> r = rubric_from_dict({"id": "x", "question": "Who led the USSR after Stalin?",
    ...     "model_answer": "Nikita Khrushchev led it.", "concepts": [{"id": "k", "label": "K", "terms": ["Khrushchev"]}]})
    >>> agreement_with_marks(r, [("Khrushchev led it.", "k", True), ("Nikita led it.", "k", True)])
    [{'concept': 'k', 'label': 'K', 'marks': 2, 'agree': 1, 'teacher present, rubric missed': 1, 'teacher absent, rubric matched': 0}]
    """
    known = {c.id: c.label for c in rubric.concepts}
    kept = [(a, cid, p) for a, cid, p in marks if cid in known]
    answers = list(dict.fromkeys(a for a, _, _ in kept))
    if not answers:
        return []
    matched = {a: {c.concept_id: c.matched for c in res.concepts} for a, res in zip(answers, Scorer(rubric).score_many(answers))}
    rows: dict[str, dict[str, object]] = {}
    for answer, cid, present in kept:
        row = rows.setdefault(cid, {"concept": cid, "label": known[cid], "marks": 0, "agree": 0,
                                    "teacher present, rubric missed": 0, "teacher absent, rubric matched": 0})
        found = matched[answer][cid]
        row["marks"] += 1
        row["agree"] += found == present
        row["teacher present, rubric missed"] += present and not found
        row["teacher absent, rubric matched"] += found and not present
    return [rows[c] for c in known if c in rows]


def latest_marks(marks: Sequence["ConceptMark"]) -> list[tuple[str, str, bool]]:
    """``(answer, concept id, present)`` of the latest mark per run, row and concept (marks oldest first)."""
    latest: dict[tuple[int, int, str], tuple[str, str, bool]] = {}
    for m in marks:
        latest[(m.run_id, m.row, m.concept_id)] = (m.answer, m.concept_id, m.present)
    return list(latest.values())
