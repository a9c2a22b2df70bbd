"""Concept and misconception matching with evidence (character spans of the student's text).

A phrase matches when every content word of it (by stem, misspellings of rubric words
tolerated) occurs within a short window of the answer. A match preceded by a negation cue
in the same clause ("did not reduce repression") counts as *negated* and earns nothing,
unless the phrase itself is negative ("did not fully democratize"). A word written
``a|b|c`` in a phrase accepts any of the alternatives ("skilled|trained workers").

With partial credit (``scoring.partial_credit``), a concept no phrase matches whole still
earns in proportion to the weighted share of a phrase's words that one sentence of the
answer holds: rare words weigh more than common ones (:func:`grader.wordinfo.rarity_weight`)
and words of the question weigh little, since repeating the question shows nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import filterfalse
from operator import attrgetter

from rapidfuzz.distance import OSA, Levenshtein

from grader.rubric import Concept, Misconception, Rubric
from grader.text import (
    MAX_CACHED_WORD, NEGATION_CUES, STOP_WORDS, Token, WordMemo, content_word, is_content, is_negated, normalize, stem,
    tokenize, word_stem,
)
from grader.wordinfo import rarity_weight, zipf

WINDOW_SLACK = 3
"""A k-word phrase may spread over k + WINDOW_SLACK content words of the answer."""
MISCONCEPTION_SLACK = 1
_ARTICLES = frozenset({"a", "an", "the"})
"""Misconceptions must match tightly and in order: a false alarm costs the student points."""
YEAR = re.compile(r"^(1[0-9]{3}|20[0-9]{2})$")
"""A year written in full ("1989"): it carries a claim, and another year contradicts it."""
ALTERNATIVE = "|"
"""Separates the accepted words of one phrase slot: "skilled|trained workers"."""
PARTIAL_FLOOR = 0.2
"""Share of a phrase's weighted words below which a sentence earns nothing of it."""
PARTIAL_FULL = 0.7
"""Share at or above which a sentence earns the whole concept (credit rises linearly between)."""
LONG_PHRASE_SLOTS = 4
LONG_PARTIAL_FLOOR = 0.1
LONG_PARTIAL_FULL = 0.6
"""The ramp of phrases longer than LONG_PHRASE_SLOTS words."""
QUESTION_WORD_SHARE = 0.2
"""Weight of a phrase word that the question already uses, relative to its rarity weight."""
NAME_TITLES = frozenset(
    """president general king queen lake mount mountain river saint st dr mr mrs ms sir lord emperor
    tsar czar pope prime minister secretary senator governor chairman premier leader captain admiral
    colonel justice chief judge prince princess duke new north south east west great upper lower old""".split()
)
"""Capitalised words that may stand before a name without making it someone else ("President Lincoln")."""
GIVEN_NAME_SHARE = 0.4
"""Weight of a name's leading words ("Neil", "Lake") relative to its rarity: the last word tells most."""
MATCHED_CREDIT = 0.5
"""Credit from which a concept counts as found (``matched``) for flags and reports."""


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of the student's answer: ``text == answer[start:end]``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Phrase:
    """A rubric phrase compiled to stems; ``negative`` if it contains a negation cue."""

    text: str
    stems: tuple[str, ...]
    negative: bool
    all_words: bool = False
    weights: tuple[float, ...] = ()
    """Weight of each slot for partial credit (empty: all-or-nothing)."""
    names: tuple[bool, ...] = ()
    """Per slot, True if the phrase writes it capitalised (part of a name: "Neil Armstrong")."""
    polarity: tuple[bool, ...] = ()
    """Per slot, True if the phrase negates it ("battery not closed path"): for partial credit
    the answer must negate it too, and a plain mention counts against the claim."""


@dataclass(frozen=True, slots=True)
class ConceptMatch:
    """Whether a concept was found, with the matching phrase and spans, or negated spans."""

    concept_id: str
    label: str
    weight: float
    matched: bool
    evidence: tuple[Span, ...] = ()
    negated: tuple[Span, ...] = ()
    phrase: str | None = None
    credit: float | None = None
    """Share of the concept earned, 0..1 (None: all or nothing, so 1 if matched else 0)."""

    @property
    def earned(self) -> float:
        """The share of the concept's weight this match earns, 0..1."""
        if self.credit is None:
            return 1.0 if self.matched else 0.0
        return self.credit


@dataclass(frozen=True, slots=True)
class MisconceptionMatch:
    """A misconception whose phrase occurs (not negated) in the answer."""

    misconception_id: str
    penalty: float
    feedback: str
    evidence: tuple[Span, ...]


def compile_phrase(text: str, *, keep_stop_words: bool = False) -> Phrase:
    """Compile a rubric phrase to its content stems (all word stems if ``keep_stop_words``).

    >>> compile_phrase("release of political prisoners").stems
    ('releas', 'polit', 'prison')
    >>> compile_phrase("the Cold War was over", keep_stop_words=True).stems
    ('the', 'cold', 'war', 'was', 'over')

    A phrase left with one content word keeps its other words (articles aside), matched in
    order against every word of the answer:

    >>> p = compile_phrase("rose up")
    >>> p.stems, p.all_words
    (('rose', 'up'), True)
    """
    if ALTERNATIVE in text:
        return _compile_with_alternatives(text, keep_stop_words=keep_stop_words)
    written = normalize(text)
    tokens = tokenize(written)
    negative = any(t.text in NEGATION_CUES or t.text.endswith("n't") for t in tokens)
    keep = (lambda t: True) if keep_stop_words else is_content
    kept = [i for i, t in enumerate(tokens) if keep(t) and t.text not in NEGATION_CUES]
    stems = tuple(tokens[i].stem for i in kept)
    if keep_stop_words:
        return Phrase(text, stems, negative, all_words=True)
    if len(stems) <= 1:
        # Without its small words, "rose up" would match any "rose" and "get along with
        # America" any "America": keep them (articles aside) and match the words in order.
        words = tuple(t.stem for t in tokens if t.text not in NEGATION_CUES and t.text not in _ARTICLES)
        if len(words) > max(1, len(stems)):
            return Phrase(text, words, negative, all_words=True)
    if not stems:  # a phrase of stop words only ("the"): match its words as they are
        stems = tuple(t.stem for t in tokens if t.text not in NEGATION_CUES)
        return Phrase(text, stems, negative, all_words=True)
    polarity = tuple(is_negated(tokens, i) for i in kept) if negative else ()
    names = tuple(written[tokens[i].start].isupper() for i in kept)
    return Phrase(text, stems, negative, polarity=polarity, names=names if any(names) else ())


def _compile_with_alternatives(text: str, *, keep_stop_words: bool) -> Phrase:
    """:func:`compile_phrase` of a phrase with ``a|b`` slots: each slot keeps its alternatives' stems.

    >>> compile_phrase("skilled|trained workers left").stems
    ('skill|train', 'worker', 'left')
    """
    slots: list[str] = []
    polarity: list[bool] = []
    names: list[bool] = []
    negative = False  # a negation cue negates the slots after it, as in the plain form
    for chunk in normalize(text).split():
        if ALTERNATIVE in chunk:
            alternatives = [tokenize(a) for a in chunk.split(ALTERNATIVE)]
            found = sorted({t[0].stem for t in alternatives if t}, key=[t[0].stem for t in alternatives if t].index)
            if found:
                slots.append(ALTERNATIVE.join(found))
                polarity.append(negative)
                names.append(chunk[0].isupper())
            continue
        for t in tokenize(chunk):
            if t.text in NEGATION_CUES or t.text.endswith("n't"):
                negative = True
            elif keep_stop_words or is_content(t):
                slots.append(t.stem)
                polarity.append(negative)
                names.append(chunk[t.start].isupper())
    return Phrase(text, tuple(slots), negative, all_words=keep_stop_words,
                  polarity=tuple(polarity) if negative else (), names=tuple(names) if any(names) else ())


def slot_stems(slot: str) -> tuple[str, ...]:
    """The stems a phrase slot accepts.

    >>> slot_stems("skill|train"), slot_stems("worker")
    (('skill', 'train'), ('worker',))
    """
    return tuple(slot.split(ALTERNATIVE))


def weigh_phrase(phrase: Phrase, question_stems: frozenset[str]) -> Phrase:
    """``phrase`` with a partial-credit weight per slot: rarer words weigh more, question words little.

    >>> p = weigh_phrase(compile_phrase("skilled workers fled"), frozenset({"worker"}))
    >>> p.weights[1] < min(p.weights[0], p.weights[2])  # 'workers' is in the question
    True
    """
    if phrase.all_words or len(phrase.stems) < 2:
        return phrase
    weights = []
    for k, slot in enumerate(phrase.stems):
        stems = slot_stems(slot)
        w = rarity_weight(stems[0])
        if any(s in question_stems for s in stems):
            w *= QUESTION_WORD_SHARE
        if phrase.names and phrase.names[k] and k + 1 < len(phrase.names) and phrase.names[k + 1]:
            w *= GIVEN_NAME_SHARE  # "Neil" of "Neil Armstrong": the last word of a name tells most
        weights.append(round(w, 4))
    return Phrase(phrase.text, phrase.stems, phrase.negative, phrase.all_words, tuple(weights), phrase.names, phrase.polarity)


def _ramp(slots: int) -> tuple[float, float]:
    """(share that starts earning, share that earns in full) for a phrase of ``slots`` words."""
    return (LONG_PARTIAL_FLOOR, LONG_PARTIAL_FULL) if slots > LONG_PHRASE_SLOTS else (PARTIAL_FLOOR, PARTIAL_FULL)


def partial_credit(share: float, slots: int = 0) -> float:
    """Credit for a sentence holding ``share`` of a phrase's weighted words (0..1).

    A phrase of more than LONG_PHRASE_SLOTS words (a claim) earns on a gentler ramp: half of
    a long claim is an idea half told, half of a two-word answer is one word.

    >>> partial_credit(0.1), partial_credit(0.45), partial_credit(0.9)
    (0.0, 0.5, 1.0)
    >>> partial_credit(0.45, slots=6) > partial_credit(0.45, slots=2)
    True
    """
    floor, full = _ramp(slots)
    return round(min(1.0, max(0.0, (share - floor) / (full - floor))), 4)


def _fuzzy_ok(a: str, b: str) -> bool:
    """Accept a misspelling of rubric stem ``b``: same first letter and few edits for its length."""
    if a[0] != b[0]:
        return False
    longest = max(len(a), len(b))
    if longest < 6:
        return False
    allowed = 2 if longest >= 9 else 1
    return Levenshtein.distance(a, b, score_cutoff=allowed) <= allowed


CANONICAL_CACHE = 200_000
"""Distinct (stem, word) misspelling lookups remembered per rubric."""
WORD_FACTS_CACHE = 20_000
"""Distinct answer words whose facts (:meth:`PhraseMatcher._word_facts`) are remembered per rubric:
a question's answers use a few thousand; every loaded rubric keeps its own."""
MIN_SPELLING_LETTERS = 5
"""Written words of this length or more may be a misspelling of a rubric word (as written)."""
COMMON_WORD_ZIPF = 4.0
MIN_VARIANT_STEM = 6
"""A stem this long that begins another rubric stem (or is begun by it) is a form of the same word."""
"""A word at least this common is a word in its own right ("skate"), never a misspelling."""


def _spelling_ok(word: str, target: str) -> bool:
    """Accept ``word`` as a misspelling of the rubric word ``target`` (both as written, lowercase).

    Same first letter; one edit, or two from 9 letters, where swapping two neighbours is one
    edit ("Juptier", "Ontairo", "Linclon").

    >>> _spelling_ok("juptier", "jupiter"), _spelling_ok("texes", "texas"), _spelling_ok("text", "texas")
    (True, True, False)
    """
    if word[0] != target[0]:
        return False
    longest = max(len(word), len(target))
    if longest < MIN_SPELLING_LETTERS:
        return False
    allowed = 2 if longest >= 9 else 1
    return OSA.distance(word, target, score_cutoff=allowed) <= allowed


@dataclass
class Analysis:
    """A tokenised answer: all tokens, content-token indices, and canonical stem -> positions."""

    tokens: list[Token]
    content: list[int]
    positions: dict[str, list[int]] = field(default_factory=dict)
    every: list[int] = field(default_factory=list)
    every_positions: dict[str, list[int]] = field(default_factory=dict)
    first_cue: int = 0
    """No token up to this index is negated: :meth:`PhraseMatcher.analyze_tokens` sets the index of the
    first negation cue (``len(tokens)`` if none); the default 0 checks every token."""
    _negated: dict[int, bool] = field(default_factory=dict, init=False, repr=False, compare=False)

    def negated(self, index: int) -> bool:
        """:func:`grader.text.is_negated` of ``tokens[index]``, worked out once per token."""
        if index <= self.first_cue:  # no cue before it (most answers have none at all)
            return False
        known = self._negated.get(index)
        if known is None:
            known = self._negated[index] = is_negated(self.tokens, index)
        return known


class PhraseMatcher:
    """Matches compiled phrases of one rubric against answers; tolerant to misspellings.

    Build once per rubric and reuse: misspelling lookups are cached per matcher.
    """

    def __init__(self, phrases: list[Phrase]) -> None:
        self.vocabulary_ = frozenset(s for p in phrases for slot in p.stems for s in slot_stems(slot))
        self._by_initial: dict[str, list[str]] = {}
        for s in sorted(self.vocabulary_):
            if len(s) >= 5:
                self._by_initial.setdefault(s[0], []).append(s)
        # misspelling lookups, per matcher (the answer depends on this rubric's words); bounded
        self._canonical = lru_cache(maxsize=CANONICAL_CACHE)(self._find_canonical)
        self._facts = WordMemo(self._word_facts, limit=WORD_FACTS_CACHE)  # what analyze_tokens needs of each word
        # last words of names the rubric writes in full ("Franklin Roosevelt"): after another
        # given name ("Theodore Roosevelt") they name someone else
        self.name_stems_ = frozenset(
            s for p in phrases for k, slot in enumerate(p.stems)
            if p.names and k > 0 and p.names[k] and p.names[k - 1] for s in slot_stems(slot)
        )
        # the rubric's words as written, for misspellings that change a word's stem ("Jupitar")
        self._written: dict[str, list[tuple[str, str]]] = {}
        for p in phrases:
            for t in tokenize(normalize(p.text.replace(ALTERNATIVE, " "))):
                if len(t.text) >= MIN_SPELLING_LETTERS - 1 and t.stem in self.vocabulary_ and t.text.isalpha():
                    pairs = self._written.setdefault(t.text[0], [])
                    if (t.text, t.stem) not in pairs:
                        pairs.append((t.text, t.stem))

    def canonical(self, stem: str, word: str = "") -> str:
        """Map a stem (of the written ``word``) to the rubric stem it misspells, or return it unchanged."""
        if stem in self.vocabulary_ or stem.isdigit() or (len(stem) < 5 and len(word) < MIN_SPELLING_LETTERS):
            return stem
        if len(word) > MAX_CACHED_WORD:  # not worth remembering (and would let hostile input fill memory)
            return self._find_canonical(stem, word)
        return self._canonical(stem, word)

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        del state["_canonical"], state["_facts"]  # caches around bound methods: rebuilt, not pickled
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._canonical = lru_cache(maxsize=CANONICAL_CACHE)(self._find_canonical)
        self._facts = WordMemo(self._word_facts, limit=WORD_FACTS_CACHE)

    def _word_facts(self, word: str) -> tuple[bool, str, bool, bool]:
        """(a negation cue, the stem the answer's indexes file it under, a content word, a word that
        negates what follows as :func:`grader.text.is_negated` reads it) of a token's text.

        Rubric words and short words are filed under their own stem, other words under the
        rubric stem they misspell (:meth:`canonical`), if any.
        """
        stem = word_stem(word)
        if stem not in self.vocabulary_ and len(word) >= MIN_SPELLING_LETTERS:
            stem = self.canonical(stem, word)
        cue = word in NEGATION_CUES
        return cue, stem, content_word(word), cue or word.endswith("n't")

    def _find_canonical(self, stem: str, word: str) -> str:
        best = stem
        if len(stem) >= 5:
            for candidate in self._by_initial.get(stem[0], ()):
                if _fuzzy_ok(stem, candidate):
                    best = candidate
                    break
        if best == stem and len(stem) >= MIN_VARIANT_STEM:
            for candidate in self._by_initial.get(stem[0], ()):
                if len(candidate) >= MIN_VARIANT_STEM and (candidate.startswith(stem) or stem.startswith(candidate)):
                    best = candidate  # "economic" for "economy", "national" for "nation": one word's forms
                    break
        if best == stem and len(word) >= MIN_SPELLING_LETTERS and word.isalpha() and (zipf(stem) or 0) < COMMON_WORD_ZIPF:
            for written, written_stem in self._written.get(word[0], ()):
                if _spelling_ok(word, written):
                    best = written_stem
                    break
        return best

    def analyze(self, answer: str) -> Analysis:
        """Tokenise ``answer`` and index its content words by canonical stem."""
        return self.analyze_tokens(tokenize(answer), answer)

    def analyze_tokens(self, tokens: list[Token], text: str | None = None) -> Analysis:
        """:meth:`analyze` of an answer already split by :func:`grader.text.tokenize`.

        With the answer's ``text``, the last word of a name the rubric writes in full, right
        after a name the rubric does not know ("Theodore Roosevelt" for "Franklin Roosevelt"),
        is someone else: not indexed.
        """
        other_name = self._other_names(tokens, text) if text is not None and self.name_stems_ else ()
        facts, known = self._facts, self.vocabulary_
        every: list[int] = []
        content: list[int] = []
        positions: dict[str, list[int]] = {}
        every_positions: dict[str, list[int]] = {}
        first_cue = len(tokens)
        # one pass: both indexes, each word's facts looked up once (in C)
        for i, (cue, stem, is_content_word, negates) in enumerate(map(facts.__getitem__, map(_TEXT, tokens))):
            if negates and i < first_cue:
                first_cue = i
            if cue or i in other_name:
                continue
            every_positions.setdefault(stem, []).append(len(every))
            every.append(i)
            if is_content_word:
                rank = len(content)
                content.append(i)
                positions.setdefault(stem, []).append(rank)
                if "-" in stem:  # "Spanish-American" also counts as "Spanish" and "American"
                    for part in stem.split("-"):
                        if part in known:
                            positions.setdefault(part, []).append(rank)
        return Analysis(tokens, content, positions, every, every_positions, first_cue)

    def _other_names(self, tokens: list[Token], text: str) -> set[int]:
        """Indices of capitalised rubric names written right after a capitalised name the rubric lacks."""
        out: set[int] = set()
        for i in range(1, len(tokens)):
            t, before = tokens[i], tokens[i - 1]
            if t.stem not in self.name_stems_ or not text[t.start : t.start + 1].isupper():
                continue
            if (before.sentence != t.sentence or not text[before.start : before.start + 1].isupper()
                    or text[before.end : t.start].strip() or before.text in STOP_WORDS or before.text in NAME_TITLES
                    or before.text.endswith("'s")  # "Khrushchev's Thaw": a possessive, not a given name
                    or before.stem in self.vocabulary_):
                continue
            opens_sentence = i == 1 or tokens[i - 2].sentence != before.sentence
            if opens_sentence and (zipf(before.stem) or 0) >= COMMON_WORD_ZIPF:
                continue  # "Later Roosevelt ...": an ordinary word that opens the sentence
            out.add(i)
        return out

    def find(
        self,
        phrase: Phrase,
        analysis: Analysis,
        *,
        slack: int = WINDOW_SLACK,
        ordered: bool = False,
        all_words: bool = False,
    ) -> tuple[list[Span], list[Span]]:
        """Return (affirmed spans, negated spans) where ``phrase`` occurs in the analysed answer.

        ``ordered`` requires the phrase's words in their order (used for misconceptions,
        where "more aggressive" must not match "aggressive ... more cautious"); ``all_words``
        matches phrases compiled with their stop words against every word of the answer.
        """
        if phrase.all_words:
            all_words = ordered = True
        index, ranks = (analysis.every_positions, analysis.every) if all_words else (analysis.positions, analysis.content)
        if not phrase.stems:
            return [], []
        lists = []
        for slot in phrase.stems:  # most phrases miss a word: stop at the first one
            lst = _slot_positions(index, slot)
            if not lst:
                return [], []
            lists.append(lst)
        limit = len(phrase.stems) + slack
        anchor_idx = min(range(len(lists)), key=lambda k: len(lists[k]))  # rarest word anchors
        affirmed: list[Span] = []
        negated: list[Span] = []
        used: set[int] = set()
        # Anchors come in increasing order, so each word's "first occurrence at or after the
        # anchor" only moves forward: one pointer per word keeps the search linear in the
        # answer length (O(n x words of the phrase)), where a nearest-occurrence scan per
        # anchor was quadratic ("Thaw " * 4000 took 10 s).
        pointers = [0] * len(lists)
        for anchor in lists[anchor_idx]:
            chosen = []
            for k, lst in enumerate(lists):
                pointers[k], near = occurrences_around(lst, pointers[k], anchor)
                # nearest occurrence of each word; on a tie, the one on the side the phrase puts it
                chosen.append(min(near, key=lambda p, k=k: (abs(p - anchor), (p - anchor) * (k - anchor_idx) < 0, p)))
            lo, hi = min(chosen), max(chosen)
            if hi - lo >= limit or lo in used:
                continue
            if ordered and any(a >= b for a, b in zip(chosen, chosen[1:])):
                continue
            token_ids = [ranks[r] for r in chosen]
            if len({analysis.tokens[t].sentence for t in token_ids}) > 1:
                continue
            used.add(lo)
            first, last = analysis.tokens[min(token_ids)], analysis.tokens[max(token_ids)]
            negation = any(analysis.negated(t) for t in token_ids)
            span = Span(first.start, last.end, "")
            if phrase.negative:  # "not a democracy" is earned only by a negated mention
                if negation:
                    affirmed.append(span)
            else:
                (negated if negation else affirmed).append(span)
        return affirmed, negated


def occurrences_around(positions: list[int], start: int, anchor: int) -> tuple[int, list[int]]:
    """Move a forward pointer through sorted ``positions`` to the first at or after ``anchor``.

    Returns the new pointer and the occurrences just before and at/after ``anchor`` (the
    candidates for its nearest). Anchors taken in increasing order move the pointer only
    forward, so a whole search stays linear in the number of occurrences.

    >>> occurrences_around([2, 5, 9], 0, 6)
    (2, [5, 9])
    """
    j = start
    while j < len(positions) and positions[j] < anchor:
        j += 1
    return j, [positions[i] for i in (j - 1, j) if 0 <= i < len(positions)]


def _slot_positions(index: dict[str, list[int]], slot: str) -> list[int] | None:
    """Sorted positions of any of a slot's stems (the stem's own list when it has one)."""
    if ALTERNATIVE not in slot:
        return index.get(slot)
    merged = sorted(p for s in slot_stems(slot) for p in index.get(s, ()))
    return merged or None


def _may_earn(phrase: Phrase, analysis: Analysis) -> bool:
    """False when the phrase's words the answer holds at all weigh too little for any credit.

    An upper bound of :func:`best_sentence_share` (either side), so skipping the phrase
    changes no score: most partial phrases of a rubric find none or one of their words.
    """
    total = sum(phrase.weights)
    if not total:
        return False
    positions = analysis.positions
    present = sum(
        w for slot, w in zip(phrase.stems, phrase.weights)
        if (slot in positions if ALTERNATIVE not in slot else any(s in positions for s in slot_stems(slot)))
    )
    return present / total > _ramp(len(phrase.stems))[0]


_TEXT = attrgetter("text")


@lru_cache(maxsize=4096)
def _year_slots(stems: tuple[str, ...]) -> tuple[int, ...]:
    """Positions of the slots of a phrase that are years ("1956")."""
    return tuple(k for k, slot in enumerate(stems) if YEAR.match(slot))


def best_sentence_share(phrase: Phrase, analysis: Analysis) -> tuple[float, list[int], float, list[int]]:
    """The largest weighted share of ``phrase``'s slots that one sentence (or two in a row) holds.

    Returns (affirmed share, its token indices, negated share, its token indices). A word the
    window says the opposite of ("the battery is in a closed path" for the claim "battery not
    closed path") counts against the share. Linear in the number of occurrences of the
    phrase's words in the answer.
    """
    total = sum(phrase.weights)
    if not total:
        return 0.0, [], 0.0, []
    tokens, content = analysis.tokens, analysis.content
    found: dict[int, dict[int, int]] = {}  # sentence -> slot -> first token index
    denied: dict[int, dict[int, int]] = {}
    negated, polarity, positions = analysis.negated, phrase.polarity, analysis.positions
    for k, slot in enumerate(phrase.stems):
        wanted = bool(polarity) and polarity[k]  # the claim itself negates this word
        for rank in _slot_positions(positions, slot) or ():
            t = content[rank]
            side = denied if negated(t) != wanted else found
            side.setdefault(tokens[t].sentence, {}).setdefault(k, t)

    def window(side: dict[int, dict[int, int]], sentence: int) -> dict[int, int]:
        # one sentence and the next: a claim is often told in two short sentences
        slots = dict(side.get(sentence, {}))
        for k, t in side.get(sentence + 1, {}).items():
            slots.setdefault(k, t)
        return slots

    year_slots = _year_slots(phrase.stems)
    years: dict[int, set[str]] = {}
    if year_slots:
        for t in content:
            if YEAR.match(tokens[t].text):
                years.setdefault(tokens[t].sentence, set()).add(tokens[t].text)

    weight = phrase.weights.__getitem__

    def best(side: dict[int, dict[int, int]], other: dict[int, dict[int, int]]) -> tuple[float, list[int]]:
        # the share a window holds, less the words it says the opposite of (and does not also affirm);
        # another year where the claim has its own is the opposite too ("1991" for "November 1989")
        top, where = 0.0, []
        for sentence in sorted(side):
            slots, against = window(side, sentence), window(other, sentence)
            wrong_year: list[int] = []
            if year_slots:
                said = years.get(sentence, set()) | years.get(sentence + 1, set())
                wrong_year = [k for k in year_slots if k not in slots and said]
            share = (sum(map(weight, slots)) - sum(map(weight, filterfalse(slots.__contains__, against)))
                     - sum(map(weight, wrong_year))) / total  # the same terms in the same order as a loop
            if share > top:
                top, where = share, sorted(slots.values())
        return top, where

    return (*best(found, denied), *best(denied, {}))


@lru_cache(maxsize=256)
def _compiled(phrases: tuple[str, ...], keep_stop_words: bool = False) -> tuple[Phrase, ...]:
    return tuple(compile_phrase(p, keep_stop_words=keep_stop_words) for p in phrases)


class RubricMatcher:
    """Everything needed to match one rubric's concepts and misconceptions, compiled once."""

    def __init__(self, rubric: Rubric) -> None:
        self.rubric = rubric
        self.concept_phrases_ = [_compiled(tuple(c.phrases)) for c in rubric.concepts]
        if rubric.scoring.partial_credit:
            question = frozenset(t.stem for t in tokenize(normalize(rubric.question)) if is_content(t))
            self.concept_phrases_ = [tuple(weigh_phrase(p, question) for p in group) for group in self.concept_phrases_]
        self.misconception_phrases_ = [_compiled(tuple(m.phrases), True) for m in rubric.misconceptions]
        everything = [p for group in self.concept_phrases_ + self.misconception_phrases_ for p in group]
        self.matcher_ = PhraseMatcher(everything)
        # Per concept: every stem its phrases could look up, and what an answer holding none of
        # them gets (no phrase found, no partial credit possible); most answers miss most concepts.
        self.concept_stems_ = [
            frozenset(s for p in group for slot in p.stems for s in slot_stems(slot)) for group in self.concept_phrases_
        ]
        self.concept_all_words_ = [any(p.all_words for p in group) for group in self.concept_phrases_]
        self.concept_missing_ = [
            ConceptMatch(c.id, c.label, c.weight, matched=False, credit=0.0 if any(p.weights for p in group) else None)
            for c, group in zip(rubric.concepts, self.concept_phrases_)
        ]

    def match(
        self, answer: str, *, tokens: list[Token] | None = None, evidence: bool = True
    ) -> tuple[list[ConceptMatch], list[MisconceptionMatch], Analysis]:
        """Match every concept and misconception of the rubric against ``answer``.

        ``tokens`` may pass ``tokenize(answer)`` when the caller has it already;
        ``evidence=False`` leaves out the spans of earned concepts (same matches and credit;
        negated spans and misconception spans are kept, as flags and checks read them).
        """
        analysis = self.matcher_.analyze(answer) if tokens is None else self.matcher_.analyze_tokens(tokens, answer)
        held, held_all = analysis.positions.keys(), analysis.every_positions.keys()
        concepts = [
            missing if held.isdisjoint(stems) and (not all_words or held_all.isdisjoint(stems))
            else _match_concept(c, phrases, self.matcher_, analysis, answer, evidence)
            for c, phrases, stems, all_words, missing in zip(
                self.rubric.concepts, self.concept_phrases_, self.concept_stems_, self.concept_all_words_,
                self.concept_missing_,
            )
        ]
        misconceptions = []
        for m, phrases in zip(self.rubric.misconceptions, self.misconception_phrases_):
            spans: list[Span] = []
            for phrase in phrases:
                spans.extend(
                    self.matcher_.find(phrase, analysis, slack=MISCONCEPTION_SLACK, ordered=True, all_words=True)[0]
                )
            if spans:
                misconceptions.append(MisconceptionMatch(m.id, m.penalty, m.feedback, _with_text(spans, answer)))
        return concepts, misconceptions, analysis


def _with_text(spans: list[Span], answer: str) -> tuple[Span, ...]:
    """Merge overlapping spans and attach their text, in order of position."""
    merged: list[list[int]] = []
    for a, b in sorted({(s.start, s.end) for s in spans}):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return tuple(Span(a, b, answer[a:b]) for a, b in merged)


def _match_concept(
    concept: Concept, phrases: tuple[Phrase, ...], matcher: PhraseMatcher, analysis: Analysis, answer: str,
    with_evidence: bool = True,
) -> ConceptMatch:
    affirmed: list[Span] = []
    negated: list[Span] = []
    first_phrase = None
    for phrase in phrases:
        yes, no = matcher.find(phrase, analysis)
        if yes and first_phrase is None:
            first_phrase = phrase.text
        affirmed.extend(yes)
        negated.extend(no)
    partial = [p for p in phrases if p.weights]
    if affirmed or not partial:
        return ConceptMatch(
            concept_id=concept.id,
            label=concept.label,
            weight=concept.weight,
            matched=bool(affirmed),
            evidence=_with_text(affirmed, answer) if with_evidence else (),
            negated=_with_text(negated, answer) if not affirmed else (),
            phrase=first_phrase,
            credit=1.0 if affirmed else (0.0 if partial else None),
        )
    best, best_tokens, best_phrase, denied, denied_tokens = 0.0, [], None, 0.0, []
    for phrase in partial:
        if not _may_earn(phrase, analysis):
            continue
        share, where, no_share, no_where = best_sentence_share(phrase, analysis)
        earned, against = partial_credit(share, len(phrase.stems)), partial_credit(no_share, len(phrase.stems))
        if earned > best:
            best, best_tokens, best_phrase = earned, where, phrase.text
        if against > denied:
            denied, denied_tokens = against, no_where
    credit = best
    tokens = analysis.tokens
    evidence = [Span(tokens[t].start, tokens[t].end, "") for t in best_tokens] if credit and with_evidence else []
    if not negated and denied >= MATCHED_CREDIT and credit < MATCHED_CREDIT:
        negated = [Span(tokens[t].start, tokens[t].end, "") for t in denied_tokens]
    return ConceptMatch(
        concept_id=concept.id,
        label=concept.label,
        weight=concept.weight,
        matched=credit >= MATCHED_CREDIT,
        evidence=_with_text(evidence, answer) if evidence else (),
        negated=_with_text(negated, answer) if negated and credit < MATCHED_CREDIT else (),
        phrase=best_phrase if credit else None,
        credit=credit,
    )


def match_concepts(rubric: Rubric, answer: str) -> list[ConceptMatch]:
    """Match each concept of ``rubric`` in ``answer`` (convenience; compiles the rubric each call).

    >>> from grader.rubric import rubric_from_dict
    >>> r = rubric_from_dict({"id": "x", "question": "Q?", "model_answer": "A.",
    ...     "concepts": [{"id": "c", "label": "Less repression", "terms": ["reduced repression"]}]})
    >>> m = match_concepts(r, "Khrushchev reduced the repression.")[0]
    >>> m.matched, m.evidence[0].text
    (True, 'reduced the repression')
    """
    return RubricMatcher(rubric).match(answer)[0]
