"""Text processing: normalisation, tokens with offsets, stems, negation scope, accents."""

from __future__ import annotations

import pytest

from grader.text import (
    MAX_ANSWER_CHARS,
    STOP_WORDS,
    is_content,
    is_negated,
    normalize,
    stem,
    tokenize,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Khrushchev\u2019s \u201cSecret Speech\u201d", "Khrushchev's \"Secret Speech\""),
        ("\u2018Thaw\u2019", "'Thaw'"),
        ("1953\u20131964", "1953-1964"),
        ("a\u00a0b", "a b"),
        ("\ufb01le", "file"),  # NFKC ligature
        ("zero\u200bwidth", "zero width"),
        ("bell\x07", "bell "),
        ("", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_tokenize_offsets_point_into_original_text() -> None:
    text = "Nikita Khrushchev\u2019s \u201cSecret Speech\u201d (1956) shocked delegates."
    tokens = tokenize(text)
    assert [t.text for t in tokens] == ["nikita", "khrushchev's", "secret", "speech", "1956", "shocked", "delegates"]
    for t in tokens:
        assert text[t.start : t.end].lower().replace("\u2019", "'") == t.text


def test_tokenize_keeps_hyphenated_and_apostrophe_words_whole() -> None:
    assert [t.text for t in tokenize("De-Stalinization wasn't Stalin's")] == ["de-stalinization", "wasn't", "stalin's"]


def test_tokenize_strips_accents_but_keeps_offsets() -> None:
    text = "The d\u00e9tente with the West"
    tok = tokenize(text)[1]
    assert tok.text == "detente"
    assert text[tok.start : tok.end] == "d\u00e9tente"
    assert tok.stem == stem("detente")


def test_tokenize_clause_and_sentence_numbers() -> None:
    tokens = tokenize("Terror ended, but fear stayed. Writers spoke; censors relented.")
    by_word = {t.text: (t.clause, t.sentence) for t in tokens}
    assert by_word["terror"] == (0, 0)
    assert by_word["fear"] == (1, 0)  # "but" opens a clause, not a sentence
    assert by_word["writers"] == (2, 1)
    assert by_word["censors"] == (3, 1)  # ";" opens a clause


def test_tokenize_caps_length() -> None:
    tokens = tokenize("word " * (MAX_ANSWER_CHARS // 2))
    assert tokens[-1].end <= MAX_ANSWER_CHARS


@pytest.mark.parametrize(
    ("word", "expected"),
    [("reforms", "reform"), ("Reformed", "reform"), ("Khrushchev's", "khrushchev"), ("prisoners", "prison"),
     ("de-stalinization", "de-stalin")],
)
def test_stem(word: str, expected: str) -> None:
    assert stem(word) == expected


def test_stop_words_keep_negation_and_comparatives() -> None:
    assert {"not", "no", "never", "less", "more"}.isdisjoint(STOP_WORDS)
    assert {"the", "of", "and", "do", "did", "does", "doing", "done"} <= STOP_WORDS


def test_is_content() -> None:
    toks = {t.text: t for t in tokenize("the 1956 a 7 gulag")}
    assert is_content(toks["1956"]) and is_content(toks["gulag"])
    assert not is_content(toks["the"]) and not is_content(toks["7"]) and not is_content(toks["a"])


def _negated(text: str, word: str) -> bool:
    tokens = tokenize(text)
    index = next(i for i, t in enumerate(tokens) if t.text == word)
    return is_negated(tokens, index)


@pytest.mark.parametrize(
    ("text", "word", "expected"),
    [
        ("Khrushchev did not reduce repression", "repression", True),
        ("Khrushchev didn\u2019t reduce repression", "repression", True),
        ("Khrushchev reduced repression", "repression", False),
        ("There was never any real reform", "reform", True),
        ("It did not lead to the Cuban Missile Crisis", "crisis", True),
        # a list joined by "or" stays inside the negation
        ("It did not allow open discussions about governance or criticism of past policies", "criticism", True),
        # contrast words and sentence ends close the scope
        ("Stalin did not reform, but Khrushchev reduced repression", "repression", False),
        ("He was not a democrat. Repression eased.", "repression", False),
        ("No. Later the repression eased", "repression", False),
        # too far from the cue
        ("Nobody expected that a new leader in Moscow would one day reduce repression", "repression", False),
    ],
)
def test_is_negated(text: str, word: str, expected: bool) -> None:
    assert _negated(text, word) is expected


def test_word_memo_computes_once_and_stays_bounded() -> None:
    from grader.text import WordMemo

    calls: list[str] = []
    memo = WordMemo(lambda w: calls.append(w) or w.upper(), limit=2)
    assert [memo["a"], memo["a"], memo["b"]] == ["A", "A", "B"]
    assert calls == ["a", "b"]  # the second "a" was a hit
    memo["c"]  # the limit reached: starts afresh
    assert len(memo) == 1 and "c" in memo


def test_scoring_long_distinct_words_keeps_none_of_them_in_memory() -> None:
    """A hostile batch of distinct 1,000-letter words: scored, but no per-word cache keeps them."""
    import random

    import grader.signals as signals
    import grader.text as text
    from grader.scoring import Scorer
    from grader.rubric import rubric_from_dict

    rubric = rubric_from_dict({"id": "x", "question": "Who led the USSR after Stalin?",
                               "model_answer": "Nikita Khrushchev led it and denounced Stalin.",
                               "concepts": [{"id": "k", "label": "Khrushchev", "terms": ["Khrushchev"]}]})
    rng = random.Random(7)
    words = ["".join(rng.choices("abcdefgh", k=1_000)) for _ in range(30)]
    stems_before = text.stem.cache_info().currsize
    results = Scorer(rubric).score_many([f"Khrushchev {w}" for w in words], detail=False)
    assert all(r.concepts[0].matched for r in results)
    memos = [text._FORMS, text.content_word_not_cue.__self__, signals._latin_and_implausible.__self__]
    assert all(len(w) <= text.MAX_CACHED_WORD for memo in memos for w in memo)
    assert text.stem.cache_info().currsize - stems_before < len(words)


def test_token_fields_keep_their_order() -> None:
    """grader.signals.measure transposes tokens by position: text, stem, start, end, clause, sentence."""
    from grader.text import Token

    assert Token._fields == ("text", "stem", "start", "end", "clause", "sentence")
    assert tuple(tokenize("Stalin died.")[1]) == ("died", "die", 7, 11, 0, 0)


def test_matcher_word_facts_keep_no_long_words() -> None:
    from grader.concepts import PhraseMatcher, compile_phrase
    from grader.text import MAX_CACHED_WORD, content_word

    matcher = PhraseMatcher([compile_phrase("secret speech")])
    long_word = "s" + "e" * 200
    answer = f"the secret speech {long_word}"
    assert matcher.analyze(answer).positions.keys() >= {"secret", "speech"}
    assert all(len(w) <= MAX_CACHED_WORD for w in matcher._facts)
    assert content_word(long_word) and all(len(w) <= MAX_CACHED_WORD for w in content_word.__self__)
