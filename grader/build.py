"""Propose a rubric from a question and its model answer alone (a teacher then edits it).

Key phrases are found RAKE-style (runs of content words between stop words and
punctuation), scored by word degree and frequency, with names, dates and numbers kept
whole. Phrases made only of question words are dropped: repeating the question is not a
concept. Each phrase becomes a concept whose terms are the phrase and its most telling
word pairs, and whose synonyms come from WordNet when it is installed (looked up here, at
build time, and stored in the rubric).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from grader.rubric import Concept, Rubric, Scoring
from grader.text import NEGATION_CUES, STOP_WORDS, normalize, stem

_WORD = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*|[.,;:!?()\"]", re.UNICODE)
_YEAR = re.compile(r"^(1[0-9]{3}|20[0-9]{2})$")
_WEAK = frozenset(
    """also including include includes allowed allow led lead leading aimed aim marked mark
    significantly subsequent throughout like both however while well various way ways due
    particularly especially important major many much more most less need needs use used
    using make makes made often order part within""".split()
)


@dataclass(frozen=True)
class Candidate:
    """A candidate key phrase with its score and kind (name, date or term)."""

    words: tuple[str, ...]
    score: float
    kind: str

    @property
    def text(self) -> str:
        """The phrase as written in the model answer."""
        return " ".join(self.words)


def _runs(text: str) -> list[list[tuple[str, bool]]]:
    """Runs of (word, capitalised-not-sentence-start) between stop words and punctuation."""
    runs: list[list[tuple[str, bool]]] = []
    current: list[tuple[str, bool]] = []
    sentence_start = True
    for m in _WORD.finditer(normalize(text)):
        word = m.group()
        lower = word.lower()
        is_punct = not word[0].isalnum()
        if is_punct or lower in STOP_WORDS or lower in NEGATION_CUES or lower in _WEAK or len(lower) < 2:
            if current:
                runs.append(current)
            current = []
            sentence_start = word in ".!?" or (sentence_start and is_punct)
            continue
        capitalised = word[0].isupper() and not sentence_start
        if not capitalised and len(current) >= 2 and current[-1][1] and current[-2][1]:
            runs.append(current)  # a multi-word name ends here: "Louis XVI | turned ..."
            current = []
        current.append((word, capitalised))
        sentence_start = False
    if current:
        runs.append(current)
    return runs


def key_phrases(question: str, model_answer: str, *, limit: int = 8) -> list[Candidate]:
    """Rank key phrases of ``model_answer`` that are not mere repeats of ``question``.

    >>> [c.text for c in key_phrases("What happened in 1956?",
    ...     "Khrushchev denounced Stalin's cult of personality in the Secret Speech of 1956.")][:2]
    ["Khrushchev denounced Stalin's", 'Secret Speech']
    """
    question_stems = {stem(w.lower()) for w in _WORD.findall(normalize(question)) if w[0].isalnum()}
    freq: Counter[str] = Counter()
    degree: Counter[str] = Counter()
    phrases: list[list[tuple[str, bool]]] = []
    for run in _runs(model_answer):
        for i in range(0, len(run), 3):  # long runs are cut into phrases of at most three words
            piece = run[i : i + 3]
            phrases.append(piece)
            for w, _ in piece:
                s = stem(w.lower())
                freq[s] += 1
                degree[s] += len(piece)
    seen: set[tuple[str, ...]] = set()
    candidates: list[Candidate] = []
    for piece in phrases:
        while piece and stem(piece[0][0].lower()) in question_stems:  # trim question words at the edges
            piece = piece[1:]
        while piece and stem(piece[-1][0].lower()) in question_stems:
            piece = piece[:-1]
        if not piece:
            continue
        words = tuple(w for w, _ in piece)
        stems = tuple(stem(w.lower()) for w in words)
        if stems in seen:
            continue
        seen.add(stems)
        new = [s for s in stems if s not in question_stems]
        if not new:
            continue
        kind = "date" if any(_YEAR.match(w) for w in words) else "name" if any(cap for _, cap in piece) else "term"
        score = sum(degree[s] / freq[s] for s in new) + (1.5 if kind != "term" else 0.0)
        candidates.append(Candidate(words, score, kind))
    candidates.sort(key=lambda c: (-c.score, c.text))
    chosen: list[Candidate] = []
    used: set[str] = set()
    for c in candidates:
        stems = {stem(w.lower()) for w in c.words} - question_stems
        if stems & used:
            continue
        chosen.append(c)
        used |= stems
        if len(chosen) == limit:
            break
    return chosen


BUILT_SIMILARITY_WEIGHT = 0.5
"""Similarity share of a built rubric's score (hand-made rubrics default to 0.25).

Concepts proposed from a model answer alone are coarse until a teacher edits them, so
similarity counts as much as they do. Chosen on the SemEval-2013 *train* split (Pearson
with the 2-way label: 0.341 at 0.25, 0.354 at 0.5), never on a benchmark's test data.
"""

_HINTS = {
    "date": "Include a key date or period and say what happened then.",
    "name": "Name a key person, place or event involved and explain its role.",
    "term": "Explain another main idea the question asks about, in your own words.",
}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "concept"


def propose_concept(candidate: Candidate, index: int, *, synonym_lookup: Callable[[str], list[str]] | None) -> Concept:
    """Turn a key phrase into a concept with terms, synonyms, a neutral hint and a weight."""
    terms = [candidate.text]
    if len(candidate.words) == 3:
        terms.append(" ".join(candidate.words[:2]))
        terms.append(" ".join(candidate.words[1:]))
    synonyms: list[str] = []
    if synonym_lookup is not None:
        for word in candidate.words:
            if candidate.kind == "term" and len(word) > 3:
                for syn in synonym_lookup(word.lower())[:2]:
                    if " " in syn or stem(syn) == stem(word.lower()):
                        continue  # multi-word senses are noisy; inflections add nothing
                    phrase = candidate.text.replace(word, syn)
                    if phrase not in synonyms and phrase not in terms:
                        synonyms.append(phrase)
    return Concept(
        id=f"c{index + 1}-{_slug(candidate.text)}",
        label=candidate.text[:1].upper() + candidate.text[1:],
        hint=_HINTS[candidate.kind],
        weight=1.5 if index < 2 else 1.0,
        terms=terms,
        synonyms=synonyms[:6],
    )


def build_rubric(
    question: str,
    model_answer: str,
    *,
    rubric_id: str,
    title: str = "",
    max_score: float = 10,
    max_concepts: int | None = None,
    use_wordnet: bool = True,
) -> Rubric:
    """Propose a complete rubric from a question and model answer.

    The number of concepts follows the model answer's length (3 to 8) unless given.

    >>> r = build_rubric("Why did the Berlin Wall fall?", "Mass protests in East Germany and "
    ...     "Gorbachev's refusal to use force led to the opening of the border in 1989.",
    ...     rubric_id="berlin", use_wordnet=False)
    >>> r.id, len(r.concepts) >= 3
    ('berlin', True)
    """
    if not question.strip():
        raise ValueError("`question` must not be empty.")
    if not model_answer.strip():
        raise ValueError("`model_answer` must not be empty.")
    n_words = len(model_answer.split())
    limit = max_concepts or max(3, min(8, n_words // 12))
    lookup = None
    if use_wordnet:
        from grader.synonyms import synonyms as lookup  # build-time only
    phrases = key_phrases(question, model_answer, limit=limit)
    if not phrases:  # the model answer only repeats the question: fall back to its words
        words = tuple(w for w in model_answer.split() if w.lower() not in STOP_WORDS)[:3] or ("answer",)
        phrases = [Candidate(words, 1.0, "term")]
    concepts = [propose_concept(c, i, synonym_lookup=lookup) for i, c in enumerate(phrases)]
    return Rubric(
        id=rubric_id,
        title=title or question[:80],
        question=question,
        model_answer=model_answer,
        max_score=max_score,
        concepts=concepts,
        scoring=Scoring(concept_weight=1 - BUILT_SIMILARITY_WEIGHT, similarity_weight=BUILT_SIMILARITY_WEIGHT),
    )
