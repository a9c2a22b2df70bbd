"""Text processing: normalisation, tokenisation with character offsets, stems, negation.

Everything here works offline: tokens come from a compiled regular expression, stop words
from scikit-learn, and stems from NLTK's Snowball stemmer (which ships its rules in code,
not in a downloaded corpus).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from collections.abc import Callable
from functools import lru_cache

from nltk.stem.snowball import SnowballStemmer
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

MAX_ANSWER_CHARS = 20_000
"""Answers longer than this are cut before analysis (a flag says so)."""

_STEMMER = SnowballStemmer("english")

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
    frozenset(ENGLISH_STOP_WORDS) | {"did", "does", "doing"}
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


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a text: its lowercase form, stem, character span, clause and sentence number."""

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
        return "-".join(_STEMMER.stem(part) for part in word.split("-") if part)
    return _STEMMER.stem(word)


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
    breaks = [
        (m.start(), m.group() in _SENTENCE_END)
        for m in _CLAUSE_BREAK.finditer(folded)
        if m.group() != "." or not _is_abbreviation_dot(folded, m.start())
    ]
    tokens: list[Token] = []
    clause = sentence = 0
    b = 0
    n_breaks = len(breaks)
    for match in _TOKEN.finditer(folded):
        start, end = match.span()
        while b < n_breaks and breaks[b][0] < start:
            clause += 1
            sentence += breaks[b][1]
            b += 1
        raw = match.group()
        forms = _FORMS.get(raw)
        if forms is None:
            forms = _word_forms(raw)
        tokens.append(_new_token(forms[0], forms[1], start, end, clause, sentence))
    return tokens


_FORMS: dict[str, tuple[str, str]] = {}
"""Folded word -> (accent-free text, stem): one dict lookup per token on the hot path."""
_FORMS_MAX = 200_000


def _word_forms(raw: str) -> tuple[str, str]:
    word = _strip_accents(raw.replace(".", "") if raw.endswith(".") else raw)
    forms = (word, stem(word))
    if len(_FORMS) >= _FORMS_MAX:  # bounded: memory stays flat on endless input
        _FORMS.clear()
    _FORMS[raw] = forms
    return forms


def _token_builder() -> Callable[[str, str, int, int, int, int], Token]:
    """A constructor of :class:`Token` that fills the slots directly.

    Same objects as ``Token(...)``; skips the frozen dataclass ``__init__`` (six
    ``object.__setattr__`` calls), which was the largest cost of tokenising an answer.
    """
    new = object.__new__
    setters = [Token.__dict__[name].__set__ for name in ("text", "stem", "start", "end", "clause", "sentence")]
    set_text, set_stem, set_start, set_end, set_clause, set_sentence = setters

    def build(text: str, stem_: str, start: int, end: int, clause: int, sentence: int) -> Token:
        token = new(Token)
        set_text(token, text)
        set_stem(token, stem_)
        set_start(token, start)
        set_end(token, end)
        set_clause(token, clause)
        set_sentence(token, sentence)
        return token

    return build


_new_token = _token_builder()


@lru_cache(maxsize=100_000)
def _strip_accents(word: str) -> str:
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)) or word


def is_content(token: Token) -> bool:
    """True for tokens that carry meaning: not a stop word, not a bare number of one digit."""
    text = token.text  # called for every token of every answer: one attribute read
    return text not in STOP_WORDS and len(text) > 1 or text.isdigit() and len(text) == 4


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
