"""What is measured about an answer: the cheap signals that the validity checks threshold.

Each signal is a count or a share computed from the answer's tokens (stems, word n-grams,
function words, letter patterns) against an :class:`AnswerContext`, which holds what the
rubric says about its topic and is computed once per rubric (:func:`build_context`);
:func:`measure` computes all signals of one answer in one pass. No model, no dictionary.
The checks that turn these signals into flags live in :mod:`grader.integrity`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, compress, repeat
from operator import eq, le

from grader.rubric import DEFAULT_FLAG_CAPS, DEFAULT_FLAG_PENALTIES, Rubric
from grader.text import (
    MAX_ANSWER_CHARS, NEGATION_CUES, STOP_WORDS, Token, WordMemo, content_word_not_cue, is_content, stem, tally, tokenize,
)


@dataclass(frozen=True, slots=True)
class Reversal:
    """A concept phrase with its direction word flipped ("less repression" -> "more repression")."""

    concept_id: str
    stems: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AnswerContext:
    """What the checks need to know about the rubric, computed once per rubric (see :func:`build_context`)."""

    question_stems: frozenset[str]
    model_stems: frozenset[str]
    min_words: int
    max_words: int
    vocabulary: frozenset[str] = frozenset()
    model_trigrams: frozenset[tuple[str, str, str]] = frozenset()
    model_order: frozenset[tuple[str, str]] = frozenset()
    reversals: tuple[Reversal, ...] = ()
    reversal_stems: frozenset[str] = frozenset()
    other_vocabularies: tuple[tuple[str, frozenset[str]], ...] = ()
    own_distinct: frozenset[str] = frozenset()
    other_index: Mapping[str, tuple[int, ...]] = field(default_factory=dict, init=False, compare=False, repr=False)
    """Stem -> positions in ``other_vocabularies`` of the rubrics whose words include it (built from them)."""
    caps: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_FLAG_CAPS))
    penalties: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_FLAG_PENALTIES))

    def __post_init__(self) -> None:
        object.__setattr__(self, "other_index", _inverted(self.other_vocabularies))  # derived, never passed in


# --- thresholds of the measurements (tuned with the checks' own, see grader.integrity) ---
ORDER_REACH = 3
"""A pair of the model answer's content words (a, b) is in its order when b follows a within this many content words."""
PADDING_MIN_WORDS = 60
"""Padding is measured on answers of this many words or more (see grader.integrity.PADDING_SHARE)."""
SENTENCE_ON_TOPIC = 0.2
"""A sentence (3+ content words) is on topic when this share of its content words is rubric vocabulary."""
SENTENCE_MIN_CONTENT = 3
"""A sentence of fewer content words is too short to judge: it counts as on topic (see SENTENCE_ON_TOPIC)."""

# Words that restate a question without adding anything ("it changed things a lot").
_VAGUE = frozenset(
    stem(w)
    for w in (
        "thing things lot lots way ways very really important big change changed changes impact impacted "
        "affect affected effect effects implication implications many different stuff kind basically"
    ).split()
)
_DETERMINERS = frozenset("the a an this these those every each its".split())
_PREPOSITIONS = frozenset(
    "of to in by for with from on at into toward towards about over under between among during within through".split()
)
_CONJUNCTIONS = frozenset("and or that which".split())
_FINITE_AUX = frozenset("was were is are has had did does".split())
_FUNCTION_PAIRS_AFTER_DET = _DETERMINERS | _PREPOSITIONS | _CONJUNCTIONS | _FINITE_AUX
_FUNCTION_PAIRS_AFTER_PREP = _CONJUNCTIONS | _FINITE_AUX
_BAD_PAIRS = frozenset(
    [(a, b) for a in _DETERMINERS for b in _FUNCTION_PAIRS_AFTER_DET]  # "the of", "the was", "the the"
    + [(a, b) for a in _PREPOSITIONS - _DETERMINERS for b in _FUNCTION_PAIRS_AFTER_PREP | {a}]  # "of was", "to to"
    + [(a, a) for a in STOP_WORDS - _DETERMINERS - _PREPOSITIONS]  # "and and"
)
"""Two function words that English never puts side by side: one set lookup per pair of neighbours."""
_VOWELS = frozenset("aeiouy")
_RARE_BIGRAMS = frozenset(
    "bq bx cj cv cx dx fq fx gq gx hx jc jf jg jq js jv jw jx jz kq kx mx pq pv px qb qc qd qf qg qh qj qk "
    "ql qm qn qo qp qr qs qt qv qw qx qy qz sx vb vf vh vj vm vp vq vt vw vx wx xj xx zj zq zx".split()
)
_CONSONANT_RUN = re.compile(r"[bcdfghjklmnpqrstvwxz]{5,}")
_TRIPLE = re.compile(r"(.)\1\1")
_LIST_SPLIT = re.compile(r"[,;\n\u2022*|/]+|\s-\s")

# Direction words and their opposites, for reversed concept claims ("increased repression").
_OPPOSITES: dict[str, tuple[str, ...]] = {
    "less": ("more",), "fewer": ("more",), "more": ("less", "fewer"),
    "reduced": ("increased", "intensified"), "reducing": ("increasing",), "reduce": ("increase",),
    "decreased": ("increased",), "increased": ("decreased", "reduced"), "lower": ("higher",), "higher": ("lower",),
    "ended": ("restored", "intensified"), "stopped": ("resumed", "restarted"),
    "eased": ("tightened", "intensified", "worsened"), "loosened": ("tightened",), "relaxed": ("tightened",),
    "weakened": ("strengthened",), "strengthened": ("weakened",), "freed": ("arrested", "imprisoned"),
    "released": ("arrested", "imprisoned"), "improved": ("worsened",), "cautious": ("aggressive", "reckless"),
    "peaceful": ("aggressive", "hostile"), "aggressive": ("peaceful", "cautious"),
}
# "More" and "less" flip only in phrases of three or more words: "less fear" reversed is
# "more fear", which is true of Stalin's time and says nothing about the claim.
_COMPARATIVES = frozenset({"more", "less", "fewer"})
_OPPOSITE_STEMS: dict[str, tuple[str, ...]] = {stem(k): tuple(stem(v) for v in vs) for k, vs in _OPPOSITES.items()}


@dataclass(frozen=True, slots=True)
class Signals:
    """Cheap measurements of one answer that the checks threshold (all shares in [0, 1])."""

    words: int
    content: int
    function_share: float
    vocab_hits: int
    """Distinct rubric-vocabulary stems in the answer."""
    vocab_share: float
    new_vs_question: int
    new_relevant: int
    """New (non-question) content words that belong to the rubric's vocabulary."""
    question_hits: int
    question_coverage: float
    """Share of the question's content stems that the answer repeats."""
    model_share: float
    model_pairs: int
    model_order_share: float
    model_trigram_share: float
    bad_pair_share: float
    implausible_share: float
    implausible_words: int
    symbol_share: float
    latin_share: float
    list_segments: int
    list_segment_words: float
    repeated_sentences: int
    trigram_unique_share: float
    distinct_word_share: float
    max_ngram_repeats: int
    repeated_share: float
    """Share of words inside 4-word phrases that occur three times or more."""
    padding_share: float
    other_best: tuple[str, float, float, int] | None
    """(rubric id, share of content words in its distinctive vocabulary, same share for this rubric, distinct hits)."""
    vocab_size: int


def rubric_vocabulary(rubric: Rubric) -> frozenset[str]:
    """Content stems of everything a rubric says about its topic (question, model answer, concepts, hints).

    Hyphenated stems also contribute their parts, so "de-Stalinization" brings "stalin".

    >>> from grader.rubric import rubric_from_dict
    >>> r = rubric_from_dict({"id": "x", "question": "Why did the Thaw matter?", "model_answer": "Prisoners were freed.",
    ...     "concepts": [{"id": "c", "label": "Freed", "terms": ["prisoners freed"]}]})
    >>> sorted(rubric_vocabulary(r))
    ['freed', 'matter', 'prison', 'thaw']
    """
    texts = [rubric.question, rubric.model_answer, rubric.title]
    for c in rubric.concepts:
        texts += [c.label, c.hint, *c.phrases]
    for m in rubric.misconceptions:
        texts += list(m.phrases)
    stems: set[str] = set()
    for text in texts:
        stems.update(_stems_with_parts(t for t in tokenize(text) if _is_word(t)))
    return frozenset(stems)


def build_context(rubric: Rubric, *, other_vocabularies: Mapping[str, frozenset[str]] | None = None) -> AnswerContext:
    """Everything the checks need from ``rubric``, computed once.

    ``other_vocabularies`` (rubric id -> :func:`rubric_vocabulary`) lets the off-topic check
    recognise an answer to a *different* question of the same set; the rubric's own id is ignored.
    """
    question_tokens = [t for t in tokenize(rubric.question) if _is_word(t)]
    model_tokens = tokenize(rubric.model_answer)
    model_words = [t.text for t in model_tokens]
    model_content = [t.stem for t in model_tokens if _is_word(t)]
    model_order = frozenset(
        (a, model_content[j])
        for i, a in enumerate(model_content)
        for j in range(i + 1, min(len(model_content), i + 1 + ORDER_REACH))
    )
    own = rubric_vocabulary(rubric)
    reversals = _reversals(rubric)
    # Only words that tell the rubrics apart count: "Soviet" belongs to every seed question.
    raw_others = sorted((rid, vocab) for rid, vocab in (other_vocabularies or {}).items() if rid != rubric.id)
    others = tuple((rid, vocab - own) for rid, vocab in raw_others)
    own_distinct = own.difference(*(vocab for _, vocab in raw_others)) if raw_others else own
    scoring = rubric.scoring
    codes = set(DEFAULT_FLAG_CAPS) | set(scoring.flag_caps)
    caps = {code: cap for code in codes if (cap := scoring.flag_cap(code)) is not None}
    penalties = {code: scoring.flag_penalty(code) for code in set(DEFAULT_FLAG_PENALTIES) | set(scoring.flag_penalties)}
    return AnswerContext(
        question_stems=frozenset(_stems_with_parts(question_tokens)),
        model_stems=frozenset(_stems_with_parts(t for t in model_tokens if _is_word(t))),
        min_words=scoring.min_words,
        max_words=scoring.max_words,
        vocabulary=own,
        model_trigrams=frozenset(zip(model_words, model_words[1:], model_words[2:])),
        model_order=model_order,
        reversals=reversals,
        reversal_stems=frozenset(s for rev in reversals for s in rev.stems),
        other_vocabularies=others,
        own_distinct=own_distinct,
        caps=caps,
        penalties=penalties,
    )


def _inverted(vocabularies: tuple[tuple[str, frozenset[str]], ...]) -> dict[str, tuple[int, ...]]:
    """Stem -> indices of the vocabularies holding it: one lookup per answer word, whatever the set's size.

    >>> _inverted((("a", frozenset({"thaw"})), ("b", frozenset({"thaw", "gulag"}))))["thaw"]
    (0, 1)
    """
    index: dict[str, list[int]] = {}
    for k, (_, vocab) in enumerate(vocabularies):
        for stem in vocab:
            index.setdefault(stem, []).append(k)
    return {stem: tuple(ks) for stem, ks in index.items()}


def _other_rubric_hits(stems: list[str], ctx: AnswerContext) -> dict[int, int]:
    """Per other rubric (by position in ``ctx.other_vocabularies``): how many content words it knows (as :func:`_in_vocab` counts)."""
    index = ctx.other_index
    if "-" in "".join(stems):  # a hyphenated stem is also known by its parts
        def rubrics_of(stem: str) -> set[int]:
            return {*index.get(stem, ()), *(k for p in _hyphen_parts(stem) for k in index.get(p, ()))}

        return tally(chain.from_iterable(map(rubrics_of, stems)))
    return tally(chain.from_iterable(map(index.get, stems, repeat(()))))  # the common case, looked up in C


def _reversals(rubric: Rubric) -> tuple[Reversal, ...]:
    """Concept phrases with one direction word flipped; flips that are themselves rubric phrases are skipped."""
    out: list[Reversal] = []
    compiled = [
        (concept.id, tuple(t.stem for t in tokens if is_content(t)), tokens)
        for concept in rubric.concepts
        for tokens in (tokenize(p) for p in concept.phrases)
    ]
    seen: set[tuple[str, tuple[str, ...]]] = {(cid, stems) for cid, stems, _ in compiled}
    own_phrases = {stems for _, stems, _ in compiled}
    for concept_id, stems, tokens in compiled:
        if any(t.text in NEGATION_CUES or t.text.endswith("n't") for t in tokens):
            continue
        for i, s in enumerate(stems):
            if s in _COMPARATIVES and len(stems) < 3:
                continue
            for opposite in _OPPOSITE_STEMS.get(s, ()):
                flipped = (*stems[:i], opposite, *stems[i + 1 :])
                if len(flipped) >= 2 and flipped not in own_phrases and (concept_id, flipped) not in seen:
                    seen.add((concept_id, flipped))
                    out.append(Reversal(concept_id, flipped))
    return tuple(out)


def _is_word(token: Token) -> bool:
    return content_word_not_cue(token.text)


def _stems_with_parts(tokens: Iterable[Token]) -> list[str]:
    out: list[str] = []
    for t in tokens:
        out.append(t.stem)
        out.extend(_hyphen_parts(t.stem))
    return out


def _hyphen_parts(stem: str) -> tuple[str, ...]:
    """The parts of a hyphenated stem that count as words of their own (longer than two letters)."""
    return tuple(p for p in stem.split("-") if len(p) > 2) if "-" in stem else ()


def _knows(stem: str, parts: tuple[str, ...], vocab: frozenset[str]) -> bool:
    """``stem``, or one of its hyphen ``parts`` (:func:`_hyphen_parts`), is in ``vocab``."""
    return stem in vocab or bool(parts) and any(p in vocab for p in parts)


def _in_vocab(token: Token, vocab: frozenset[str]) -> bool:
    stem = token.stem
    return _knows(stem, _hyphen_parts(stem), vocab)


_HAS_LATIN = re.compile("[a-z]")
_ASCII_SYMBOL = re.compile(r"[^A-Za-z0-9.,;:!?'\"()\-\s]")  # ASCII text: not space, not isalnum(), not punctuation
_ASCII_SPACES = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "  # the ASCII characters of str.isspace()


def _character_shares(text: str) -> tuple[float, float]:
    """(share of visible characters that are symbols, share of letters in Latin scripts)."""
    if text.isascii():  # the common case, counted in C: every letter is Latin
        visible = len(text) - sum(map(text.count, _ASCII_SPACES))
        return (1 - ((visible - len(_ASCII_SYMBOL.findall(text))) / visible) if visible else 0.0), 1.0
    visible_chars = [ch for ch in text if not ch.isspace()]
    letters = [ch for ch in visible_chars if ch.isalpha()]
    plain = sum(1 for ch in visible_chars if ch.isalnum() or ch in ".,;:!?'\"()-")
    symbol_share = 1 - (plain / len(visible_chars)) if visible_chars else 0.0
    latin_share = sum(1 for ch in letters if ch.isascii() or "\u00c0" <= ch <= "\u024f") / len(letters) if letters else 1.0
    return symbol_share, latin_share


def _latin_test(word: str) -> tuple[bool, bool]:
    """(has a Latin letter, :func:`_implausible` of a word with one)."""
    if not _HAS_LATIN.search(word):
        return False, False
    return True, _implausible(word)


_latin_and_implausible = WordMemo(_latin_test).__getitem__
""":func:`_latin_test`, memoised per word."""


def _implausible(word: str) -> bool:
    """A Latin-letter word no English speaker would write: keyboard mash or random letters."""
    if not word.isascii() or not word.isalpha():
        return bool(re.search(r"\d", word)) and bool(re.search(r"[a-z]", word)) and not re.fullmatch(
            r"\d+(s|st|nd|rd|th)", word
        )
    if len(word) >= 4 and not _VOWELS.intersection(word):
        return True
    if len(word) >= 25 or _TRIPLE.search(word) or _CONSONANT_RUN.search(word):
        return True
    return any(word[i : i + 2] in _RARE_BIGRAMS for i in range(len(word) - 1))


def _word_sentences(words: list[str], sentence_of: list[int], sizes: Mapping[int, int]) -> list[list[str]]:
    """The words of each sentence (as :func:`_sentences` groups tokens), in order.

    ``sizes`` counts the words of each sentence, in order of first occurrence
    (``tally(sentence_of)``); tokens of :func:`grader.text.tokenize` come sentence by
    sentence, so each sentence is one slice.
    """
    if all(map(le, sentence_of, sentence_of[1:])):
        out, i = [], 0
        for size in sizes.values():
            out.append(words[i : i + size])
            i += size
        return out
    groups: dict[int, list[str]] = {}
    for w, s in zip(words, sentence_of):
        groups.setdefault(s, []).append(w)
    return list(groups.values())


def _sentences(tokens: list[Token]) -> list[list[Token]]:
    groups: dict[int, list[Token]] = {}
    for t in tokens:
        groups.setdefault(t.sentence, []).append(t)
    return list(groups.values())


def measure(answer: str, tokens: list[Token], ctx: AnswerContext) -> Signals:
    """All signals the checks use, in one pass over the tokens (cheap: no model, no dictionary).

    >>> from grader.text import tokenize
    >>> ctx = AnswerContext(frozenset({"stalin"}), frozenset({"thaw"}), 6, 600, vocabulary=frozenset({"thaw"}))
    >>> measure("The Thaw", tokenize("The Thaw"), ctx).vocab_share
    1.0
    """
    n = len(tokens)
    # the token columns, transposed in C (a Token is a tuple: text, stem, start, end, clause, sentence)
    words, all_stems, _, _, _, sentence_of = zip(*tokens) if tokens else ((),) * 6
    is_word = list(map(content_word_not_cue, words))
    content = list(compress(tokens, is_word))
    vocab = ctx.vocabulary or (ctx.model_stems | ctx.question_stems)
    question, model = ctx.question_stems, ctx.model_stems
    stems = list(compress(all_stems, is_word))
    sentence_of_content = list(compress(sentence_of, is_word))
    hyphenated = "-" in "".join(stems)
    if not hyphenated:  # the common case, counted by set lookups in C
        hits = list(map(vocab.__contains__, stems))
        asks = list(map(question.__contains__, stems))
        model_hits = sum(map(model.__contains__, stems))
        question_seen = question.intersection(stems)
    else:  # a hyphenated stem's parts count too
        parts_of = [_hyphen_parts(s) for s in stems]
        hits = [_knows(s, parts, vocab) for s, parts in zip(stems, parts_of)]
        asks = [_knows(s, parts, question) for s, parts in zip(stems, parts_of)]
        model_hits = sum(_knows(s, parts, model) for s, parts in zip(stems, parts_of))
        question_seen = question.intersection(chain(stems, *parts_of))
    question_hits = sum(asks)
    unasked = [(s, hit) for s, hit, asked in zip(stems, hits, asks) if not asked and s not in _VAGUE]
    new = len(unasked)  # content words beyond the question's (vague ones aside), and those the rubric knows
    new_relevant = sum(hit for _, hit in unasked)
    question_coverage = len(question_seen) / len(question) if question else 0.0
    model_share = model_hits / len(content) if content else 0.0

    trigrams = list(zip(words, words[1:], words[2:]))
    model_trigram_share = sum(map(ctx.model_trigrams.__contains__, trigrams)) / len(trigrams) if trigrams else 0.0
    in_model = [(a, b) for a, b in zip(stems, stems[1:]) if a in model and b in model]
    model_order_share = sum(map(ctx.model_order.__contains__, in_model)) / len(in_model) if in_model else 1.0
    same_sentence = list(map(eq, sentence_of, sentence_of[1:]))
    pairs = sum(same_sentence)  # pairs of neighbours in one sentence, and how many of them are bad
    bad = sum(map(_BAD_PAIRS.__contains__, compress(zip(words, words[1:]), same_sentence)))
    bad_pair_share = bad / pairs if pairs else 0.0

    latin = 0
    implausible = 0
    for t, w in zip(tokens, words):
        has_latin, odd = _latin_and_implausible(w)
        latin += has_latin
        implausible += odd and not _in_vocab(t, vocab)  # "enqueue" is a word
    implausible_share = implausible / latin if latin else 0.0
    text = answer[:MAX_ANSWER_CHARS]
    symbol_share, latin_share = _character_shares(text)

    segments = len(list(filter(str.strip, _LIST_SPLIT.split(text))))  # pieces with something in them
    segment_words = n / segments if segments else 0.0

    sentence_words = tally(sentence_of)
    keys = [tuple(s) for s in _word_sentences(words, sentence_of, sentence_words) if len(s) >= 2]
    key_counts = tally(keys)
    repeated_sentences = sum(c - 1 for k, c in key_counts.items() if len(k) >= 4 or c >= 3)
    trigram_unique = len(set(trigrams)) / len(trigrams) if trigrams else 1.0
    fourgram_list = list(zip(words, words[1:], words[2:], words[3:]))
    fourgrams = tally(fourgram_list)
    max_repeats = max(fourgrams.values(), default=0)
    covered: set[int] = set()
    if max_repeats >= 3:
        for i, g in enumerate(fourgram_list):
            if fourgrams[g] >= 3:
                covered.update(range(i, i + 4))

    off_words = 0  # words in sentences off the topic
    if n >= PADDING_MIN_WORDS:
        on_topic = _on_topic_sentences(sentence_of_content, hits, sentence_words)
        off_words = sum(count for sentence, count in sentence_words.items() if sentence not in on_topic)
    padding_share = off_words / n if n else 0.0

    other_best = None
    if ctx.other_vocabularies and content:
        own = ctx.own_distinct
        own_words = sum(_in_vocab(t, own) for t in content) if hyphenated else sum(map(own.__contains__, stems))
        own_share = own_words / len(content)
        counts = _other_rubric_hits(stems, ctx)
        most = max(counts.values(), default=0)
        k = min((k for k, c in counts.items() if c == most), default=0)  # the first of the rubrics that know most words
        rid, other = ctx.other_vocabularies[k]
        distinct = {t.stem for t in content if _in_vocab(t, other)} if hyphenated else other.intersection(stems)
        other_best = (rid, counts.get(k, 0) / len(content), own_share, len(distinct))

    return Signals(
        words=n,
        content=len(content),
        function_share=sum(map(STOP_WORDS.__contains__, words)) / n if n else 0.0,
        vocab_hits=len({t.stem for t, hit in zip(content, hits) if hit}),
        vocab_share=sum(hits) / len(content) if content else 0.0,
        new_vs_question=new,
        new_relevant=new_relevant,
        question_hits=question_hits,
        question_coverage=question_coverage,
        model_share=model_share,
        model_pairs=len(in_model),
        model_order_share=model_order_share,
        model_trigram_share=model_trigram_share,
        bad_pair_share=bad_pair_share,
        implausible_share=implausible_share,
        implausible_words=implausible,
        symbol_share=symbol_share,
        latin_share=latin_share,
        list_segments=segments,
        list_segment_words=segment_words,
        repeated_sentences=repeated_sentences,
        trigram_unique_share=trigram_unique,
        distinct_word_share=len(set(words)) / n if n else 1.0,
        max_ngram_repeats=max_repeats,
        repeated_share=len(covered) / n if n else 0.0,
        padding_share=padding_share,
        other_best=other_best,
        vocab_size=len(vocab),
    )


def on_topic_sentences(tokens: list[Token], vocab: frozenset[str]) -> set[int]:
    """Numbers of the sentences of ``tokens`` that are on topic: too short to judge, or enough of
    their content words are in ``vocab`` (the padding signal of :func:`measure` counts the rest)."""
    content = [t for t in tokens if _is_word(t)]
    sentences = tally(t.sentence for t in tokens)
    return _on_topic_sentences([t.sentence for t in content], [_in_vocab(t, vocab) for t in content], sentences)


def _on_topic_sentences(sentence_of_content: Sequence[int], hits: Sequence[bool], sentences: Iterable[int]) -> set[int]:
    """:func:`on_topic_sentences` from each content word's sentence and whether the vocabulary has it."""
    content, known = tally(sentence_of_content), tally(compress(sentence_of_content, hits))
    return {s for s in sentences if _on_topic(content.get(s, 0), known.get(s, 0))}


def _on_topic(content_words: int, vocabulary_words: int) -> bool:
    """A sentence with this many content words, of which this many are rubric vocabulary, is on topic."""
    if content_words < SENTENCE_MIN_CONTENT:
        return True
    return vocabulary_words / content_words >= SENTENCE_ON_TOPIC
