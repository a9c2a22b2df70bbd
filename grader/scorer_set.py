"""The scorers of a question set: the one way every front end gets a scorer.

A question set is a folder of rubrics. Each rubric's scorer is built knowing the other
rubrics' vocabularies, so the integrity checks can tell an answer written for another
question of the set (``wrong_question``); a scorer built alone cannot. ``grader score``,
``grader batch``, evaluate, calibrate, the Dask engine and every page of the app ask a
:class:`ScorerSet` for their scorers, so the same answer gets the same score, flags and
feedback on every screen.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from grader.errors import InputError
from grader.learned import Learned, load_learned_all
from grader.rubric import Rubric, load_rubrics
from grader.scoring import Scorer, ScoreResult
from grader.signals import rubric_vocabulary


class ScorerSet(Mapping[str, Scorer]):
    """One :class:`~grader.scoring.Scorer` per rubric of a question set, built on first use.

    Parameters
    ----------
    rubrics : mapping of str to Rubric
        The rubrics to score with, by id (iteration order is kept).
    context : mapping of str to Rubric, optional
        Other rubrics of the same question set that are not scored with here but whose
        vocabularies every scorer knows (the studio scores an edited rubric among the rest
        of its set). Ids also in ``rubrics`` are ignored.
    learned : mapping of str to Learned, optional
        What ``grader learn`` learned from the teacher's grades, by rubric id: the scorers of
        those rubrics are :class:`~grader.learned_scoring.LearnedScorer` s (same interface,
        results carry a confidence). Load it with :func:`grader.learned.load_learned_all`
        (or ``from_path(..., learned=True)``).

    A set is a read-only mapping from rubric id to scorer; scorers are fitted once and
    reused, so share one set (the app caches it) rather than building scorers per answer.

    Examples
    --------
    >>> from grader.rubric import rubric_from_dict
    >>> def rubric(rid, question, model_answer, term):
    ...     return rubric_from_dict({"id": rid, "question": question, "model_answer": model_answer,
    ...                              "concepts": [{"id": "c", "label": term, "terms": [term]}]})
    >>> scorers = ScorerSet({
    ...     "thaw": rubric("thaw", "What was the Thaw?", "Censorship eased under Khrushchev.", "censorship eased"),
    ...     "sputnik": rubric("sputnik", "What was Sputnik?", "The first satellite, launched in 1957.", "first satellite")})
    >>> list(scorers), sorted(scorers.vocabularies())
    (['thaw', 'sputnik'], ['sputnik', 'thaw'])
    >>> scorers.score("sputnik", "Sputnik was the first satellite, launched in 1957.").percent
    100.0
    """

    def __init__(
        self,
        rubrics: Mapping[str, Rubric],
        *,
        context: Mapping[str, Rubric] | None = None,
        learned: Mapping[str, Learned] | None = None,
    ) -> None:
        self.rubrics: dict[str, Rubric] = dict(rubrics)
        self.context: dict[str, Rubric] = {rid: r for rid, r in (context or {}).items() if rid not in self.rubrics}
        self.learned: dict[str, Learned] = {rid: lrn for rid, lrn in (learned or {}).items() if rid in self.rubrics}
        self._scorers: dict[str, Scorer] = {}
        self._vocabularies: dict[str, frozenset[str]] | None = None

    @classmethod
    def from_folder(cls, path: str | os.PathLike[str], *, learned: bool = False) -> "ScorerSet":
        """Every rubric (``*.yaml``/``*.yml``) of a folder, in order of id: one question set.

        With ``learned``, the learned data stored beside the rubrics (``grader learn``) is used.
        """
        if not Path(path).is_dir():
            raise InputError(f"{path}: expected a folder of rubrics")
        return cls._loaded(path, dict(sorted(load_rubrics(path).items())), learned)

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], *, learned: bool = False) -> "ScorerSet":
        """A folder's question set (:meth:`from_folder`), or a set of one for a rubric file."""
        if Path(path).is_dir():
            return cls.from_folder(path, learned=learned)
        return cls._loaded(path, load_rubrics(path), learned)

    @classmethod
    def _loaded(cls, path: str | os.PathLike[str], rubrics: dict[str, Rubric], learned: bool) -> "ScorerSet":
        return cls(rubrics, learned=load_learned_all(path, rubrics) if learned else None)

    @classmethod
    def coerce(cls, rubrics: "Mapping[str, Rubric] | ScorerSet") -> "ScorerSet":
        """``rubrics`` itself if it is a set, else a set of those rubrics."""
        return rubrics if isinstance(rubrics, ScorerSet) else cls(rubrics)

    def replacing(self, old_id: str | None, rubric: Rubric) -> "ScorerSet":
        """A set scoring only ``rubric``, with the rest of this set (minus ``old_id``) as context.

        The studio scores an edited rubric this way: among its question set, without the
        version it replaces (whose vocabulary would look like "another question").
        """
        others = {rid: r for rid, r in {**self.context, **self.rubrics}.items() if rid not in {old_id, rubric.id}}
        return ScorerSet({rubric.id: rubric}, context=others)  # learned data fits the saved rubric, not an edit

    def build_scorer(self, rubric: Rubric) -> Scorer:
        """The one place a scorer is constructed: ``rubric`` knowing the other rubrics of the set,
        wrapped in a :class:`~grader.learned_scoring.LearnedScorer` when the set has learned data for it."""
        scorer = Scorer(rubric, other_vocabularies=self.vocabularies())
        learned = self.learned.get(rubric.id)
        if learned is None:
            return scorer
        # imported here: learned scoring needs scikit-learn, which one plain answer does not (cold start)
        from grader.learned_scoring import wrap_scorer

        return wrap_scorer(scorer, learned)  # type: ignore[return-value]  # same interface

    def vocabularies(self) -> dict[str, frozenset[str]]:
        """Vocabulary of every rubric of the set (context included), by id; empty for a set of one."""
        if self._vocabularies is None:
            every = {**self.context, **self.rubrics}
            self._vocabularies = {rid: rubric_vocabulary(r) for rid, r in every.items()} if len(every) > 1 else {}
        return self._vocabularies

    def __getitem__(self, rubric_id: str) -> Scorer:
        scorer = self._scorers.get(rubric_id)
        if scorer is None:
            scorer = self._scorers[rubric_id] = self.build_scorer(self.rubrics[rubric_id])
        return scorer

    def __iter__(self) -> Iterator[str]:
        return iter(self.rubrics)

    def __len__(self) -> int:
        return len(self.rubrics)

    def __contains__(self, rubric_id: object) -> bool:
        return rubric_id in self.rubrics

    def __reduce__(self) -> tuple[Any, ...]:
        # Worker processes get the rubrics and fit their own scorers (cheaper than shipping them).
        return (_rebuild, (self.rubrics, self.context, self.learned))

    def score(self, rubric_id: str, answer: str) -> ScoreResult:
        """Score one answer with the rubric ``rubric_id``."""
        return self[rubric_id].score(answer)

    def score_many(self, rubric_id: str, answers: Sequence[str], *, detail: bool = True) -> list[ScoreResult]:
        """Score many answers with the rubric ``rubric_id`` (one vectorised call; ``detail=False``:
        scores, flags and review reasons only, see :meth:`Scorer.score_many`)."""
        return self[rubric_id].score_many(answers, detail=detail)


def _rebuild(rubrics: dict[str, Rubric], context: dict[str, Rubric], learned: dict[str, Learned] | None = None) -> ScorerSet:
    return ScorerSet(rubrics, context=context, learned=learned)
