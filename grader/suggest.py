"""Rubric suggestions from graded samples, for the rubric tuner.

Answers are split by their human score into *high* (at least ``high`` x max_score) and
*low* (at most ``low`` x max_score). From the two groups:

- :func:`concept_table`: per concept, how often it matches in high and in low answers;
- :func:`uncovered_terms`: words common in high answers that no concept covers;
- :func:`suggest`: the table plus concepts that never match, concepts that match in low
  answers as often as in high ones (misconception candidates) and the uncovered terms.

Pure functions: rubric, answers and scores in, plain data out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from grader.concepts import RubricMatcher, compile_phrase
from grader.rubric import Rubric
from grader.text import NEGATION_CUES, is_content, tokenize

HIGH = 0.7
"""Answers scored at least this fraction of max_score count as high."""
LOW = 0.3
"""Answers scored at most this fraction of max_score count as low."""
_GENERIC = frozenset(
    """like think thing things lot lots really just did does doing went came come got get gets make made
    way ways people time tried try want wanted know said say good bad big new old better later stuff""".split()
)
"""Everyday words that fill answers of any score; never worth a rubric term."""


def _groups(human_scores: Sequence[float], max_score: float, high: float, low: float) -> tuple[list[int], list[int]]:
    if not max_score > 0:
        raise ValueError(f"`max_score` must be > 0. Got {max_score}")
    if not 0 <= low < high <= 1:
        raise ValueError(f"need 0 <= low < high <= 1. Got low={low}, high={high}")
    hi = [i for i, s in enumerate(human_scores) if s >= high * max_score]
    lo = [i for i, s in enumerate(human_scores) if s <= low * max_score]
    return hi, lo


def _rate(count: int, total: int) -> float:
    return count / total if total else float("nan")


def concept_table(
    rubric: Rubric,
    answers: Sequence[str],
    human_scores: Sequence[float],
    *,
    max_score: float,
    high: float = HIGH,
    low: float = LOW,
) -> list[dict[str, Any]]:
    """Per concept: matches and misses among high-scored and among low-scored answers.

    Each dict has ``concept_id``, ``label``, ``weight``, ``high_matched``, ``high_missed``,
    ``high_rate`` (share of high answers that match; NaN when there are none),
    ``low_matched``, ``low_missed``, ``low_rate``, ``matched`` (over all answers) and
    ``lift`` = high_rate - low_rate (how well the concept separates good from weak answers).

    Examples
    --------
    >>> from grader.rubric import rubric_from_dict
    >>> r = rubric_from_dict({"id": "x", "question": "Who?", "model_answer": "Khrushchev.",
    ...     "concepts": [{"id": "k", "label": "Khrushchev", "terms": ["Khrushchev"]}]})
    >>> row = concept_table(r, ["Khrushchev did", "no idea"], [10, 0], max_score=10)[0]
    >>> row["high_matched"], row["low_missed"], row["lift"]
    (1, 1, 1.0)
    """
    if len(answers) != len(human_scores):
        raise ValueError(f"`answers` and `human_scores` must have the same length. Got {len(answers)} and {len(human_scores)}")
    hi, lo = _groups(human_scores, max_score, high, low)
    matcher = RubricMatcher(rubric)
    matched = [[m.matched for m in matcher.match(a)[0]] for a in answers]
    table = []
    for k, concept in enumerate(rubric.concepts):
        h = sum(matched[i][k] for i in hi)
        lw = sum(matched[i][k] for i in lo)
        table.append(
            {
                "concept_id": concept.id,
                "label": concept.label,
                "weight": concept.weight,
                "high_matched": h,
                "high_missed": len(hi) - h,
                "high_rate": _rate(h, len(hi)),
                "low_matched": lw,
                "low_missed": len(lo) - lw,
                "low_rate": _rate(lw, len(lo)),
                "matched": sum(row[k] for row in matched),
                "lift": _rate(h, len(hi)) - _rate(lw, len(lo)),
            }
        )
    return table


def _covered_stems(rubric: Rubric) -> set[str]:
    stems: set[str] = set()
    for concept in rubric.concepts:
        for phrase in concept.phrases:
            stems.update(compile_phrase(phrase).stems)
    for token in tokenize(rubric.question):
        stems.add(token.stem)
    return stems


def uncovered_terms(
    rubric: Rubric,
    answers: Sequence[str],
    human_scores: Sequence[float],
    *,
    max_score: float,
    high: float = HIGH,
    low: float = LOW,
    min_share: float = 0.25,
    limit: int = 15,
) -> list[dict[str, Any]]:
    """Words used by at least ``min_share`` of high answers that no concept phrase or the question covers.

    Counted once per answer, by stem; shown in their most common written form. Sorted by
    ``high_share - low_share`` (words that also fill weak answers are not telling).

    >>> from grader.rubric import rubric_from_dict
    >>> r = rubric_from_dict({"id": "x", "question": "Who?", "model_answer": "Khrushchev.",
    ...     "concepts": [{"id": "k", "label": "Khrushchev", "terms": ["Khrushchev"]}]})
    >>> [t["term"] for t in uncovered_terms(r, ["Khrushchev at the congress", "no"], [9, 0], max_score=10)]
    ['congress']
    """
    hi, lo = _groups(human_scores, max_score, high, low)
    covered = _covered_stems(rubric)
    forms: dict[str, Counter[str]] = {}

    def stems_of(text: str) -> set[str]:
        found = set()
        for t in tokenize(text):
            if (is_content(t) and t.text not in NEGATION_CUES and t.text not in _GENERIC
                    and t.stem not in covered and not t.text.isdigit()):
                forms.setdefault(t.stem, Counter())[t.text] += 1
                found.add(t.stem)
        return found

    high_counts: Counter[str] = Counter()
    for i in hi:
        high_counts.update(stems_of(answers[i]))
    low_counts: Counter[str] = Counter()
    for i in lo:
        low_counts.update(stems_of(answers[i]))
    out = []
    for s, count in high_counts.items():
        share = count / len(hi)
        low_share = low_counts[s] / len(lo) if lo else 0.0
        if share >= min_share and share > low_share:
            form = min(forms[s].items(), key=lambda kv: (-kv[1], kv[0]))[0]
            out.append({"term": form, "stem": s, "high_share": share, "low_share": low_share})
    out.sort(key=lambda d: (-(d["high_share"] - d["low_share"]), d["term"]))
    return out[:limit]


@dataclass
class Suggestions:
    """What a tuner could change in a rubric, from graded samples."""

    rubric_id: str
    n_high: int
    n_low: int
    table: list[dict[str, Any]]
    never_matched: list[str] = field(default_factory=list)
    misconception_candidates: list[str] = field(default_factory=list)
    uncovered: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "rubric_id": self.rubric_id,
            "n_high": self.n_high,
            "n_low": self.n_low,
            "concepts": self.table,
            "never_matched": self.never_matched,
            "misconception_candidates": self.misconception_candidates,
            "uncovered_terms": self.uncovered,
        }


def suggest(
    rubric: Rubric,
    answers: Sequence[str],
    human_scores: Sequence[float],
    *,
    high: float = HIGH,
    low: float = LOW,
    min_share: float = 0.25,
) -> Suggestions:
    """Concept table, never-matching concepts, misconception candidates and uncovered terms.

    A concept is a misconception candidate when it matches at least one low answer and
    its low-answer rate is at least its high-answer rate (it does not separate good from
    weak answers, so weak answers likely use its words for a wrong claim).
    """
    max_score = rubric.max_score
    table = concept_table(rubric, answers, human_scores, max_score=max_score, high=high, low=low)
    hi, lo = _groups(human_scores, max_score, high, low)
    never = [row["concept_id"] for row in table if row["matched"] == 0]
    candidates = [
        row["concept_id"]
        for row in table
        if row["low_matched"] > 0 and (not hi or row["low_rate"] >= row["high_rate"])
    ]
    uncovered = uncovered_terms(
        rubric, answers, human_scores, max_score=max_score, high=high, low=low, min_share=min_share
    )
    return Suggestions(rubric.id, len(hi), len(lo), table, never, candidates, uncovered)


def format_suggestions(s: Suggestions) -> str:
    """Suggestions as plain text for the terminal."""
    lines = [f"{s.rubric_id}: {s.n_high} high-scored and {s.n_low} low-scored answers"]
    lines.append(f"  {'concept':<32} {'high match/miss':>16} {'low match/miss':>15} {'lift':>6}")
    for row in s.table:
        lift = "-" if row["lift"] != row["lift"] else f"{row['lift']:.2f}"
        lines.append(
            f"  {row['concept_id'][:32]:<32} {row['high_matched']:>8}/{row['high_missed']:<7} "
            f"{row['low_matched']:>7}/{row['low_missed']:<7} {lift:>6}"
        )
    if s.never_matched:
        lines.append("  never matched (add synonyms or remove): " + ", ".join(s.never_matched))
    if s.misconception_candidates:
        lines.append("  match in low answers as often as in high (misconception candidates): " + ", ".join(s.misconception_candidates))
    if s.uncovered:
        lines.append("  common in high answers, no concept covers: " + ", ".join(
            f"{t['term']} ({t['high_share']:.0%} high, {t['low_share']:.0%} low)" for t in s.uncovered))
    return "\n".join(lines)
