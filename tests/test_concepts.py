"""Concept and misconception matching: evidence offsets, misspellings, negation, order."""

from __future__ import annotations

import pytest

from grader.concepts import RubricMatcher, compile_phrase, match_concepts
from grader.rubric import Rubric, rubric_from_dict

from conftest import SEED_DIR as SEED, minimal_rubric_data


def _rubric(concepts: list[dict], misconceptions: list[dict] | None = None) -> Rubric:
    return rubric_from_dict(minimal_rubric_data(concepts=concepts, misconceptions=misconceptions or []))


def _concept(terms: list[str], synonyms: list[str] | None = None, cid: str = "c") -> dict:
    return {"id": cid, "label": cid.upper(), "terms": terms, "synonyms": synonyms or []}


def _match(terms: list[str], answer: str, synonyms: list[str] | None = None):
    return match_concepts(_rubric([_concept(terms, synonyms)]), answer)[0]


@pytest.mark.parametrize(
    ("phrase", "stems", "negative"),
    [
        ("release of political prisoners", ("releas", "polit", "prison"), False),
        ("not a democracy", ("democraci",), True),
        ("no free elections", ("free", "elect"), True),
        ("did not fully democratize", ("fulli", "democrat"), True),  # auxiliaries are stop words
        ("the West", ("west",), False),
        ("the", ("the",), False),  # a phrase of stop words only keeps its words
        ("Khrushchev\u2019s reforms", ("khrushchev", "reform"), False),
    ],
)
def test_compile_phrase(phrase: str, stems: tuple[str, ...], negative: bool) -> None:
    compiled = compile_phrase(phrase)
    assert compiled.stems == stems
    assert compiled.negative is negative


@pytest.mark.parametrize(
    ("terms", "answer", "evidence"),
    [
        (["reduced repression"], "Khrushchev reduced the repression.", ["reduced the repression"]),
        (["political prisoners released"], "Many \u201cpolitical\u201d prisoners were released in 1956.",
         ["political\u201d prisoners were released"]),
        (["Secret Speech"], "In his SECRET SPEECH he attacked Stalin.", ["SECRET SPEECH"]),
        (["Secret Speech"], "the secret speeches", ["secret speeches"]),  # stems
        (["Khrushchev denounced Stalin"], "Kruschev denounced Stallin in 1956.", ["Kruschev denounced Stallin"]),
        (["Khrushchev"], "Khrushchov led the Party.", ["Khrushchov"]),
        (["détente"], "a period of detente began", ["detente"]),
        (["Cuban Missile Crisis"], "the Cuban missile crisis of 1962 and the cuban missile crisis again",
         ["Cuban missile crisis", "cuban missile crisis"]),
    ],
)
def test_match_evidence_offsets(terms: list[str], answer: str, evidence: list[str]) -> None:
    match = _match(terms, answer)
    assert match.matched
    assert [s.text for s in match.evidence] == evidence
    for span in match.evidence:
        assert answer[span.start : span.end] == span.text
    assert match.phrase == terms[0]


@pytest.mark.parametrize(
    ("terms", "answer"),
    [
        (["reduced repression"], "Khrushchev did not reduce repression."),
        (["reduced repression"], "Khrushchev never really reduced repression at all."),
        (["political prisoners released"], "No political prisoners were released."),
        (["Cuban Missile Crisis"], "It did not lead to the Cuban Missile Crisis."),
    ],
)
def test_negated_mention_earns_nothing(terms: list[str], answer: str) -> None:
    match = _match(terms, answer)
    assert not match.matched
    assert match.evidence == ()
    assert match.negated and all(answer[s.start : s.end] == s.text for s in match.negated)


def test_affirmed_mention_wins_over_negated_one() -> None:
    match = _match(["reduced repression"], "Stalin did not reduce repression. Khrushchev reduced repression.")
    assert match.matched
    assert [s.text for s in match.evidence] == ["reduced repression"]
    assert match.negated == ()


@pytest.mark.parametrize(
    ("answer", "matched"),
    [
        ("The USSR did not fully democratize.", True),
        ("The USSR was never fully democratized.", True),
        ("Even after 1956 the state was not a democracy.", True),
        ("The USSR fully democratized.", False),  # the negative phrase needs a negated mention
        ("It became a democracy.", False),
    ],
)
def test_negative_phrases(answer: str, matched: bool) -> None:
    assert _match(["did not fully democratize", "not a democracy"], answer).matched is matched


@pytest.mark.parametrize(
    ("answer", "matched"),
    [
        ("Political prisoners. They were released later.", False),  # words in different sentences
        ("Political prisoners were released.", True),
        ("Political prisoners spent years in camps, hungry, cold, sick, forgotten, and were released", False),  # too far
        ("Prisoners, political ones, released", True),  # any order inside the window
    ],
)
def test_phrase_must_sit_in_one_sentence_and_window(answer: str, matched: bool) -> None:
    assert _match(["political prisoners released"], answer).matched is matched


@pytest.mark.parametrize("misspelt", ["Kruschev", "Krushchev", "Khruschev", "Stallin"])
def test_misspellings_of_names_match(misspelt: str) -> None:
    terms = ["Khrushchev"] if misspelt.startswith("K") else ["Stalin"]
    assert _match(terms, f"{misspelt} changed things.").matched


@pytest.mark.parametrize(
    ("term", "other"),
    [("Stalin", "Stolen"), ("reform", "inform"), ("Khrushchev", "Brezhnev"), ("purges", "purple"), ("1956", "1965")],
)
def test_different_words_do_not_match(term: str, other: str) -> None:
    assert not _match([term], f"The {other} was mentioned.").matched


def test_synonyms_earn_the_concept_and_name_the_phrase() -> None:
    match = _match(["political prisoners released"], "Many were freed from the gulags.", ["freed from the gulag"])
    assert match.matched and match.phrase == "freed from the gulag"
    assert [s.text for s in match.evidence] == ["freed from the gulags"]


def _misconceptions(phrases: list[str], answer: str):
    rubric = _rubric(
        [_concept(["Khrushchev"])],
        [{"id": "m", "phrases": phrases, "penalty": 0.25, "feedback": "No."}],
    )
    return RubricMatcher(rubric).match(answer)[1]


@pytest.mark.parametrize(
    ("phrases", "answer", "found"),
    [
        (["became a democracy"], "After 1956 the USSR became a democracy.", ["became a democracy"]),
        (["more aggressive"], "Khrushchev was more aggressive abroad.", ["more aggressive"]),
        (["more aggressive"], "It was aggressive before and more cautious after.", []),  # order matters
        (["became a democracy"], "It never became a democracy.", []),  # negated claim is no misconception
        (["the Cold War was over"], "The Cold War was over by 1960.", ["The Cold War was over"]),
        (["the Cold War was over"], "The Cold War went on and was not over.", []),
    ],
)
def test_misconceptions_match_in_order_with_stop_words(phrases: list[str], answer: str, found: list[str]) -> None:
    result = _misconceptions(phrases, answer)
    assert [s.text for m in result for s in m.evidence] == found
    for m in result:
        assert m.misconception_id == "m" and m.penalty == 0.25 and m.feedback == "No."
        for span in m.evidence:
            assert answer[span.start : span.end] == span.text


def test_matcher_reports_every_concept_in_rubric_order() -> None:
    rubric = _rubric([_concept(["gulag"], cid="b"), _concept(["Thaw"], cid="a"), _concept(["purges"], cid="c")])
    concepts, _, analysis = RubricMatcher(rubric).match("The Thaw ended the purges.")
    assert [(c.concept_id, c.matched) for c in concepts] == [("b", False), ("a", True), ("c", True)]
    assert [t.text for t in analysis.tokens] == ["the", "thaw", "ended", "the", "purges"]


@pytest.mark.parametrize("answer", ["", "   ", "?!", "\u200b"])
def test_empty_answers_match_nothing(answer: str) -> None:
    concepts, misconceptions, _ = RubricMatcher(_rubric([_concept(["gulag"])])).match(answer)
    assert not concepts[0].matched and misconceptions == []


@pytest.mark.parametrize(
    ("term", "answer", "matched"),
    [
        ("rose up", "In 1956 the people of Budapest rose up against Moscow.", True),
        ("rose up", "A red rose grew in the garden.", False),
        ("rose up", "Up went prices and the rose wilted.", False),
        ("get along with America", "Khrushchev wanted to get along with America.", True),
        ("get along with America", "America built more missiles.", False),
        ("the Thaw", "Khrushchev's Thaw let writers publish more.", True),
    ],
)
def test_phrase_with_one_content_word_keeps_its_small_words(term: str, answer: str, matched: bool) -> None:
    assert _match([term], answer).matched is matched


def _best_time(fn, repeats: int = 3) -> float:
    import time

    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("unit", ["Thaw ", "gulag prisoners released ", "Khrushchev denounced Stalin. "])
def test_matching_is_linear_in_answer_length(unit: str) -> None:
    """Regression: matching one repeated rubric word was quadratic ("Thaw " * 4000 took 10 s).

    Bound: each phrase walks every occurrence list once (one forward pointer per word), so
    matching is O(answer words x phrase words). Eight times the input must cost well under
    the 64x a quadratic matcher would; compared as a ratio within one run, not a wall clock.
    """
    from grader.rubric import load_rubric

    matcher = RubricMatcher(load_rubric(SEED / "destal-politics.yaml"))
    small, large = unit * 250, unit * 2000
    matcher.match(small)  # warm caches (stems, fuzzy lookups)
    ratio = _best_time(lambda: matcher.match(large)) / _best_time(lambda: matcher.match(small))
    assert ratio < 24, f"8x the input took {ratio:.1f}x the time"


@pytest.mark.parametrize(
    "text",
    [
        "Khrushchev did not reduce repression or censorship, but he freed prisoners.",
        "It ain't so: the Thaw never ended the purges. Stalin died in 1953.",
        "Khrushchev reduced repression and freed prisoners.",  # no cue at all
        "No. Reforms came later, without bloodshed or fear of the secret police and arrests.",
    ],
)
def test_analysis_negation_agrees_with_is_negated_on_every_token(text: str) -> None:
    from grader.concepts import PhraseMatcher, compile_phrase
    from grader.text import is_negated, tokenize

    matcher = PhraseMatcher([compile_phrase("reduced repression"), compile_phrase("freed prisoners")])
    tokens = tokenize(text)
    analysis = matcher.analyze_tokens(tokens, text)
    assert [analysis.negated(i) for i in range(len(tokens))] == [is_negated(tokens, i) for i in range(len(tokens))]
