"""TF-IDF similarity to the model answer, with words that merely repeat the question demoted.

Two views are combined: word stems (unigrams and bigrams) and character n-grams (which
forgive misspellings). Both are fitted on the sentences of the model answer plus the
question, so the vocabulary is the model answer's, and every feature made only of question
words is multiplied by ``question_word_weight``: copying the question earns (almost) nothing.
Range of every similarity: [0, 1]; an empty text has similarity 0.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy import sparse
from sklearn import preprocessing
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer

from grader.text import NEGATION_CUES, Token, is_content, normalize, tokenize

WORD_SHARE = 0.6
"""Weight of the word view in the combined similarity; the character view gets the rest."""
_NGRAM_RANGE = (3, 5)
"""Character n-gram lengths of the character view (within word boundaries: ``char_wb``)."""

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def word_features(text: str) -> list[str]:
    """Content-word stems of ``text`` and the bigrams of consecutive ones.

    >>> word_features("Stalin's purges ended")
    ['stalin', 'purg', 'end', 'stalin purg', 'purg end']
    """
    return _token_features(tokenize(text))


def _token_features(tokens: Sequence[Token]) -> list[str]:
    """:func:`word_features` of text already tokenised."""
    stems = [t.stem for t in tokens if t.text not in NEGATION_CUES and is_content(t)]
    return stems + [f"{a} {b}" for a, b in zip(stems, stems[1:])]


class _WordFeatures(list):  # type: ignore[type-arg]
    """Word features computed already from tokens; the word analyzer passes them through."""

    __slots__ = ()


def _word_analyzer(doc: str | _WordFeatures) -> list[str]:
    """The word view's analyzer: :func:`word_features`, or features prepared from tokens."""
    return doc if isinstance(doc, _WordFeatures) else word_features(doc)


def split_sentences(text: str) -> list[str]:
    """Split text into sentences at ., ! or ? followed by space."""
    return [s for s in _SENTENCE.split(normalize(text).strip()) if s]


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
        self.word_vectorizer_ = TfidfVectorizer(analyzer=_word_analyzer, sublinear_tf=True)
        try:
            self.word_vectorizer_.fit(docs)
        except ValueError:  # no content word anywhere (model answer "4"): every similarity is 0
            self.word_vectorizer_.fit([_WordFeatures(["\x00"])])
        self.word_scale_ = self._feature_scale(self.word_vectorizer_.get_feature_names_out())
        self.char_vectorizer_ = TfidfVectorizer(
            analyzer="char_wb", ngram_range=_NGRAM_RANGE, sublinear_tf=True, preprocessor=self._char_text
        )
        try:
            self.char_vectorizer_.fit(docs)
        except ValueError:  # the model answer only repeats question words: no character view
            self.char_vectorizer_ = None
        self.model_word_ = self._word_matrix(references)
        self.model_char_ = self._char_matrix(references) if self.char_vectorizer_ is not None else None
        return self

    def _feature_scale(self, names: np.ndarray) -> sparse.dia_matrix:
        q = self.question_stems_
        scale = np.array(
            [self.question_word_weight if all(p in q for p in name.split(" ")) else 1.0 for name in names]
        )
        return sparse.diags(scale)

    def _char_text(self, text: str) -> str:
        return self._char_text_of(tokenize(text))

    def _char_text_of(self, tokens: Sequence[Token]) -> str:
        q = self.question_stems_
        return " ".join(t.text for t in tokens if t.stem not in q and is_content(t))

    def _word_matrix(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return _l2_rows(self.word_vectorizer_.transform(texts) @ self.word_scale_)

    def _char_matrix(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return _l2_rows(self.char_vectorizer_.transform(texts))

    def similarity(self, texts: Sequence[str]) -> np.ndarray:
        """Combined similarity of each text to the model answer, one sparse transform per view."""
        if not hasattr(self, "model_word_"):
            raise NotFittedError("SimilarityModel is not fitted yet: call fit(model_answer, question=...) first.")
        if len(texts) == 0:
            return np.zeros(0)
        return self._combined(texts, texts)

    def similarity_of_tokens(self, token_lists: Sequence[Sequence[Token]]) -> np.ndarray:
        """:meth:`similarity` of texts already split by :func:`grader.text.tokenize` (same values).

        Lets a scorer tokenise each answer once for matching and both similarity views.
        """
        if not hasattr(self, "model_word_"):
            raise NotFittedError("SimilarityModel is not fitted yet: call fit(model_answer, question=...) first.")
        if len(token_lists) == 0:
            return np.zeros(0)
        # Features outside the fitted vocabularies are dropped here rather than by the
        # vectorizers (same counts, same matrices): most of an answer's n-grams are unknown.
        vocab = self.word_vectorizer_.vocabulary_
        words = [_WordFeatures(f for f in _token_features(tokens) if f in vocab) for tokens in token_lists]
        if self.char_vectorizer_ is None:
            return self._combined(words, [])
        char_counts = _char_wb_counts(
            [self._char_text_of(tokens) for tokens in token_lists], self.char_vectorizer_.vocabulary_
        )
        return self._combined(words, char_counts)

    def _combined(self, word_docs: Sequence[str], char_docs: Sequence[str] | sparse.csr_matrix) -> np.ndarray:
        # one column per reference (the model answer, then any alternatives): the best one counts
        word = np.asarray((self._word_matrix(word_docs) @ self.model_word_.T).todense())
        if self.char_vectorizer_ is None:
            return np.clip(word.max(axis=1), 0.0, 1.0)
        if sparse.issparse(char_docs):  # counts over the vocabulary: TF-IDF them as the vectorizer would
            chars = _l2_rows(self._char_tfidf().transform(char_docs))
        else:
            chars = self._char_matrix(char_docs)  # type: ignore[arg-type]
        char = np.asarray((chars @ self.model_char_.T).todense())
        return np.clip((WORD_SHARE * word + (1 - WORD_SHARE) * char).max(axis=1), 0.0, 1.0)

    def _char_tfidf(self) -> TfidfTransformer:
        """The character view's TF-IDF weighting (the fitted vectorizer's IDF), for prepared counts."""
        if getattr(self, "char_tfidf_", None) is None:
            v = self.char_vectorizer_
            tfidf = TfidfTransformer(norm=v.norm, use_idf=v.use_idf, smooth_idf=v.smooth_idf, sublinear_tf=v.sublinear_tf)
            tfidf.idf_ = v.idf_
            self.char_tfidf_ = tfidf
        return self.char_tfidf_


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


def _char_wb_counts(texts: Sequence[str], vocabulary: dict[str, int]) -> sparse.csr_matrix:
    """Counts of the known ``char_wb`` n-grams of each text (rows), as CountVectorizer.transform builds them."""
    indptr = [0]
    indices: list[int] = []
    values: list[int] = []
    get = vocabulary.get
    for text in texts:
        counts: dict[int, int] = {}
        for word in text.split():
            for gram in _word_ngrams(word):
                j = get(gram)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
        indices.extend(counts)
        values.extend(counts.values())
        indptr.append(len(indices))
    matrix = sparse.csr_matrix(
        (np.asarray(values, dtype=np.float64), np.asarray(indices, dtype=np.int32), np.asarray(indptr, dtype=np.int32)),
        shape=(len(texts), len(vocabulary)),
    )
    matrix.sort_indices()
    return matrix


def _l2_rows(matrix: sparse.spmatrix) -> sparse.csr_matrix:
    """Each row scaled to unit length (empty rows stay empty)."""
    return preprocessing.normalize(sparse.csr_matrix(matrix), norm="l2", axis=1)


def tfidf_cosine(answer: str, reference: str) -> float:
    """Bare TF-IDF cosine between two texts (the baseline scorers are compared with).

    Fitted on the two texts alone with sklearn's English stop words; range [0, 1].

    >>> round(tfidf_cosine("the cat sat", "the cat sat"), 3)
    1.0
    """
    if not answer.strip() or not reference.strip():
        return 0.0
    vec = TfidfVectorizer(stop_words="english")
    try:
        m = vec.fit_transform([reference, answer])
    except ValueError:  # only stop words
        return 0.0
    return float((m[0] @ m[1].T).toarray()[0, 0])
