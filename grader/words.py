"""Word weights learned from many graded answers: which words and word pairs go with higher scores.

:func:`fit_word_weights` fits a ridge regression of the score fraction on the presence of
words and word pairs (lower-cased, accents stripped; only those in at least
:data:`MIN_DF` answers, at most :data:`MAX_TERMS` kept), with the penalty chosen by
5-fold cross-validation, and returns the weights and the out-of-fold predictions of the
graded answers. A prediction
is the intercept plus the weights of the terms an answer contains, so it explains itself:
"these words raised the score, those lowered it".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer

MIN_DF = 3
MAX_TERMS = 3000
ALPHAS = (0.3, 1.0, 3.0, 10.0, 30.0)
TOKEN_PATTERN = r"(?u)\b\w+\b"


def _vectorizer(vocabulary: Sequence[str] | None = None, *, min_df: int = MIN_DF) -> CountVectorizer:
    return CountVectorizer(ngram_range=(1, 2), binary=True, lowercase=True, strip_accents="unicode",
                           token_pattern=TOKEN_PATTERN, min_df=1 if vocabulary is not None else min_df,
                           vocabulary=list(vocabulary) if vocabulary is not None else None, dtype=np.float64)


@dataclass(frozen=True)
class WordWeights:
    """Weights of terms (fraction of max_score each adds when present) and the intercept."""

    weights: dict[str, float]
    intercept: float

    @cached_property
    def _model(self) -> tuple[CountVectorizer, np.ndarray]:
        terms = sorted(self.weights)
        return _vectorizer(terms).fit([]), np.array([self.weights[t] for t in terms])

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Intercept plus the weights of the terms each text contains."""
        if not self.weights:
            return np.full(len(texts), self.intercept)
        vectorizer, weights = self._model
        x = vectorizer.transform([t if isinstance(t, str) else "" for t in texts])
        return x @ weights + self.intercept

    def top(self, text: str, *, count: int = 3) -> tuple[list[str], list[str]]:
        """The terms of ``text`` that raised its score most and those that lowered it most."""
        found = _vectorizer(sorted(self.weights)).build_analyzer()(text) if self.weights else []
        present = sorted({t for t in found if t in self.weights}, key=lambda t: (-self.weights[t], t))
        up = [t for t in present if self.weights[t] > 0][:count]
        down = [t for t in reversed(present) if self.weights[t] < 0][:count]
        return up, down


def fit_word_weights(texts: Sequence[str], y: Sequence[float], *, alphas: Sequence[float] = ALPHAS, folds: int = 5) -> tuple[WordWeights, np.ndarray]:
    """(weights, out-of-fold predictions of ``texts``) of a ridge on term presence.

    The penalty is the one of least out-of-fold squared error over ``folds`` folds
    (shuffled with seed 0); the weights are then refitted on every text.

    >>> w, oof = fit_word_weights(["good answer", "good one", "bad answer", "bad one", "good", "bad"] * 2,
    ...                           [1, 1, 0, 0, 1, 0] * 2, alphas=[0.1])
    >>> w.weights["good"] > 0 > w.weights["bad"]
    True
    """
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold

    y = np.asarray(y, dtype=float)
    docs = [t if isinstance(t, str) else "" for t in texts]
    n = len(y)
    try:
        vec = _vectorizer(min_df=min(MIN_DF, max(1, n // 4)))
        x = vec.fit_transform(docs).tocsr()
    except ValueError:  # no term in enough answers
        return WordWeights({}, float(y.mean())), np.full(n, float(y.mean()))
    splits = list(KFold(n_splits=min(folds, n), shuffle=True, random_state=0).split(np.zeros(n)))
    best: tuple[float, float, np.ndarray] | None = None
    for alpha in alphas:
        oof = np.zeros(n)
        for train, test in splits:
            oof[test] = Ridge(alpha=alpha, solver="lsqr").fit(x[train], y[train]).predict(x[test])
        err = float(np.mean((oof - y) ** 2))
        if best is None or err < best[0] - 1e-12:
            best = (err, float(alpha), oof)
    assert best is not None
    _, alpha, oof = best
    model = Ridge(alpha=alpha, solver="lsqr").fit(x, y)
    coef, intercept = model.coef_, float(model.intercept_)
    names = vec.get_feature_names_out()
    keep = [j for j in np.argsort(-np.abs(coef), kind="stable")[:MAX_TERMS] if abs(coef[j]) >= 1e-6]
    weights = {str(names[j]): round(float(coef[j]), 6) for j in sorted(keep)}
    # the dropped terms' mean contribution moves into the intercept
    dropped = np.ones(len(coef), dtype=bool)
    dropped[keep] = False
    intercept += float(np.asarray(x[:, dropped].mean(axis=0)).ravel() @ coef[dropped]) if dropped.any() else 0.0
    return WordWeights(weights, round(intercept, 6)), oof


def word_weights_from(data: Mapping[str, float] | None, intercept: float) -> WordWeights | None:
    """:class:`WordWeights` from stored data (None when there are none)."""
    return None if not data else WordWeights(dict(data), intercept)
