"""TF-IDF similarity to the model answer, with words that merely repeat the question demoted.

Two views are combined: word stems (unigrams and bigrams) and character n-grams (which
forgive misspellings). Both are fitted on the sentences of the model answer plus the
question, so the vocabulary is the model answer's, and every feature made only of question
words is multiplied by ``question_word_weight``: copying the question earns (almost) nothing.
Range of every similarity: [0, 1]; an empty text has similarity 0.

The TF-IDF is scikit-learn's ``TfidfVectorizer(sublinear_tf=True)`` (smoothed IDF, 1 + log
of the counts, rows of unit length) computed here on sparse vectors held as dicts, so that
scoring does not import scikit-learn (seconds at every ``grader score``); the character
view's n-grams are its ``char_wb`` n-grams. ``tests/test_similarity.py`` checks the values
against scikit-learn's to 1e-9.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, repeat
from operator import mul
from typing import TYPE_CHECKING

from grader.text import MAX_CACHED_WORD, Token, content_word, content_word_not_cue, normalize, tally, tokenize

WORD_SHARE = 0.6
"""Weight of the word view in the combined similarity; the character view gets the rest."""
_NGRAM_RANGE = (3, 5)
"""Character n-gram lengths of the character view (within word boundaries: ``char_wb``)."""

_NGRAM_CACHE_MAX = 50_000
"""Words whose known character n-grams a fitted model remembers."""

_SENTENCE = re.compile(r"(?<=[.!?])\s+")

if TYPE_CHECKING:
    import numpy as np

SparseVector = dict[int, float]
"""A row of a TF-IDF matrix: feature index -> weight (absent features are 0)."""

_SUBLINEAR_TF = {c: math.log(c) + 1.0 for c in range(1, 64)}
"""``1 + ln(count)`` of the small counts, read from a table (the same floats, no call per feature; all >= 1)."""


def word_features(text: str) -> list[str]:
    """Content-word stems of ``text`` and the bigrams of consecutive ones.

    >>> word_features("Stalin's purges ended")
    ['stalin', 'purg', 'end', 'stalin purg', 'purg end']
    """
    return _token_features(tokenize(text))


def _token_features(tokens: Sequence[Token]) -> list[str]:
    """:func:`word_features` of text already tokenised."""
    stems = [t.stem for t in tokens if content_word_not_cue(t.text)]
    return stems + [f"{a} {b}" for a, b in zip(stems, stems[1:])]


def split_sentences(text: str) -> list[str]:
    """Split text into sentences at ., ! or ? followed by space."""
    return [s for s in _SENTENCE.split(normalize(text).strip()) if s]


@dataclass(frozen=True)
class Tfidf:
    """A fitted TF-IDF weighting: scikit-learn's ``TfidfVectorizer(sublinear_tf=True)`` defaults.

    ``vocabulary_`` maps each feature to its column (features in sorted order, as
    scikit-learn numbers them); ``idf_[j]`` is ``ln((1 + n) / (1 + df_j)) + 1`` for ``n``
    fitted documents of which ``df_j`` contain feature ``j``.
    """

    vocabulary_: dict[str, int]
    idf_: tuple[float, ...]

    def vector(self, counts: Mapping[int, int], scale: Sequence[float] | None = None) -> SparseVector:
        """Unit-length TF-IDF row of feature ``counts`` (1 + ln count, times IDF), optionally
        multiplied column-wise by ``scale`` and brought back to unit length (an empty row stays empty)."""
        idf = self.idf_
        tf = _SUBLINEAR_TF.get
        row = _unit({j: (tf(c) or math.log(c) + 1.0) * idf[j] for j, c in counts.items()})
        if scale is not None:
            row = _unit({j: w * scale[j] for j, w in row.items()})
        return row


def fit_tfidf(documents: Iterable[Sequence[str]]) -> Tfidf:
    """:class:`Tfidf` fitted on documents given as their features (smoothed IDF, as scikit-learn).

    Raises ``ValueError`` when no document has a feature (scikit-learn's "empty vocabulary").

    >>> t = fit_tfidf([["gulag", "thaw"], ["thaw"]])
    >>> t.vocabulary_, [round(x, 4) for x in t.idf_]
    ({'gulag': 0, 'thaw': 1}, [1.4055, 1.0])
    """
    df: dict[str, int] = {}
    n = 0
    for features in documents:
        n += 1
        for f in set(features):
            df[f] = df.get(f, 0) + 1
    if not df:
        raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
    names = sorted(df)
    return Tfidf({f: j for j, f in enumerate(names)}, tuple(math.log((n + 1) / (df[f] + 1)) + 1.0 for f in names))


def _unit(row: SparseVector) -> SparseVector:
    """``row`` scaled to unit Euclidean length (unchanged if its length is 0)."""
    weights = row.values()
    norm = math.sqrt(sum(map(mul, weights, weights)))  # the same products, summed in the same order
    if norm == 0.0:
        return row
    return {j: w / norm for j, w in row.items()}


def _dot(a: SparseVector, b: SparseVector) -> float:
    """Dot product of two sparse rows."""
    if len(a) > len(b):
        a, b = b, a
    return sum(map(mul, a.values(), map(b.get, a.keys(), repeat(0.0))))  # in a's order, as a loop would


def _counts(features: Iterable[str], vocabulary: Mapping[str, int]) -> dict[int, int]:
    """How often each known feature occurs (unknown features are dropped, as scikit-learn's transform does)."""
    counts = tally(map(vocabulary.get, features))  # in order of first occurrence
    counts.pop(None, None)  # type: ignore[call-overload]
    return counts


class SimilarityModel:
    """Cosine similarity of answers to one model answer, in word and character TF-IDF space.

    Parameters
    ----------
    question_word_weight : float
        Multiplier for features made only of words of the question (0 removes them).

    Examples
    --------
    >>> m = SimilarityModel().fit("Khrushchev denounced Stalin in 1956.", question="Who denounced Stalin?")
    >>> float(m.similarity(["Khrushchev denounced Stalin in 1956."])[0]) > 0.99
    True
    """

    def __init__(self, *, question_word_weight: float = 0.15) -> None:
        self.question_word_weight = question_word_weight

    def fit(
        self, model_answer: str, *, question: str = "", extra: Sequence[str] = (), alternatives: Sequence[str] = ()
    ) -> "SimilarityModel":
        """Learn vocabularies and IDF from the model answer's sentences, the question and ``extra``.

        ``alternatives`` are other acceptable answers: an answer's similarity is the best of
        its similarities to the model answer and to each of them.
        """
        references = [model_answer, *(a for a in alternatives if a.strip())]
        docs = split_sentences(model_answer) + [normalize(question)] + [normalize(e) for e in (*extra, *references[1:])]
        docs = [d for d in docs if d.strip()] or [model_answer]
        self.question_stems_ = frozenset(f for f in word_features(question) if " " not in f)
        doc_tokens = [tokenize(d) for d in docs]
        try:
            self.word_vectorizer_ = fit_tfidf(_token_features(t) for t in doc_tokens)
        except ValueError:  # no content word anywhere (model answer "4"): every similarity is 0
            self.word_vectorizer_ = fit_tfidf([["\x00"]])
        self.word_scale_ = self._feature_scale(self.word_vectorizer_.vocabulary_)
        try:
            self.char_vectorizer_: Tfidf | None = fit_tfidf(
                [g for word in self._char_text_of(t).split() for g in _word_ngrams(word)] for t in doc_tokens
            )
        except ValueError:  # the model answer only repeats question words: no character view
            self.char_vectorizer_ = None
        self._ngram_cache: dict[str, tuple[int, ...]] = {}  # word -> known n-gram columns (of this vocabulary)
        ref_tokens = [tokenize(r) for r in references]
        self.model_word_ = [self._word_vector(t) for t in ref_tokens]
        self.model_char_ = [self._char_vector(t) for t in ref_tokens] if self.char_vectorizer_ is not None else None
        return self

    def _feature_scale(self, vocabulary: Mapping[str, int]) -> tuple[float, ...]:
        """Per word feature (by column): ``question_word_weight`` if made only of question stems, else 1."""
        q = self.question_stems_
        names = sorted(vocabulary, key=vocabulary.__getitem__)
        return tuple(self.question_word_weight if all(p in q for p in name.split(" ")) else 1.0 for name in names)

    def _char_text_of(self, tokens: Sequence[Token]) -> str:
        q = self.question_stems_
        return " ".join([t.text for t in tokens if t.stem not in q and content_word(t.text)])

    def _word_vector(self, tokens: Sequence[Token]) -> SparseVector:
        """Word-view row of a tokenised text: TF-IDF, question features demoted, unit length."""
        tfidf = self.word_vectorizer_
        return tfidf.vector(_counts(_token_features(tokens), tfidf.vocabulary_), self.word_scale_)

    def _char_vector(self, tokens: Sequence[Token]) -> SparseVector:
        """Character-view row of a tokenised text (``char_wb`` n-grams of its content words)."""
        tfidf = self.char_vectorizer_
        assert tfidf is not None
        words = self._char_text_of(tokens).split()  # a token's text may hold a space (NFKD): split, as the fit does
        return tfidf.vector(tally(chain.from_iterable(map(self._known_ngrams, words))))  # first-seen order

    def _known_ngrams(self, word: str) -> tuple[int, ...]:
        """Columns of the character n-grams of ``word`` that are in the vocabulary (cached per word:
        most of an answer's n-grams are unknown, and words repeat across answers)."""
        cache = self._ngram_cache
        known = cache.get(word)
        if known is None:
            get = self.char_vectorizer_.vocabulary_.get  # type: ignore[union-attr]
            if len(word) > MAX_CACHED_WORD:  # a 20,000-letter "word" is not worth keeping
                return tuple(j for j in map(get, _word_ngrams.__wrapped__(word)) if j is not None)
            known = tuple(j for j in map(get, _word_ngrams(word)) if j is not None)
            if len(cache) >= _NGRAM_CACHE_MAX:  # bounded: memory stays flat on endless input
                cache.clear()
            cache[word] = known
        return known

    def similarity(self, texts: Sequence[str]) -> np.ndarray:
        """Combined similarity of each text to the model answer, as an array."""
        return self.similarity_of_tokens([tokenize(t) for t in texts])

    def similarity_of_tokens(self, token_lists: Sequence[Sequence[Token]]) -> np.ndarray:
        """:meth:`similarity` of texts already split by :func:`grader.text.tokenize` (same values)."""
        import numpy as np  # not at module level: the scorer uses similarities(), and one answer needs no numpy

        return np.array(self.similarities(token_lists), dtype=np.float64)

    def similarities(self, token_lists: Sequence[Sequence[Token]]) -> list[float]:
        """:meth:`similarity_of_tokens` as a list of floats.

        Lets a scorer tokenise each answer once for matching and both similarity views.
        """
        if not hasattr(self, "model_word_"):
            from sklearn.exceptions import NotFittedError  # an error path only: scoring never imports sklearn

            raise NotFittedError("SimilarityModel is not fitted yet: call fit(model_answer, question=...) first.")
        return [self._one(tokens) for tokens in token_lists]

    def _one(self, tokens: Sequence[Token]) -> float:
        """Similarity of one tokenised text: the best over the references (model answer, alternatives)."""
        word = self._word_vector(tokens)
        sims = [_dot(word, ref) for ref in self.model_word_]
        if self.model_char_ is not None:
            char = self._char_vector(tokens)
            sims = [WORD_SHARE * w + (1 - WORD_SHARE) * _dot(char, ref) for w, ref in zip(sims, self.model_char_)]
        return min(1.0, max(0.0, max(sims)))


@lru_cache(maxsize=100_000)
def _word_ngrams(word: str) -> tuple[str, ...]:
    """Character n-grams of one space-padded word, exactly as scikit-learn's ``char_wb`` makes them."""
    w = " " + word + " "
    w_len = len(w)
    out = []
    for n in range(_NGRAM_RANGE[0], _NGRAM_RANGE[1] + 1):
        offset = 0
        out.append(w[offset : offset + n])
        while offset + n < w_len:
            offset += 1
            out.append(w[offset : offset + n])
        if offset == 0:  # a short word counts once
            break
    return tuple(out)


def tfidf_cosine(answer: str, reference: str) -> float:
    """Bare TF-IDF cosine between two texts (the baseline scorers are compared with).

    Fitted on the two texts alone with sklearn's English stop words; range [0, 1].

    >>> round(tfidf_cosine("the cat sat", "the cat sat"), 3)
    1.0
    """
    if not answer.strip() or not reference.strip():
        return 0.0
    from sklearn.feature_extraction.text import TfidfVectorizer  # the baseline only; scoring does not need it

    vec = TfidfVectorizer(stop_words="english")
    try:
        m = vec.fit_transform([reference, answer])
    except ValueError:  # only stop words
        return 0.0
    return float((m[0] @ m[1].T).toarray()[0, 0])
