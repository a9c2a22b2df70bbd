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
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from grader.concepts import compile_phrase
from grader.rubric import Concept, Misconception, Rubric, Scoring
from grader.text import NEGATION_CUES, STOP_WORDS, is_content, normalize, stem, tokenize

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


def _units(text: str) -> dict[str, str]:
    """Content stems and adjacent stem pairs of ``text``, each with its first written form."""
    words = [t for t in tokenize(text) if is_content(t) and t.text not in NEGATION_CUES]
    out: dict[str, str] = {}
    for t in words:
        out.setdefault(t.stem, t.text)
    for a, b in zip(words, words[1:]):
        out.setdefault(f"{a.stem} {b.stem}", f"{a.text} {b.text}")
    return out


def mine_concepts(
    answers: Sequence[str],
    scores: Sequence[float],
    *,
    known: Sequence[Concept] = (),
    limit: int = 80,
    min_share: float = 0.02,
    min_correlation: float = 0.08,
) -> list[Concept]:
    """Concepts from graded answers: words and word pairs whose use goes with higher scores.

    Candidates are content stems and adjacent stem pairs used by at least ``min_share`` of
    the answers; each becomes a concept (term = its most common written form) when its
    presence correlates with the score at ``min_correlation`` or more, strongest first,
    skipping what a ``known`` concept already says. Weights are 1; calibration fits them.

    >>> answers = ["acid rain erodes marble", "marble loses mass", "no idea", "it rained"]
    >>> [c.terms[0] for c in mine_concepts(answers, [2, 2, 0, 0], min_correlation=0.5)][:2]
    ['marble', 'acid']
    """
    if len(answers) != len(scores):
        raise ValueError(f"`answers` and `scores` must have the same length. Got {len(answers)} and {len(scores)}")
    if not answers:
        return []
    docs = [_units(a) for a in answers]
    y = np.asarray(scores, dtype=float)
    forms: dict[str, Counter[str]] = {}
    for doc in docs:
        for unit, form in doc.items():
            forms.setdefault(unit, Counter())[form.lower()] += 1
    have = {" ".join(compile_phrase(p).stems) for c in known for p in c.phrases}
    ranked: list[tuple[float, str]] = []
    if np.ptp(y) == 0:
        return []
    for unit, counter in forms.items():
        present = sum(counter.values())
        if present < min_share * len(docs) or unit in have or present == len(docs):
            continue
        x = np.array([unit in doc for doc in docs], dtype=float)
        r = float(np.corrcoef(x, y)[0, 1])
        if r >= min_correlation:
            ranked.append((r, unit))
    ranked.sort(key=lambda ru: (-ru[0], ru[1]))
    concepts = []
    for r, unit in ranked[:limit]:
        form = min(forms[unit].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        concepts.append(
            Concept(id=f"m-{_slug(unit)}", label=form[:1].upper() + form[1:], hint=_HINTS["term"], terms=[form])
        )
    return concepts


MINED_MISCONCEPTION_FEEDBACK = "Part of this answer goes in a direction that weaker answers take; check it against the question."


def mine_misconceptions(
    answers: Sequence[str],
    scores: Sequence[float],
    *,
    limit: int = 40,
    min_share: float = 0.02,
    min_correlation: float = 0.08,
) -> list[Misconception]:
    """Misconception candidates from graded answers: words and word pairs whose use goes
    with *lower* scores (the mirror of :func:`mine_concepts`). Their penalty starts at 0;
    :mod:`grader.calibrate` fits it.

    >>> answers = ["acid rain erodes marble", "marble loses mass", "no idea", "it rained"]
    >>> [m.phrases[0] for m in mine_misconceptions(answers, [2, 2, 0, 0], min_correlation=0.5)][:1]
    ['idea']
    """
    negated = [-float(v) for v in scores]
    mined = mine_concepts(answers, negated, limit=limit, min_share=min_share, min_correlation=min_correlation)
    return [
        Misconception(id="w" + c.id[1:], phrases=list(c.terms), penalty=0.0, feedback=MINED_MISCONCEPTION_FEEDBACK)
        for c in mined
    ]


def build_rubric_from_samples(
    question: str,
    answers: Sequence[str],
    scores: Sequence[float],
    *,
    rubric_id: str,
    max_score: float,
    title: str = "",
    n_model: int = 8,
    limit: int = 80,
    misconceptions: int = 0,
    use_wordnet: bool = False,
) -> Rubric:
    """Propose a rubric from graded answers when there is no model answer.

    The model answer joins the ``n_model`` most typical top-scored answers (highest mean
    TF-IDF cosine to the other top-scored ones); concepts are its key phrases
    (:func:`build_rubric`) plus :func:`mine_concepts`, and up to ``misconceptions``
    mined misconception candidates (:func:`mine_misconceptions`). Scores are whole points
    (``score_step`` 1). Fit the weights afterwards with :mod:`grader.calibrate`.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    y = np.asarray(scores, dtype=float)
    best = y.max() if len(y) else 0
    top = [a for a, s in zip(answers, y) if s == best and a.strip()]
    if not top:
        raise ValueError("`answers` holds no non-empty top-scored answer to build a model answer from.")
    try:
        matrix = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(top)
        typical = np.asarray((matrix @ matrix.T).mean(axis=1)).ravel()
        order = sorted(range(len(top)), key=lambda i: (-typical[i], i))
    except ValueError:  # only stop words
        order = list(range(len(top)))
    model_answer = " ".join(" ".join(top[i].split()) for i in order[:n_model])
    base = build_rubric(question, model_answer, rubric_id=rubric_id, title=title, max_score=max_score, use_wordnet=use_wordnet)
    mined = mine_concepts(answers, scores, known=base.concepts, limit=limit)
    taken = {c.id for c in base.concepts}
    mined = [c for c in mined if c.id not in taken]
    data = base.model_dump()
    data["concepts"] = [*data["concepts"], *(c.model_dump() for c in mined)]
    if misconceptions:
        data["misconceptions"] = [m.model_dump() for m in mine_misconceptions(answers, scores, limit=misconceptions)]
    data["scoring"]["score_step"] = 1.0
    return Rubric.model_validate(data)
