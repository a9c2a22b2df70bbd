"""The copied Snowball English stemmer and stop words are NLTK's and scikit-learn's, word for word.

grader does not import nltk or scikit-learn to tokenise (importing them costs seconds at
every ``grader score``); these tests import them to check the copies still match.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

from conftest import REPO
from grader.snowball import stem_english
from grader.text import SKLEARN_STOP_WORDS, _TOKEN, _fold, _strip_accents

DATASETS = REPO.parent / "shared" / "datasets"
TEXT_COLUMNS = ("student_answer", "reference_answer")
"""Columns of the public data sets' CSVs that hold answer text (datasets README)."""


def _texts(path: Path) -> list[str]:
    """The answer and reference texts of one data-set CSV (columns it lacks are skipped)."""
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        columns = [c for c in TEXT_COLUMNS if c in (reader.fieldnames or [])]
        return [row[c] for row in reader for c in columns if row[c]]


def _stemmer_inputs(texts: list[str]) -> set[str]:
    """Every distinct word the stemmer can be given for ``texts``: tokens as grader.text
    folds them, with and without accents, possessives and hyphens (what ``grader.text.stem``
    passes on), plus the raw tokens themselves."""
    words: set[str] = set()
    for text in texts:
        words.update(m.group() for m in _TOKEN.finditer(_fold(text)))
    inputs = set(words)
    for word in words:
        plain = _strip_accents(word.rstrip("."))
        plain = plain[:-2] if plain.endswith("'s") else plain
        plain = plain.replace("'", "")
        inputs.add(plain)
        inputs.update(part for part in plain.split("-") if part)
    return inputs


@pytest.fixture(scope="module")
def public_words() -> set[str]:
    files = sorted(DATASETS.glob("*/*.csv"))
    if not files:
        pytest.skip(f"public data sets not found in {DATASETS}")
    texts = [t for f in files for t in _texts(f)]
    samples = sorted((REPO / "samples").glob("*/*.csv"))  # the bundled samples too
    for path in samples:
        with path.open(encoding="utf-8", newline="") as fh:
            texts += [v for row in csv.DictReader(fh) for k, v in row.items() if k in ("answer", "model_answer") and v]
    return _stemmer_inputs(texts)


def test_stems_equal_nltk_on_every_distinct_word_of_the_public_data(public_words: set[str]) -> None:
    from nltk.stem.snowball import SnowballStemmer

    nltk_stem = SnowballStemmer("english").stem
    assert len(public_words) > 20_000  # the data sets were read
    differ = sorted(w for w in public_words if stem_english(w) != nltk_stem(w))
    assert differ == []


@pytest.mark.parametrize(
    "word",
    ["", "a", "ab", "'s", "y", "yy", "sky", "skies", "dying", "generous", "communism", "arsenal", "proceeding",
     "news", "ugly", "'quoted'", "o'clock", "x-ray", "café", "naïve", "straße", "1956", "ıi", "ABCDE", "Ύ"],
)
def test_stems_equal_nltk_on_special_cases(word: str) -> None:
    from nltk.stem.snowball import SnowballStemmer

    assert stem_english(word) == SnowballStemmer("english").stem(word)


def test_stop_words_equal_scikit_learn() -> None:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    assert SKLEARN_STOP_WORDS == ENGLISH_STOP_WORDS
