"""Propose a rubric from a question and its model answer alone (a teacher then edits it).

The model answer is split into its claims (sentences, long ones at clause boundaries);
each claim becomes one concept: labelled with the claim, its term the claim's most telling
words (rare words weigh more than common ones, words of the question little), each word
with its derived forms and common synonyms from the WordNet table shipped in
``grader/data`` as ``word|alternative`` slots, a hint of its own that points at the kind of
idea without its words, and a weight from how much the claim carries. Built rubrics give
partial credit. Short answers with several right answers take ``alternatives``.

:func:`key_phrases` (RAKE-style key phrases) and the miners of graded answers
(:func:`mine_concepts`, :func:`mine_misconceptions`) serve ``suggest`` and
:func:`build_rubric_from_samples`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from grader.concepts import ALTERNATIVE, QUESTION_WORD_SHARE, YEAR, compile_phrase
from grader.rubric import Concept, Misconception, Rubric, Scoring
from grader.text import NEGATION_CUES, STOP_WORDS, is_content, is_negated, normalize, sentences, stem, tokenize
from grader.wordinfo import rarity_weight, related

_WORD = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*|[.,;:!?()\"]", re.UNICODE)
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
        kind = "date" if any(YEAR.match(w) for w in words) else "name" if any(cap for _, cap in piece) else "term"
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
"""Similarity share of a built rubric's score (hand-made rubrics default to 0.25)."""
NEGATED_CLAIM_PENALTY = 0.15
"""What a built rubric takes off for each claim the answer denies (the `negated_concept` flag)."""
MAX_SLOTS = 6
"""A claim's key phrase keeps its most telling content words, at most this many."""
MIN_CLAIM_WORDS = 2
"""A clause needs this many content words of its own (not the question's) to be a claim."""
MIN_SPLIT_WORDS = 3
"""Each side of a cut inside a sentence keeps at least this many content words."""
LONG_CLAIM_WORDS = 9
"""Sentences with more content words than this are split at clause boundaries."""
MAX_CONCEPTS = 8
MAX_ALTERNATIVES = 3
"""WordNet relatives added to one word of a key phrase (derived forms first)."""
SHORT_ANSWER_WORDS = 12
"""A model answer this short (or one given alternatives) is one concept: the answer itself."""
LABEL_CHARS = 100

_CLAUSE_SPLIT = re.compile(
    r"(\s*[;:]\s+|,\s+"
    r"|\s+(?=(?:because|so that|in order to|which led|leading to|whereas)\b))",
    re.IGNORECASE,
)
_LEADING_LINK = re.compile(r"^(?:and|but|while|which|whereas|so|because|also|then|thus|however),?\s+", re.IGNORECASE)


def split_claims(model_answer: str) -> list[str]:
    """Split a model answer into its claims: sentences, long ones cut at clause boundaries.

    A cut stands only when both sides keep :data:`MIN_SPLIT_WORDS` content words, so lists
    of modifiers ("last-in, first-out") stay whole.

    >>> split_claims("The U.S. has three branches. Congress makes laws; the courts interpret them.")
    ['The U.S. has three branches.', 'Congress makes laws; the courts interpret them.']
    >>> split_claims("Soviet missiles in Cuba were spotted by a U-2 plane in October 1962, "
    ...              "which led Kennedy to order a naval blockade of the island.")
    ['Soviet missiles in Cuba were spotted by a U-2 plane in October 1962', 'which led Kennedy to order a naval blockade of the island.']
    """
    text = " ".join(normalize(model_answer).split())
    claims: list[str] = []
    for sentence in sentences(text):
        if _content_count(sentence) <= LONG_CLAIM_WORDS:
            claims.append(sentence)
            continue
        parts = _CLAUSE_SPLIT.split(sentence)  # pieces and, between them, the separators
        pieces, seps = parts[0::2], parts[1::2]
        merged = [pieces[0]]
        for sep, piece in zip(seps, pieces[1:]):
            if _content_count(piece) < MIN_SPLIT_WORDS or _content_count(merged[-1]) < MIN_SPLIT_WORDS:
                merged[-1] = merged[-1] + sep + piece
            else:
                merged.append(piece)
        claims.extend(p.strip(" ,") for p in merged if p.strip(" ,"))
    return claims


def _content_count(text: str) -> int:
    return sum(1 for t in tokenize(text) if is_content(t))


@dataclass(frozen=True)
class Slot:
    """One content word of a claim: its written form, stem, weight and accepted alternatives."""

    word: str
    stem: str
    weight: float
    alternatives: tuple[str, ...] = ()
    name: bool = False
    negated: bool = False
    """The claim negates this word ("a promise not to invade"): the term writes "not" before it."""

    @property
    def text(self) -> str:
        """The slot as written in a phrase: ``word`` or ``word|alt|alt``."""
        return ALTERNATIVE.join((self.word, *self.alternatives))


def claim_slots(claim: str, question_stems: frozenset[str], *, use_wordnet: bool, short: bool = False) -> list[Slot]:
    """The content words of a claim in order, each weighted (rare words more, question words little).

    Capitalised words are names (kept capitalised in the term) unless they open a sentence
    of a long answer; in a short answer every capitalised word is one ("Lake Superior").
    """
    slots: list[Slot] = []
    seen: set[str] = set()
    claim_tokens = tokenize(normalize(claim))
    denied = {t.stem for k, t in enumerate(claim_tokens) if is_negated(claim_tokens, k)}
    for i, word in enumerate(_claim_words(claim)):
        lower = word.lower()
        if not word[0].isalnum() or lower in STOP_WORDS or lower in NEGATION_CUES or lower in _WEAK:
            continue
        tokens = tokenize(lower)
        if len(tokens) != 1 or not is_content(tokens[0]):
            continue
        s = tokens[0].stem
        if s in seen:
            continue
        seen.add(s)
        weight = rarity_weight(s) * (QUESTION_WORD_SHARE if s in question_stems else 1.0)
        alternatives: tuple[str, ...] = ()
        if use_wordnet and not YEAR.match(lower) and s not in question_stems:
            alternatives = _relatives(lower, s)
        name = word[0].isupper() and not word.isupper() and (i > 0 or short)
        slots.append(Slot(word if name else lower, s, round(weight, 3), alternatives, name=name, negated=s in denied))
    return slots


def _claim_words(claim: str) -> list[str]:
    """Words and punctuation of a claim; "Spanish-American" gives "Spanish" and "American"
    (an answer may write either form), "U-2" and "one-party" stay whole."""
    out: list[str] = []
    for m in _WORD.finditer(claim):
        parts = m.group().split("-")
        if len(parts) > 1 and all(p.isalpha() and len(p) >= 3 for p in parts):
            out.extend(parts)
        else:
            out.append(m.group())
    return out


def _relatives(word: str, word_stem: str) -> tuple[str, ...]:
    """Derived forms, then common synonyms, of ``word`` whose stems differ from its own."""
    rel = related(word)
    out: list[str] = []
    stems = {word_stem}
    for candidate in (*rel.derived, *rel.synonyms):
        s = stem(candidate)
        if s not in stems and candidate.isalpha():
            stems.add(s)
            out.append(candidate)
    return tuple(out[:MAX_ALTERNATIVES])


def key_phrase(slots: Sequence[Slot]) -> str:
    """The claim's most telling words (at most :data:`MAX_SLOTS`), in their order, as one phrase."""
    keep = sorted(range(len(slots)), key=lambda i: (-slots[i].weight, i))[:MAX_SLOTS]
    words: list[str] = []
    negated = False
    for i in sorted(keep):
        if slots[i].negated and not negated:  # "battery not closed path": the claim's own negation
            words.append("not")
            negated = True
        elif negated and not slots[i].negated:  # words after the negated ones come first
            words.insert(0, slots[i].text)
            continue
        words.append(slots[i].text)
    return " ".join(words)


_HINT_CUES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("cause", re.compile(r"\b(?:because|to stop|to prevent|in order to|so that|aim|aimed|purpose|reason|due to|caused|wanted|feared|fear)\b", re.I),
     "Explain why: what lay behind it, or what was it meant to achieve?"),
    ("result", re.compile(r"\b(?:ended|end|result|resulted|led to|leading to|therefore|eventually|finally|until|crushed|collapsed|fell|afterwards|after)\b", re.I),
     "Explain what came of it: how did it end, or what did it lead to?"),
    ("limit", re.compile(r"\b(?:but|however|although|still|only|limited|yet)\b", re.I),
     "Add the limits or the other side of this point."),
    ("date", re.compile(r"\b(?:1[0-9]{3}|20[0-9]{2})s?\b"), "Say when it happened and what happened then."),
)
SHORT_HINT = "Answer exactly what the question asks, in a word or a short phrase."
_NAME_HINT = "Name who (or where) was involved and what part they played."
_NUMBER_HINT = "Give the scale: how many, or how much?"
_GENERIC_HINTS = (
    "Explain another key point the question asks about.",
    "What else does a full answer need? Add the missing step of the story.",
    "Add the detail that completes the explanation: what happened, and to whom?",
    "Go one step further: what followed from the points you made?",
)
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)?\s*(?:million|billion|thousand|hundred|percent|per cent|%)", re.I)
"""A quantity ("2.7 million", "40%"), not a day or a year."""


def claim_hint(claim: str, slots: Sequence[Slot], question: str, used: set[str], index: int) -> str:
    """A hint that points at the claim's kind of idea without its words, unique within the rubric.

    Specific hints first (why, what came of it, limits, when, who, how many), then generic
    ones; the hint names only words the question already shows, and when every candidate
    is taken, it says which part of a full answer it is.
    """
    candidates = [hint for _, pattern, hint in _HINT_CUES if pattern.search(claim)]
    if any(slot.name for slot in slots):
        candidates.append(_NAME_HINT)
    if _NUMBER.search(claim):
        candidates.append(_NUMBER_HINT)
    candidates.extend(_GENERIC_HINTS)
    for hint in candidates:
        if hint not in used:
            break
    else:
        hint = f"{candidates[0][:-1]} (the {_ORDINALS[min(index, len(_ORDINALS) - 1)]} point of a full answer){candidates[0][-1]}"
    used.add(hint)
    return hint


def _label(claim: str) -> str:
    text = _LEADING_LINK.sub("", claim.strip()).rstrip(" .;:,")
    if len(text) > LABEL_CHARS:
        text = text[: LABEL_CHARS - 1].rsplit(" ", 1)[0] + "..."
    return text[:1].upper() + text[1:]


def _score_step(max_score: float) -> float:
    """Scores in twentieths of the scale (0.5 of 10, 0.05 of 1), never coarser than half a point.

    >>> _score_step(10), _score_step(1), _score_step(100)
    (0.5, 0.05, 0.5)
    """
    return min(0.5, round(max_score / 20, 4))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "concept"


def _weights(totals: Sequence[float]) -> list[float]:
    """Concept weights from how much each claim carries (its summed word weights), 0.5..2 in steps of 0.5."""
    mean = sum(totals) / len(totals) if totals else 1.0
    return [min(2.0, max(0.5, round(2 * t / mean) / 2)) if mean else 1.0 for t in totals]


def build_rubric(
    question: str,
    model_answer: str,
    *,
    rubric_id: str,
    title: str = "",
    max_score: float = 10,
    max_concepts: int | None = None,
    use_wordnet: bool = True,
    alternatives: Sequence[str] = (),
) -> Rubric:
    """Propose a complete rubric from a question and model answer: one concept per claim.

    Each claim of the model answer (:func:`split_claims`) becomes a concept labelled with
    the claim, whose term is its most telling words (rare words weigh more, question words
    little) with derived forms and common synonyms as alternatives, a hint of its own, and a
    weight from how much it carries. Concepts earn partial credit. ``alternatives`` are other
    acceptable answers: with them, or with a short model answer, the rubric has one concept
    that any of the answers earns. ``max_concepts`` keeps the heaviest claims.

    >>> r = build_rubric("Why did the Berlin Wall fall?", "Mass protests in East Germany and "
    ...     "Gorbachev's refusal to use force led to the opening of the border in 1989.",
    ...     rubric_id="berlin", use_wordnet=False)
    >>> r.id, len(r.concepts) >= 1, r.scoring.partial_credit
    ('berlin', True, True)
    """
    if not question.strip():
        raise ValueError("`question` must not be empty.")
    if not model_answer.strip():
        raise ValueError("`model_answer` must not be empty.")
    question_stems = frozenset(t.stem for t in tokenize(normalize(question)) if is_content(t))
    extra = [a.strip() for a in alternatives if a.strip()]
    short = bool(extra) or len(model_answer.split()) <= SHORT_ANSWER_WORDS
    claims = [" ".join(normalize(model_answer).split())] if short else split_claims(model_answer)
    built: list[tuple[str, list[Slot]]] = []
    for claim in claims:
        slots = claim_slots(claim, question_stems, use_wordnet=use_wordnet, short=short)
        if sum(1 for sl in slots if sl.stem not in question_stems) >= (1 if short else MIN_CLAIM_WORDS) or (short and slots):
            built.append((claim, slots))
    if not built:  # the model answer only repeats the question: its words are the concept
        claim = " ".join(normalize(model_answer).split())
        built = [(claim, claim_slots(claim, frozenset(), use_wordnet=False) or [Slot("answer", "answer", 1.0)])]
    limit = max_concepts or MAX_CONCEPTS
    if len(built) > limit:  # keep the heaviest claims, in their order
        heaviest = sorted(range(len(built)), key=lambda i: (-sum(sl.weight for sl in built[i][1]), i))[:limit]
        built = [built[i] for i in sorted(heaviest)]
    totals = [sum(sorted((sl.weight for sl in slots), reverse=True)[:MAX_SLOTS]) for _, slots in built]
    weights = _weights(totals)
    similarity_weight = BUILT_SIMILARITY_WEIGHT
    used_hints: set[str] = set()
    concepts = []
    for i, ((claim, slots), weight) in enumerate(zip(built, weights)):
        terms = [key_phrase(slots)]
        for alt in extra:
            alt_slots = claim_slots(alt, question_stems, use_wordnet=use_wordnet, short=True)
            phrase = key_phrase(alt_slots) if alt_slots else alt
            if phrase not in terms:
                terms.append(phrase)
        concepts.append(Concept(
            id=f"c{i + 1}-{_slug(' '.join(sl.word for sl in slots[:4]))}",
            label=_label(claim),
            hint=(SHORT_HINT + (" Several answers are accepted." if extra else "")) if short
            else claim_hint(claim, slots, question, used_hints, i),
            weight=weight,
            terms=terms,
        ))
    return Rubric(
        id=rubric_id,
        title=title or question[:80],
        question=question,
        model_answer=model_answer,
        alternatives=extra,
        max_score=max_score,
        concepts=concepts,
        scoring=Scoring(
            concept_weight=1 - similarity_weight, similarity_weight=similarity_weight, partial_credit=True,
            score_step=_score_step(max_score),
            flag_penalties={"negated_concept": NEGATED_CLAIM_PENALTY},
        ),
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
            Concept(id=f"m-{_slug(unit)}", label=form[:1].upper() + form[1:], hint=_MINED_HINT, terms=[form])
        )
    return concepts


_MINED_HINT = "Explain another main idea the question asks about, in your own words."
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
    :mod:`grader.calibrator` fits it.

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


_PHRASE_HINTS = {
    "date": "Include a key date or period and say what happened then.",
    "name": "Name a key person, place or event involved and explain its role.",
    "term": _MINED_HINT,
}


def _key_phrase_rubric(question: str, model_answer: str, *, rubric_id: str, title: str, max_score: float) -> Rubric:
    """A rubric of key-phrase concepts (:func:`key_phrases`), all or nothing, for a model answer
    pieced together from students' answers: their sentences are not a teacher's claims, so
    :func:`build_rubric`'s one-concept-per-claim does not fit them (chosen on a validation
    split of ASAP-SAS train when these rubrics were introduced)."""
    limit = max(3, min(8, len(model_answer.split()) // 12))
    phrases = key_phrases(question, model_answer, limit=limit) or [Candidate(("answer",), 1.0, "term")]
    concepts = []
    for i, c in enumerate(phrases):
        terms = [c.text]
        if len(c.words) == 3:
            terms += [" ".join(c.words[:2]), " ".join(c.words[1:])]
        concepts.append(Concept(id=f"c{i + 1}-{_slug(c.text)}", label=c.text[:1].upper() + c.text[1:],
                                hint=_PHRASE_HINTS[c.kind], weight=1.5 if i < 2 else 1.0, terms=terms))
    return Rubric(
        id=rubric_id, title=title or question[:80], question=question, model_answer=model_answer,
        max_score=max_score, concepts=concepts,
        scoring=Scoring(concept_weight=1 - BUILT_SIMILARITY_WEIGHT, similarity_weight=BUILT_SIMILARITY_WEIGHT),
    )


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
) -> Rubric:
    """Propose a rubric from graded answers when there is no model answer.

    The model answer joins the ``n_model`` most typical top-scored answers (highest mean
    TF-IDF cosine to the other top-scored ones); concepts are its key phrases
    (:func:`key_phrases`, all or nothing) plus :func:`mine_concepts`, and up to ``misconceptions``
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
    base = _key_phrase_rubric(question, model_answer, rubric_id=rubric_id, title=title, max_score=max_score)
    mined = mine_concepts(answers, scores, known=base.concepts, limit=limit)
    taken = {c.id for c in base.concepts}
    mined = [c for c in mined if c.id not in taken]
    data = base.model_dump()
    data["concepts"] = [*data["concepts"], *(c.model_dump() for c in mined)]
    if misconceptions:
        data["misconceptions"] = [m.model_dump() for m in mine_misconceptions(answers, scores, limit=misconceptions)]
    data["scoring"]["score_step"] = 1.0
    return Rubric.model_validate(data)
