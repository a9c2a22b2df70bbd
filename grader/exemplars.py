"""Graded answers as exemplars: nearest neighbours in word and character TF-IDF space.

:class:`ExemplarIndex` is fitted on the texts of graded answers (its vocabulary and IDF
are theirs) and answers, for any new text, its similarity to every exemplar (range
[0, 1]; the mean of a word-unigram-and-bigram cosine and a character 2-5-gram cosine,
which forgives misspellings; an empty text has similarity 0) and nearest-neighbour
features: the similarity-weighted mean score of the ``k`` nearest, of the 3 nearest, the
score of the nearest, its similarity, and how much the ``k`` nearest disagree.
Deterministic: the same exemplars give the same index.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer

KNN_FEATURES = ("knn_mean", "knn3_mean", "nearest_score", "nearest_similarity", "knn_spread")
WORD_SHARE = 0.5
MANY_EXEMPLARS = 200
COMMON_NGRAM_SHARE = 0.2


class ExemplarIndex:
    """Similarity of texts to graded exemplars and k-nearest-neighbour score features.

    Parameters
    ----------
    k : int
        Neighbours in the weighted mean (fewer when there are fewer exemplars).

    Examples
    --------
    >>> idx = ExemplarIndex(k=2).fit(["the cell wall", "mitochondria make energy"], [1.0, 0.0])
    >>> idx.similarities(["the cell wall"]).round(2).tolist()
    [[1.0, 0.0]]
    """

    def __init__(self, *, k: int = 10) -> None:
        self.k = k

    def fit(self, texts: Sequence[str], scores: Sequence[float]) -> "ExemplarIndex":
        """Learn the vocabularies from ``texts``; ``scores`` (one per text) are what neighbours vote."""
        if len(texts) != len(scores) or not len(texts):
            raise ValueError(f"need one score per text and at least one text. Got {len(texts)} texts, {len(scores)} scores")
        self.scores_ = np.asarray(scores, dtype=float)
        self.word_ = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode", token_pattern=r"(?u)\b\w+\b")
        # With many exemplars, n-grams in more than a fifth of them carry little weight and
        # cost most of the similarity product (its cost grows with the square of their counts).
        max_df = COMMON_NGRAM_SHARE if len(texts) >= MANY_EXEMPLARS else 1.0
        self.char_ = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, strip_accents="unicode",
                                     lowercase=True, max_df=max_df)
        docs = [t if isinstance(t, str) else "" for t in texts]
        self.word_matrix_ = self._fit_view(self.word_, docs)
        self.char_matrix_ = self._fit_view(self.char_, docs)
        return self

    @staticmethod
    def _fit_view(vectorizer: TfidfVectorizer, docs: list[str]) -> sparse.csr_matrix | None:
        try:
            return vectorizer.fit_transform(docs).tocsr()
        except ValueError:  # no word at all in any exemplar
            return None

    def similarities(self, texts: Sequence[str]) -> np.ndarray:
        """Dense (len(texts), n_exemplars) similarities in [0, 1]."""
        if not hasattr(self, "scores_"):
            raise NotFittedError("ExemplarIndex is not fitted yet: call fit(texts, scores) first.")
        docs = [t if isinstance(t, str) else "" for t in texts]
        total = np.zeros((len(docs), len(self.scores_)))
        for share, vec, mat in ((WORD_SHARE, self.word_, self.word_matrix_), (1 - WORD_SHARE, self.char_, self.char_matrix_)):
            if mat is not None and docs:
                total += share * (vec.transform(docs) @ mat.T).toarray()
        return np.clip(total, 0.0, 1.0)

    def self_similarities(self) -> np.ndarray:
        """Similarities of the exemplars to each other (the diagonal is set to -1: a text is not its own neighbour)."""
        n = len(self.scores_)
        total = np.zeros((n, n))
        for share, mat in ((WORD_SHARE, self.word_matrix_), (1 - WORD_SHARE, self.char_matrix_)):
            if mat is not None:
                total += share * (mat @ mat.T).toarray()
        total = np.clip(total, 0.0, 1.0)
        np.fill_diagonal(total, -1.0)
        return total

    def neighbours(self, sims: np.ndarray, *, count: int) -> np.ndarray:
        """Indices of the ``count`` most similar exemplars per row, most similar first (ties: lower index first)."""
        count = min(count, sims.shape[1])
        if count < sims.shape[1] // 4:  # select first, then sort only the selected
            part = np.argpartition(-sims, count - 1, axis=1)[:, :count]
            keys = np.take_along_axis(sims, part, axis=1)
            order = np.lexsort((part, -keys), axis=1) if part.size else part
            return np.take_along_axis(part, order, axis=1)
        order = np.argsort(-sims, axis=1, kind="stable")
        return order[:, :count]

    def features(self, sims: np.ndarray, *, k: int | None = None) -> np.ndarray:
        """(n, 5) features in the order of :data:`KNN_FEATURES`, from a similarity matrix.

        Rows of ``sims`` with value -1 (excluded exemplars) never count as neighbours;
        ``k`` overrides the index's own.
        """
        n_ex = sims.shape[1]
        k = min(k or self.k, n_ex - 1 if np.any(sims < 0) else n_ex) or 1
        top = self.neighbours(sims, count=k)
        s = np.take_along_axis(sims, top, axis=1).clip(min=0.0)
        y = self.scores_[top]
        w = s**2 + 1e-6
        mean = (w * y).sum(1) / w.sum(1)
        k3 = min(3, k)
        mean3 = (w[:, :k3] * y[:, :k3]).sum(1) / w[:, :k3].sum(1)
        spread = np.sqrt((w * (y - mean[:, None]) ** 2).sum(1) / w.sum(1))
        return np.column_stack([mean, mean3, y[:, 0], s[:, 0], spread])
