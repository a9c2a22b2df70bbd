"""Text processing: normalisation, tokenisation with character offsets, stems, negation.

Everything here works offline: tokens come from a compiled regular expression, stop words
from scikit-learn's English list (copied below), and stems from NLTK's Snowball English
stemmer (copied in :mod:`grader.snowball`). Neither library is imported: importing them
costs seconds, and ``grader score`` scores one answer in well under one.
"""

from __future__ import annotations

import re
import unicodedata
from collections import _count_elements  # type: ignore[attr-defined]  # Counter's counting loop, in C
from collections.abc import Callable, Hashable, Iterable
from functools import lru_cache
from typing import Generic, NamedTuple, TypeVar

from grader.snowball import stem_english

MAX_ANSWER_CHARS = 20_000
"""Answers longer than this are cut before analysis (a flag says so)."""
MAX_CACHED_WORD = 40
"""Per-word caches skip longer words: a hostile batch of distinct 20,000-letter words must not fill memory."""

# scikit-learn's ENGLISH_STOP_WORDS (sklearn/feature_extraction/_stop_words.py, from the
# Glasgow Information Retrieval Group's list; scikit-learn is BSD-3-Clause, (c) the
# scikit-learn developers), copied so that tokenising does not import scikit-learn.
# tests/test_snowball.py checks that it still equals scikit-learn's.
SKLEARN_STOP_WORDS: frozenset[str] = frozenset(
    """
    a about above across after afterwards again against all almost alone along already also
    although always am among amongst amoungst amount an and another any anyhow anyone
    anything anyway anywhere are around as at back be became because become becomes becoming
    been before beforehand behind being below beside besides between beyond bill both bottom
    but by call can cannot cant co con could couldnt cry de describe detail do done down due
    during each eg eight either eleven else elsewhere empty enough etc even ever every
    everyone everything everywhere except few fifteen fifty fill find fire first five for
    former formerly forty found four from front full further get give go had has hasnt have
    he hence her here hereafter hereby herein hereupon hers herself him himself his how
    however hundred i ie if in inc indeed interest into is it its itself keep last latter
    latterly least less ltd made many may me meanwhile might mill mine more moreover most
    mostly move much must my myself name namely neither never nevertheless next nine no
    nobody none noone nor not nothing now nowhere of off often on once one only onto or
    other others otherwise our ours ourselves out over own part per perhaps please put
    rather re same see seem seemed seeming seems serious several she should show side since
    sincere six sixty so some somehow someone something sometime sometimes somewhere still
    such system take ten than that the their them themselves then thence there thereafter
    thereby therefore therein thereupon these they thick thin third this those though three
    through throughout thru thus to together too top toward towards twelve twenty two un
    under until up upon us very via was we well were what whatever when whence whenever
    where whereafter whereas whereby wherein whereupon wherever whether which while whither
    who whoever whole whom whose why will with within without would yet you your yours
    yourself yourselves
    """.split()
)
"""scikit-learn's English stop words (318 words), the base of :data:`STOP_WORDS`."""

# Negation cues are kept out of the stop-word list: "not" changes what a sentence claims.
NEGATION_CUES: frozenset[str] = frozenset(
    {
        "not", "no", "never", "neither", "nor", "without", "hardly", "barely", "nobody",
        "nothing", "none", "cannot", "didn't", "doesn't", "don't", "wasn't", "weren't",
        "isn't", "aren't", "won't", "wouldn't", "couldn't", "shouldn't", "hasn't",
        "haven't", "hadn't", "failed", "fail", "fails", "lack", "lacked", "rather",
        "rarely", "seldom", "scarcely",
    }
)
CONTENT_WORDS_KEPT: frozenset[str] = frozenset(
    """bill system fire mill interest empty full thick thin bottom top front side part name
    move show call cry describe detail find found give keep take put see serious amount
    first last third two three four five six seven eight nine ten eleven twelve fifteen
    twenty fifty sixty forty hundred""".split()
)
"""Words in scikit-learn's stop list that carry meaning in an answer ("Bill of Rights",
"checks and balances system", "the first president"): kept as content words."""
# Comparatives decide claims ("more aggressive" vs "less aggressive"), so they stay content words.
# scikit-learn lists "do" and "done" but not "did", "does", "doing": without them "did not
# fully democratize" would need the word "did" in the answer.
STOP_WORDS: frozenset[str] = (
    SKLEARN_STOP_WORDS | {"did", "does", "doing"}
) - NEGATION_CUES - CONTENT_WORDS_KEPT - {"against", "few", "less", "more", "most", "least"}

_QUOTES = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
        "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00a0": " ",
    }
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")
_TOKEN = re.compile(r"(?:[^\W\d_]\.){2,}|[^\W_]+(?:['\-][^\W_]+)*", re.UNICODE)
"""A dotted acronym ("F.D.R.", "U.S.", read as "fdr", "us"), or a word with inner ' and -."""
_SENTENCE_END = frozenset(".!?")
_CLAUSE_BREAK = re.compile(r"[.!?;:]|\b(?:but|however|although|while|whereas)\b", re.IGNORECASE)
_CONTRAST_WORDS = ("but", "however", "although", "while", "whereas")
_PUNCTUATION_BREAK = re.compile(r"[.!?;:]")
""":data:`_CLAUSE_BREAK` of ASCII text holding none of the contrast words (most answers): a quicker scan."""
_TOKEN_ASCII = re.compile(r"(?:[a-z]\.){2,}|[a-z0-9]+(?:['\-][a-z0-9]+)*")
r""":data:`_TOKEN` of folded ASCII text (lowercase, so ``[^\W_]`` is ``[a-z0-9]``): a quicker scan."""
_ABBREVIATIONS = frozenset("mr mrs ms dr st vs etc gen gov sen rep pres jr sr approx ca".split())
"""Words whose period is not a sentence end ("Dr. Zhivago")."""


def _is_abbreviation_dot(text: str, i: int) -> bool:
    """True if the period at ``text[i]`` belongs to an abbreviation, initial or number.

    "U.S.", "J. F. Kennedy", "Dr. King" and "3.5" are one sentence each; a dot followed by a
    letter or digit ("e.g", "3.5") never ends one.

    >>> [_is_abbreviation_dot("The U.S. won. Then", i) for i in (5, 7, 12)]
    [True, True, False]
    """
    if i + 1 < len(text) and text[i + 1].isalnum():
        return True
    j = i
    while j > 0 and text[j - 1].isalpha():
        j -= 1
    word = text[j:i]
    if len(word) == 1 and word.isalpha():  # an initial, or the last letter of "U.S."
        return True
    return word.lower() in _ABBREVIATIONS


class Token(NamedTuple):
    """One word of a text: its lowercase form, stem, character span, clause and sentence number.

    A named tuple: tokenising builds one per word of every answer, and a tuple is the
    cheapest immutable record to build (measured: 6% fewer instructions per scored answer
    than a frozen slotted dataclass built slot by slot). It compares, unpacks and orders
    as the tuple of its fields, in this order (:func:`grader.signals.measure` relies on it).
    """

    text: str
    stem: str
    start: int
    end: int
    clause: int
    sentence: int


_SENTENCE_STOP = re.compile(r"[.!?]+")


def sentences(text: str) -> list[str]:
    """Split ``text`` into sentences at . ! ? (not at the dots of "U.S.", "Dr." or "3.5").

    >>> sentences("The U.S. grew. Dr. King spoke! Why?")
    ['The U.S. grew.', 'Dr. King spoke!', 'Why?']
    """
    out: list[str] = []
    start = 0
    for m in _SENTENCE_STOP.finditer(text):
        if m.group() == "." and _is_abbreviation_dot(text, m.start()):
            continue
        piece = text[start : m.end()].strip()
        if piece:
            out.append(piece)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def normalize(text: str) -> str:
    """Return ``text`` in NFKC form with straight quotes, plain dashes and no control characters.

    Offsets are kept: every replacement maps one character to one character, except that
    NFKC may change lengths, so callers that need offsets into the *original* text use
    :func:`tokenize`, which keeps the original offsets.

    >>> normalize("Khrushchev\u2019s \u201cSecret Speech\u201d")
    'Khrushchev\\'s "Secret Speech"'
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return _CONTROL.sub(" ", text)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Return the Snowball stem of a lowercase word (possessive "'s" removed).

    >>> stem("reforms"), stem("Khrushchev's")
    ('reform', 'khrushchev')
    """
    word = word.lower()
    if word.endswith("'s"):
        word = word[:-2]
    word = word.replace("'", "")
    if "-" in word:
        return "-".join(stem_english(part) for part in word.split("-") if part)
    return stem_english(word)


def _fold(text: str) -> str:
    """Same-length case and quote folding, so token offsets match the original text."""
    if text.isascii():  # the common case: ASCII lowercasing is one character to one
        return text.lower()
    if "\u03a3" not in text:  # str.lower() is per character except for Greek final sigma
        folded = text.translate(_QUOTES).lower()
        if len(folded) == len(text):  # no character grew, so each mapped one to one
            return folded
    out = []
    for ch in text:
        folded = ch.translate(_QUOTES).lower()
        if len(folded) != 1:
            folded = ch
        out.append(folded)
    return "".join(out)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into word tokens with offsets into ``text`` itself.

    Case and quotes are folded without changing offsets; accents are stripped from the
    token text and stem so "détente" matches "detente". Clause numbers grow at sentence
    punctuation and at contrast words ("but", "however"), which bound negation scope;
    sentence numbers grow at . ! and ?, which bound phrase matches.

    >>> [(t.text, t.start, t.end) for t in tokenize("Stalin's purges ended.")]
    [("stalin's", 0, 8), ('purges', 9, 15), ('ended', 16, 21)]
    """
    if not text:
        return []
    text = text[:MAX_ANSWER_CHARS]
    folded = _fold(text)
    plain = folded.isascii()
    clause_break = _CLAUSE_BREAK
    if plain and not any(w in folded for w in _CONTRAST_WORDS):
        clause_break = _PUNCTUATION_BREAK
    breaks = [
        (m.start(), m.group() in _SENTENCE_END)
        for m in clause_break.finditer(folded)
        if m.group() != "." or not _is_abbreviation_dot(folded, m.start())
    ]
    breaks.append((len(folded) + 1, False))  # past every token: no end-of-list test per token
    tokens: list[Token] = []
    append, forms, new = tokens.append, _FORMS, tuple.__new__
    clause = sentence = b = 0
    next_break = breaks[0][0]
    for match in (_TOKEN_ASCII if plain else _TOKEN).finditer(folded):
        start, end = match.span()
        if next_break < start:
            while breaks[b][0] < start:
                clause += 1
                sentence += breaks[b][1]
                b += 1
            next_break = breaks[b][0]
        word, word_stem_ = forms[match.group()]
        append(new(Token, (word, word_stem_, start, end, clause, sentence)))  # Token(...) without its __new__ call
    return tokens


_V = TypeVar("_V")
_K = TypeVar("_K", bound=Hashable)


def tally(items: Iterable[_K]) -> dict[_K, int]:
    """How often each item occurs, in order of first occurrence (a plain dict: absent items are absent).

    ``Counter(items)`` without the Python-level wrapper (several microseconds per call, and
    scoring an answer counts eight times); the counting loop is the same C code.

    >>> tally("abca")
    {'a': 2, 'b': 1, 'c': 1}
    """
    counts: dict[_K, int] = {}
    _count_elements(counts, items)
    return counts


class WordMemo(dict[str, _V], Generic[_V]):
    """A memo of a function of one word: ``memo[word]`` is ``func(word)``, computed once.

    A hit is one dict lookup (``map(memo.__getitem__, words)`` runs in C). Memory stays
    flat: at ``limit`` words the memo starts afresh, and words longer than
    :data:`MAX_CACHED_WORD` are computed each time, never kept (a hostile batch of distinct
    20,000-letter words must not fill memory).

    >>> lengths = WordMemo(len)
    >>> lengths["thaw"], lengths["x" * 100], list(lengths)
    (4, 100, ['thaw'])
    """

    __slots__ = ("func", "limit")

    def __init__(self, func: Callable[[str], _V], limit: int = 100_000) -> None:
        super().__init__()
        self.func = func
        self.limit = limit

    def __missing__(self, word: str) -> _V:
        value = self.func(word)
        if len(word) <= MAX_CACHED_WORD:
            if len(self) >= self.limit:
                self.clear()
            self[word] = value
        return value


def word_stem(word: str) -> str:
    """:func:`stem` of a token's text (a word longer than MAX_CACHED_WORD skips stem's cache).

    Equal to the token's ``stem``: :func:`tokenize` stems each word's text this way.
    """
    return stem(word) if len(word) <= MAX_CACHED_WORD else stem.__wrapped__(word)


def _word_forms(raw: str) -> tuple[str, str]:
    """(accent-free text, stem) of a folded word; long words skip the per-word caches."""
    word = raw.replace(".", "") if raw.endswith(".") else raw
    word = _strip_accents(word) if len(word) <= MAX_CACHED_WORD else _strip_accents.__wrapped__(word)
    return word, word_stem(word)


_FORMS: WordMemo[tuple[str, str]] = WordMemo(_word_forms, limit=200_000)
"""Folded word -> (accent-free text, stem): one dict lookup per token on the hot path."""


@lru_cache(maxsize=100_000)
def _strip_accents(word: str) -> str:
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)) or word


def is_content(token: Token) -> bool:
    """True for tokens that carry meaning: not a stop word, not a bare number of one digit."""
    return content_word(token.text)


def _content_test(text: str) -> bool:
    return text not in STOP_WORDS and len(text) > 1 or text.isdigit() and len(text) == 4


content_word: Callable[[str], bool] = WordMemo(_content_test).__getitem__
""":func:`is_content` of a token with this text, memoised per word (a dict lookup in C; hot loops call it)."""
content_word_not_cue: Callable[[str], bool] = WordMemo(lambda text: content_word(text) and text not in NEGATION_CUES).__getitem__
""":func:`content_word` and not a negation cue: the words similarity and the integrity signals count."""


def is_negated(tokens: list[Token], index: int, *, window: int = 6) -> bool:
    """True if a negation cue precedes ``tokens[index]`` within ``window`` words in its clause.

    An "or"/"nor" between the cue and the word extends the window: in "did not allow open
    discussion of the government or criticism of the past" the whole list is negated.

    >>> toks = tokenize("Khrushchev did not reduce repression")
    >>> is_negated(toks, 3)
    True
    """
    target = tokens[index]
    budget = window
    for j in range(index - 1, -1, -1):
        if budget <= 0:
            return False
        tok = tokens[j]
        if tok.clause != target.clause:
            return False
        if tok.text in NEGATION_CUES or tok.text.endswith("n't"):
            return True
        budget += window if tok.text in ("or", "nor") else 0
        budget -= 1
    return False
