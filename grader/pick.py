"""Which answers the teacher should grade next, for the largest gain (``grader next``).

First, representatives (taken in turn from five bands of the rubric's own score, so the
graded answers span the range of scores; chosen on ASAP-SAS train answers, where pure
density picks lost to random picks and banded ones beat them) of groups of similar answers that no graded answer covers yet: a
greedy cover in the word-and-character TF-IDF space of :class:`grader.exemplars.ExemplarIndex`
(each pick is the answer that most raises the similarity of the ungraded answers to their
nearest graded-or-picked answer, counting only answers at least :data:`GROUP_SIMILARITY`
alike). Once no uncovered group of at least ``min_group`` answers is left, the least
certain answers (lowest learned confidence), when confidences are known. Identical or
near-identical answers form the tightest groups, so they come first. Deterministic: ties
go to the earlier answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from grader.errors import InputError
from grader.exemplars import ExemplarIndex
from grader.learn import MIN_GRADED, graded_questions, learn_questions
from grader.learned import Learned
from grader.rubric import Rubric
from grader.scorer_set import ScorerSet

GROUP_SIMILARITY = 0.3
"""Answers at least this similar to a representative belong to its group."""
MIN_GROUP = 3
MAX_CANDIDATES = 3000
"""At most this many answers are considered as representatives (evenly spread over the input)."""


@dataclass(frozen=True)
class Pick:
    """An answer to grade next: its position in the input, its group and why it was picked."""

    index: int
    group: int
    group_size: int
    reason: str


def similarity_matrix(texts: Sequence[str]) -> np.ndarray:
    """Similarities of ``texts`` to each other (diagonal 1), in the exemplar index's space."""
    if not texts:
        return np.zeros((0, 0))
    sims = ExemplarIndex().fit(list(texts), [0.0] * len(texts)).self_similarities()
    np.fill_diagonal(sims, 1.0)
    return sims


def score_bands(raw: Sequence[float], *, bands: int = 5) -> np.ndarray:
    """Band (0..bands-1) of each answer by the quantiles of the rubric's raw score, for ``strata``.

    >>> score_bands([0.1, 0.9, 0.5, 0.3, 0.7]).tolist()
    [0, 4, 2, 1, 3]
    """
    values = np.asarray(raw, dtype=float)
    if not len(values):
        return np.zeros(0, dtype=int)
    cuts = np.quantile(values, np.linspace(0, 1, bands + 1)[1:-1])
    return np.searchsorted(cuts, values, side="right")


def groups_of(sims: np.ndarray, representatives: Sequence[int]) -> np.ndarray:
    """For each answer, the position in ``representatives`` of its most similar one (-1 if none)."""
    if not len(representatives):
        return np.full(sims.shape[0], -1)
    return np.argmax(sims[:, list(representatives)], axis=1)


def pick_next(
    answers: Sequence[str],
    *,
    graded: Sequence[str] = (),
    n: int = 10,
    confidence: Sequence[float] | None = None,
    min_group: int = MIN_GROUP,
    strata: Sequence[int] | None = None,
) -> list[Pick]:
    """Up to ``n`` answers (positions in ``answers``) to grade next, best first.

    Parameters
    ----------
    answers : sequence of str
        The ungraded answers to choose from.
    graded : sequence of str
        Answers already graded (they cover their groups).
    n : int
        How many to pick.
    confidence : sequence of float, optional
        Confidence of the current learned score of each answer (0..1); once the groups are
        covered, the least confident are picked.
    strata : sequence of int, optional
        A band per answer (e.g. the quintile of the rubric's own score): representatives
        are taken from the bands in turn, so the graded answers span the range of scores
        and not only the most common kind of answer.

    >>> picks = pick_next(["the cell wall", "the cell wall", "cell walls", "mitochondria"], n=2, min_group=2)
    >>> [(p.index, p.group_size) for p in picks]
    [(0, 3), (3, 1)]
    """
    if n < 1:
        raise ValueError(f"`n` must be >= 1. Got {n}")
    if confidence is not None and len(confidence) != len(answers):
        raise ValueError(f"`confidence` needs one value per answer. Got {len(confidence)} for {len(answers)} answers")
    m = len(answers)
    if m == 0:
        return []
    texts = [a if isinstance(a, str) else "" for a in answers]
    every = similarity_matrix([*texts, *graded])
    sims = every[:m, :m]
    cover = every[:m, m:].max(axis=1) if len(graded) else np.zeros(m)
    candidates = np.arange(m) if m <= MAX_CANDIDATES else np.unique(np.linspace(0, m - 1, MAX_CANDIDATES).astype(int))
    band = np.asarray(strata) if strata is not None else None
    if band is not None and len(band) != m:
        raise ValueError(f"`strata` needs one value per answer. Got {len(band)} for {m} answers")
    chosen: list[int] = []
    reasons: list[str] = []
    taken = np.zeros(m, dtype=bool)
    while len(chosen) < min(n, m):
        close = sims[candidates] >= GROUP_SIMILARITY
        gain_each = np.where(close, np.maximum(sims[candidates] - cover[None, :], 0.0), 0.0)
        members = (gain_each > 1e-9) & close
        gain = gain_each.sum(axis=1)
        size = members.sum(axis=1)
        gain[taken[candidates]] = -1.0
        if band is not None:
            counts = {b: int(np.sum(band[chosen] == b)) if chosen else 0 for b in np.unique(band[candidates][~taken[candidates]])}
            if counts:
                turn = min(counts, key=lambda b: (counts[b], b))
                gain[band[candidates] != turn] = -1.0
        best = int(np.argmax(gain))
        if size[best] >= min_group or confidence is None:
            if gain[best] < 0:
                break
            c = int(candidates[best])
            count = int(size[best])
            reasons.append(f"represents {count} similar answer{'s' if count != 1 else ''} not yet covered by a graded one")
        else:
            order = np.lexsort((np.arange(m), np.asarray(confidence, dtype=float)))
            left = [int(i) for i in order if not taken[i]]
            if not left:
                break
            c = left[0]
            reasons.append(f"least certain (confidence {float(confidence[c]):.2f})")
        chosen.append(c)
        taken[c] = True
        cover = np.maximum(cover, sims[c])
    group = groups_of(sims, chosen)
    sizes = np.bincount(group[group >= 0], minlength=len(chosen)) if len(chosen) else np.zeros(0, dtype=int)
    return [Pick(c, k + 1, int(sizes[k]), reasons[k]) for k, c in enumerate(chosen)]


@dataclass(frozen=True)
class NextAnswer:
    """A row of the answers table to grade next, for ``grader next``."""

    row: int
    question_id: str
    rank: int
    pick: Pick


def next_to_grade(
    rubrics: Mapping[str, Rubric],
    rubric_ids: Sequence[str],
    answers: Sequence[str],
    *,
    graded_ids: Sequence[str] = (),
    graded_answers: Sequence[str] = (),
    graded_scores: Sequence[float] = (),
    learned: Mapping[str, Learned] | None = None,
    n: int = 10,
) -> list[NextAnswer]:
    """Up to ``n`` answers per question to grade next (rows of ``answers``), question by question.

    Graded answers (given, and the exemplars of stored learned data) cover their groups;
    confidences come from a model learned in memory from the given graded answers when
    there are enough (:data:`grader.learn.MIN_GRADED`), else from the stored learned data.
    Answers identical to a graded one are never picked.
    """
    learned = dict(learned or {})
    rows: dict[str, list[int]] = {}
    for i, rid in enumerate(rubric_ids):
        if rid not in rubrics:
            raise InputError(f"unknown question {rid!r} (no rubric with that id)")
        rows.setdefault(rid, []).append(i)
    graded: dict[str, list[int]] = {}
    for j, rid in enumerate(graded_ids):
        graded.setdefault(rid, []).append(j)
    out: list[NextAnswer] = []
    for rid, idx in sorted(rows.items()):
        rubric = rubrics[rid]
        done_texts = [graded_answers[j] for j in graded.get(rid, [])]
        model = learned.get(rid)
        if len(done_texts) >= MIN_GRADED:
            g = graded_questions({rid: rubric}, [rid] * len(done_texts), done_texts, [graded_scores[j] for j in graded[rid]])
            model = learn_questions(g)[rid]
        cover = done_texts + ([e.text for e in model.exemplars] if model is not None else [])
        known = {" ".join(t.split()).lower() for t in cover}
        pool = [i for i in idx if " ".join(answers[i].split()).lower() not in known and answers[i].strip()]
        if not pool:
            continue
        confidence = None
        scorer = ScorerSet({rid: rubric}, learned=None if model is None else {rid: model})[rid]
        scored = scorer.score_many([answers[i] for i in pool])
        if model is not None:
            confidence = [r.confidence for r in scored]
        bands = score_bands([r.raw for r in scored])  # representatives across the rubric's score range
        picks = pick_next([answers[i] for i in pool], graded=cover, n=n, confidence=confidence, strata=bands.tolist())
        out += [NextAnswer(pool[p.index], rid, k + 1, p) for k, p in enumerate(picks)]
    return out


def answer_groups(answers: Sequence[str], *, similarity: float = 0.8) -> list[list[int]]:
    """Groups of answers with the same or near-same wording (positions), largest first.

    Answers equal after folding case and spaces group first; then any answer at least
    ``similarity`` alike to a group's first answer joins it. Single answers are left out.

    >>> answer_groups(["Cell wall.", "cell  wall.", "mitochondria", "Cell wall"])
    [[0, 1, 3]]
    """
    texts = [" ".join(a.split()).lower() if isinstance(a, str) else "" for a in answers]
    firsts: dict[str, int] = {}
    for i, t in enumerate(texts):
        if t:
            firsts.setdefault(t, i)
    heads = sorted(set(firsts.values()))
    if not heads:
        return []
    sims = similarity_matrix([texts[i] for i in heads])
    group_of: dict[int, int] = {}
    for a, i in enumerate(heads):
        if i in group_of:
            continue
        group_of[i] = i
        for b in range(a + 1, len(heads)):
            j = heads[b]
            if j not in group_of and sims[a, b] >= similarity:
                group_of[j] = i
    members: dict[int, list[int]] = {}
    for i, t in enumerate(texts):
        if t:
            members.setdefault(group_of[firsts[t]], []).append(i)
    groups = [m for m in members.values() if len(m) > 1]
    return sorted(groups, key=lambda m: (-len(m), m[0]))
