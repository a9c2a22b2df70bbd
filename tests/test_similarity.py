"""TF-IDF similarity: range, empty input, self-similarity, question words demoted, fitting."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from grader.similarity import SimilarityModel, split_sentences, tfidf_cosine, word_features

QUESTION = "How did de-Stalinization change the political landscape of the Soviet Union?"
MODEL = (
    "Khrushchev denounced Stalin's cult of personality in the Secret Speech of 1956. "
    "Political prisoners were released from the gulag and censorship was relaxed during the Thaw. "
    "The Soviet Union nevertheless remained a one-party state."
)


@pytest.fixture(scope="module")
def model() -> SimilarityModel:
    return SimilarityModel(question_word_weight=0.15).fit(MODEL, question=QUESTION)


def test_word_features_are_content_stems_and_bigrams() -> None:
    assert word_features("Stalin's purges were not ended") == ["stalin", "purg", "end", "stalin purg", "purg end"]
    assert word_features("") == []
    assert "not" not in word_features("not repeated")


def test_split_sentences() -> None:
    assert split_sentences("One. Two!  Three? four") == ["One.", "Two!", "Three?", "four"]
    assert split_sentences("In 1956.5 cases") == ["In 1956.5 cases"]
    assert split_sentences("") == []


def test_self_similarity_is_about_one(model: SimilarityModel) -> None:
    assert model.similarity([MODEL])[0] == pytest.approx(1.0, abs=1e-6)


def test_range_and_order(model: SimilarityModel) -> None:
    texts = [
        MODEL,
        "Khrushchev's Secret Speech denounced Stalin and prisoners were released from the gulag.",
        "After Stalin, writers had more freedom.",
        "Photosynthesis turns light into chemical energy in plants.",
        "",
    ]
    sims = model.similarity(texts)
    assert sims.shape == (5,)
    assert np.all((sims >= 0) & (sims <= 1))
    assert sims[0] > sims[1] > sims[2] > sims[3]
    assert sims[4] == 0.0


def test_one_call_equals_many_calls(model: SimilarityModel) -> None:
    texts = ["The Thaw relaxed censorship.", "Stalin's cult of personality was denounced in 1956."]
    together = model.similarity(texts)
    apart = np.array([model.similarity([t])[0] for t in texts])
    assert together == pytest.approx(apart)


@pytest.mark.parametrize("texts", [[], ["", "   ", "?!"]])
def test_empty_input(model: SimilarityModel, texts: list[str]) -> None:
    sims = model.similarity(texts)
    assert len(sims) == len(texts)
    assert np.all(sims == 0.0)


def test_copying_the_question_is_demoted() -> None:
    copy = "De-Stalinization changed the political landscape of the Soviet Union."
    demoted = SimilarityModel(question_word_weight=0.15).fit(MODEL, question=QUESTION).similarity([copy])[0]
    plain = SimilarityModel(question_word_weight=1.0).fit(MODEL, question=QUESTION).similarity([copy])[0]
    assert demoted < 0.1
    assert plain > 2 * demoted


def test_question_word_weight_zero_removes_question_words() -> None:
    m = SimilarityModel(question_word_weight=0.0).fit(MODEL, question=QUESTION)
    assert m.similarity(["Soviet Union political"])[0] == pytest.approx(0.0, abs=0.05)


def test_misspellings_keep_some_similarity(model: SimilarityModel) -> None:
    right, wrong = model.similarity(["Khrushchev denounced Stalin", "Kruschev denounced Stallin"])
    assert wrong > 0.5 * right > 0


def test_unfitted_model_says_how_to_fix() -> None:
    with pytest.raises(NotFittedError, match=r"call fit\(model_answer"):
        SimilarityModel().similarity(["anything"])


def test_fit_returns_self_and_stores_learned_attributes() -> None:
    m = SimilarityModel()
    assert m.fit(MODEL, question=QUESTION) is m
    assert "gulag" in m.word_vectorizer_.vocabulary_
    assert m.question_word_weight == 0.15


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    [
        ("the cat sat", "the cat sat", 0.999, 1.0),
        ("gulag prisoners released", "the Secret Speech of 1956", 0.0, 0.0),
        ("", "anything", 0.0, 0.0),
        ("the and of", "the and of", 0.0, 0.0),  # stop words only
        ("prisoners released from the gulag", "the gulag emptied", 0.1, 0.9),
    ],
)
def test_tfidf_cosine_baseline(a: str, b: str, low: float, high: float) -> None:
    assert low <= tfidf_cosine(a, b) <= high


@pytest.mark.parametrize(("model_answer", "question"), [("4", "What is 2+2?"), ("the of and", "What?"), ("?!", "")])
def test_model_answer_without_content_words_gives_zero_not_an_error(model_answer: str, question: str) -> None:
    m = SimilarityModel().fit(model_answer, question=question)
    assert m.similarity([model_answer, "Khrushchev denounced Stalin", ""]).tolist() == [0.0, 0.0, 0.0]


def test_model_answer_of_question_words_only_still_fits() -> None:
    # Mohler 4.7: every content word of the reference is a question word; the character
    # view has no vocabulary then, and the word view alone must still work.
    model = SimilarityModel().fit("By rows.", question="How are arrays stored in memory, by rows or by columns?")
    sims = model.similarity(["by rows", "by columns", ""])
    assert sims[0] > sims[1] and sims[2] == 0.0


# --- the same numbers as scikit-learn's TfidfVectorizer ------------------------------


def _sklearn_similarity(model: SimilarityModel, model_answer: str, question: str, extra: list[str],
                        alternatives: list[str], texts: list[str]) -> np.ndarray:
    """The similarity as grader computed it with scikit-learn's TfidfVectorizer (before it was
    computed without it): the reference the sklearn-free implementation must match."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize as l2_rows

    from grader.similarity import WORD_SHARE
    from grader.text import is_content, normalize, tokenize

    references = [model_answer, *(a for a in alternatives if a.strip())]
    docs = split_sentences(model_answer) + [normalize(question)] + [normalize(e) for e in (*extra, *references[1:])]
    docs = [d for d in docs if d.strip()] or [model_answer]
    q = frozenset(f for f in word_features(question) if " " not in f)

    def char_text(text: str) -> str:
        return " ".join(t.text for t in tokenize(text) if t.stem not in q and is_content(t))

    words = TfidfVectorizer(analyzer=word_features, sublinear_tf=True)
    try:
        words.fit(docs)
    except ValueError:  # no content word: the word view is 0
        word = np.zeros((len(texts), len(references)))
    else:
        scale = sparse.diags([model.question_word_weight if all(p in q for p in n.split(" ")) else 1.0
                              for n in words.get_feature_names_out()])
        rows = [l2_rows(sparse.csr_matrix(words.transform(t) @ scale)) for t in (texts, references)]
        word = (rows[0] @ rows[1].T).toarray()
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, preprocessor=char_text)
    try:
        chars.fit(docs)
    except ValueError:  # no character view
        return np.clip(word.max(axis=1), 0.0, 1.0)
    char = (chars.transform(texts) @ chars.transform(references).T).toarray()
    return np.clip((WORD_SHARE * word + (1 - WORD_SHARE) * char).max(axis=1), 0.0, 1.0)


def _sample_cases() -> list[tuple[str, object, list[str]]]:
    """(name, rubric, answers): the seed rubrics and rubrics built from the bundled samples."""
    import csv

    from conftest import REPO, SEED_DIR
    from grader.build import build_rubric
    from grader.rubric import load_rubrics

    def read(path: object) -> list[dict[str, str]]:
        with open(path, newline="", encoding="utf-8") as fh:  # type: ignore[call-overload]
            return list(csv.DictReader(fh))

    cases = []
    seed_answers = read(REPO / "samples" / "destalinization" / "graded.csv")
    for rid, rubric in load_rubrics(SEED_DIR).items():
        cases.append((rid, rubric, [r["answer"] for r in seed_answers]))
    for name in ("history", "short-answer"):
        graded = read(REPO / "samples" / name / "graded.csv")
        for q in read(REPO / "samples" / name / "questions.csv"):
            alternatives = [a for a in q.get("alternatives", "").split("|") if a.strip()]
            rubric = build_rubric(q["question"], q["model_answer"], rubric_id=q["question_id"], use_wordnet=False,
                                  alternatives=alternatives)
            cases.append((q["question_id"], rubric, [r["answer"] for r in graded if r["question_id"] == q["question_id"]]))
    return cases


def test_similarity_equals_scikit_learn_on_the_bundled_rubrics_and_samples() -> None:
    from grader.scoring import Scorer

    checked = 0
    for name, rubric, answers in _sample_cases():
        texts = [*answers, "", "Khrushchev released prisoners", rubric.model_answer, rubric.question]  # type: ignore[attr-defined]
        model = Scorer(rubric).similarity_  # type: ignore[arg-type]
        extra = [" ".join(c.phrases) for c in rubric.concepts]  # type: ignore[attr-defined]
        expected = _sklearn_similarity(model, rubric.model_answer, rubric.question, extra,  # type: ignore[attr-defined]
                                       list(rubric.alternatives), texts)  # type: ignore[attr-defined]
        assert np.abs(model.similarity(texts) - expected).max() < 1e-9, name
        checked += len(texts)
    assert checked > 500


@pytest.mark.parametrize(("model_answer", "question"), [("4", "What is 2+2?"), ("By rows.", "How are arrays stored in memory, by rows or by columns?"),
                                                        ("Never.", "Did it work?"), (MODEL, QUESTION)])
@pytest.mark.parametrize("weight", [0.0, 0.15, 1.0])
def test_similarity_equals_scikit_learn_at_the_edges(model_answer: str, question: str, weight: float) -> None:
    texts = ["by rows", "never", "4", "", MODEL, "Kruschev denounced Stallin", "not not never", QUESTION]
    model = SimilarityModel(question_word_weight=weight).fit(model_answer, question=question, alternatives=["Columns, never rows."])
    expected = _sklearn_similarity(model, model_answer, question, [], ["Columns, never rows."], texts)
    assert np.abs(model.similarity(texts) - expected).max() < 1e-9


def test_refitting_forgets_the_previous_vocabulary() -> None:
    texts = ["Sputnik, the first satellite, was launched in 1957.", "prisoners left the gulag", ""]
    refitted = SimilarityModel().fit(MODEL, question=QUESTION)
    refitted.similarity(texts)  # fills the per-word n-gram cache of the first vocabulary
    refitted.fit("Sputnik was the first satellite, launched in 1957.", question="What was Sputnik?")
    fresh = SimilarityModel().fit("Sputnik was the first satellite, launched in 1957.", question="What was Sputnik?")
    assert refitted.similarity(texts).tolist() == fresh.similarity(texts).tolist()


def test_long_words_are_scored_but_not_cached(model: SimilarityModel) -> None:
    """Per-word caches skip words longer than MAX_CACHED_WORD: hostile input cannot fill memory with them."""
    from grader.text import MAX_CACHED_WORD

    long_word = "gulag" * (MAX_CACHED_WORD // 5 + 2)
    before = dict(model._ngram_cache)
    first = float(model.similarity([f"Khrushchev {long_word}"])[0])
    assert long_word not in model._ngram_cache
    assert float(model.similarity([f"Khrushchev {long_word}"])[0]) == first
    assert set(model._ngram_cache) - set(before) <= {"khrushchev"}


def test_a_token_holding_a_space_counts_as_its_words_in_the_character_view(model: SimilarityModel) -> None:
    """NFKD turns some letters into a space and a mark ("\u037a"): the token "eased reform" is two words there."""
    from grader.text import tokenize

    joined = tokenize("Khrushchev eased\u037areform")
    assert joined[1].text == "eased reform"
    spaced = tokenize("Khrushchev eased reform")
    assert list(model._char_vector(joined).items()) == list(model._char_vector(spaced).items())
