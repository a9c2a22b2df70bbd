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
from grader.integrity import rubric_vocabulary
from grader.rubric import Rubric, load_rubrics
from grader.scoring import Scorer, ScoreResult


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

    def __init__(self, rubrics: Mapping[str, Rubric], *, context: Mapping[str, Rubric] | None = None) -> None:
        self.rubrics: dict[str, Rubric] = dict(rubrics)
        self.context: dict[str, Rubric] = {rid: r for rid, r in (context or {}).items() if rid not in self.rubrics}
        self._scorers: dict[str, Scorer] = {}
        self._vocabularies: dict[str, frozenset[str]] | None = None

    @classmethod
    def from_folder(cls, path: str | os.PathLike[str]) -> "ScorerSet":
        """Every rubric (``*.yaml``/``*.yml``) of a folder, in order of id: one question set."""
        if not Path(path).is_dir():
            raise InputError(f"{path}: expected a folder of rubrics")
        return cls(dict(sorted(load_rubrics(path).items())))

    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> "ScorerSet":
        """A folder's question set (:meth:`from_folder`), or a set of one for a rubric file."""
        return cls.from_folder(path) if Path(path).is_dir() else cls(load_rubrics(path))

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
        return ScorerSet({rubric.id: rubric}, context=others)

    def build_scorer(self, rubric: Rubric) -> Scorer:
        """The one place a scorer is constructed: ``rubric`` knowing the other rubrics of the set."""
        return Scorer(rubric, other_vocabularies=self.vocabularies())

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
        return (_rebuild, (self.rubrics, self.context))

    def score(self, rubric_id: str, answer: str) -> ScoreResult:
        """Score one answer with the rubric ``rubric_id``."""
        return self[rubric_id].score(answer)

    def score_many(self, rubric_id: str, answers: Sequence[str]) -> list[ScoreResult]:
        """Score many answers with the rubric ``rubric_id`` (one vectorised call)."""
        return self[rubric_id].score_many(answers)


def _rebuild(rubrics: dict[str, Rubric], context: dict[str, Rubric]) -> ScorerSet:
    return ScorerSet(rubrics, context=context)
