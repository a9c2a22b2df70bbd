"""Student-facing feedback: what was covered, what is missing (as hints), and warnings.

Feedback never quotes the model answer or the rubric's terms: covered concepts are named by
their label, missing ones by their hint, and evidence is the student's own words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from grader.concepts import ConceptMatch, MisconceptionMatch
from grader.integrity import Flag
from grader.rubric import Rubric

MAX_HINTS = 3
"""Hints for missing concepts shown at once (heaviest first); the rest are counted."""

FeedbackKind = Literal["covered", "missing", "misconception", "warning"]


@dataclass(frozen=True, slots=True)
class FeedbackItem:
    """One feedback line: its ``kind`` (how to show it) and the ``text`` a student reads.

    The text keeps its lead-in ("Covered: ", "Still missing: ", "Check this: ", "Warning: "),
    so a list of texts reads on its own (the ``feedback`` of ``grader score --json``).
    """

    kind: FeedbackKind
    text: str

    def __str__(self) -> str:
        return self.text


def missing_hint(rubric: Rubric, concept_id: str) -> str:
    """The hint for a missing concept, or a neutral prompt if the rubric has none."""
    for c in rubric.concepts:
        if c.id == concept_id:
            return c.hint or "Develop another key point of the answer in more depth."
    raise KeyError(concept_id)


def build_feedback(
    rubric: Rubric,
    concepts: list[ConceptMatch],
    misconceptions: list[MisconceptionMatch],
    flags: list[Flag],
) -> list[FeedbackItem]:
    """Feedback in a fixed order: covered, missing (heaviest first), misconceptions, warnings.

    >>> from grader.rubric import rubric_from_dict
    >>> r = rubric_from_dict({"id": "x", "question": "Q?", "model_answer": "A.",
    ...     "concepts": [{"id": "c", "label": "C", "hint": "Think about prisoners.", "terms": ["gulag"]}]})
    >>> build_feedback(r, [ConceptMatch("c", "C", 1.0, False)], [], [])
    [FeedbackItem(kind='missing', text='Still missing: Think about prisoners.')]
    """
    items: list[FeedbackItem] = []
    covered = [c.label for c in concepts if c.matched]
    if covered:
        items.append(FeedbackItem("covered", "Covered: " + "; ".join(covered) + "."))
    order = {m.concept_id: i for i, m in enumerate(concepts)}
    missing = sorted((c for c in concepts if not c.matched), key=lambda c: (-c.weight, order[c.concept_id]))
    for c in missing[:MAX_HINTS]:
        items.append(FeedbackItem("missing", "Still missing: " + missing_hint(rubric, c.concept_id)))
    if len(missing) > MAX_HINTS:
        items.append(FeedbackItem("missing", f"... and {len(missing) - MAX_HINTS} more point(s) to develop."))
    for m in misconceptions:
        items.append(FeedbackItem("misconception", "Check this: " + m.feedback))
    for f in flags:
        items.append(FeedbackItem("warning", "Warning: " + f.message))
    return items
