"""Student-facing feedback: what was covered, what is missing (as hints), and warnings.

Feedback never quotes the model answer or the rubric's terms: covered concepts are named by
their label, missing ones by their hint, and evidence is the student's own words.
"""

from __future__ import annotations

from grader.concepts import ConceptMatch, MisconceptionMatch
from grader.integrity import Flag
from grader.rubric import Rubric

MAX_HINTS = 3


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
) -> list[str]:
    """Feedback lines in a fixed order: covered, missing (heaviest first), misconceptions, warnings.

    >>> from grader.rubric import rubric_from_dict
    >>> r = rubric_from_dict({"id": "x", "question": "Q?", "model_answer": "A.",
    ...     "concepts": [{"id": "c", "label": "C", "hint": "Think about prisoners.", "terms": ["gulag"]}]})
    >>> build_feedback(r, [ConceptMatch("c", "C", 1.0, False)], [], [])
    ['Still missing: Think about prisoners.']
    """
    lines: list[str] = []
    covered = [c.label for c in concepts if c.matched]
    if covered:
        lines.append("Covered: " + "; ".join(covered) + ".")
    missing = sorted(
        (c for c in concepts if not c.matched), key=lambda c: (-c.weight, [m.concept_id for m in concepts].index(c.concept_id))
    )
    for c in missing[:MAX_HINTS]:
        lines.append("Still missing: " + missing_hint(rubric, c.concept_id))
    if len(missing) > MAX_HINTS:
        lines.append(f"... and {len(missing) - MAX_HINTS} more point(s) to develop.")
    for m in misconceptions:
        lines.append("Check this: " + m.feedback)
    for f in flags:
        if f.code != "misconception":
            lines.append("Warning: " + f.message)
    return lines
