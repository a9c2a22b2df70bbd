"""Property-based tests (Hypothesis) of the text and scoring functions.

For any string: nothing raises, the score stays within [0, max_score], the same input gives
the same score and feedback, and adding the words of a concept the answer is missing never
lowers the score (unless that addition itself trips a gaming check, whose cap is the point).
Examples are kept few (settings below) so the suite stays fast.
"""

from __future__ import annotations

import os
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from grader.integrity import check_answer
from grader.rubric import Rubric, load_rubrics
from grader.scoring import Scorer, round_to_step
from grader.signals import build_context, measure
from grader.similarity import word_features
from grader.tabular import detect_encoding, looks_binary, safe_cell
from grader.text import is_negated, normalize, stem, tokenize

from conftest import SEED_DIR

# GRADER_PROPERTY_EXAMPLES=1000 for a deeper local run; the default keeps the suite fast.
FAST = settings(
    max_examples=int(os.environ.get("GRADER_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@lru_cache(maxsize=1)
def _rubrics() -> dict[str, Rubric]:
    return load_rubrics(SEED_DIR)


@lru_cache(maxsize=None)
def _scorer(rubric_id: str) -> Scorer:
    return Scorer(_rubrics()[rubric_id])


def _words(rubric: Rubric) -> list[str]:
    words = set(rubric.model_answer.split()) | set(rubric.question.split())
    for c in rubric.concepts:
        for p in c.phrases:
            words.update(p.split())
    return sorted(words) + ["not", "never", "the", "and", "but", "more", "less", ".", ",", "didn't"]


RUBRIC_IDS = st.sampled_from(["destal-politics", "destal-eastern-europe", "destal-global-stance"])
ANY_TEXT = st.text(max_size=400)


@st.composite
def rubric_and_answer(draw: st.DrawFn) -> tuple[str, str]:
    """A rubric id and an answer: arbitrary text, or a shuffle of the rubric's own words."""
    rid = draw(RUBRIC_IDS)
    if draw(st.booleans()):
        return rid, draw(ANY_TEXT)
    words = draw(st.lists(st.sampled_from(_words(_rubrics()[rid])), max_size=60))
    return rid, " ".join(words)


# ---------------------------------------------------------------- text functions


@FAST
@given(ANY_TEXT)
def test_text_functions_never_raise(text: str) -> None:
    norm = normalize(text)
    assert isinstance(norm, str)
    tokens = tokenize(text)
    for t in tokens:
        assert [u.text for u in tokenize(text[t.start : t.end])] == [t.text]  # offsets frame the token in the original text
        assert 0 <= t.start < t.end <= len(text)
        assert stem(t.text) == t.stem
    for i in range(len(tokens)):
        assert isinstance(is_negated(tokens, i), bool)
    assert isinstance(word_features(text), list)


@FAST
@given(ANY_TEXT)
def test_token_order_and_sentences_are_monotone(text: str) -> None:
    tokens = tokenize(text)
    assert [t.start for t in tokens] == sorted(t.start for t in tokens)
    assert all(a.end <= b.start for a, b in zip(tokens, tokens[1:]))
    assert all(a.clause <= b.clause and a.sentence <= b.sentence for a, b in zip(tokens, tokens[1:]))


@FAST
@given(st.binary(max_size=600))
def test_encoding_detection_never_raises_and_decodes(data: bytes) -> None:
    encoding = detect_encoding(data)
    assert isinstance(data.decode(encoding, errors="replace"), str)
    assert isinstance(looks_binary(data), bool)


@FAST
@given(st.one_of(st.text(max_size=50), st.integers(), st.floats(allow_nan=True), st.none()))
def test_safe_cell_never_starts_a_formula(value: object) -> None:
    cell = safe_cell(value)
    if cell and cell[0] in "=+-@\t\r":
        float(cell)  # only plain numbers may start with + or -


# ---------------------------------------------------------------- scoring


@FAST
@given(rubric_and_answer())
def test_score_is_within_bounds_and_deterministic(case: tuple[str, str]) -> None:
    rid, answer = case
    scorer = _scorer(rid)
    first = scorer.score(answer)
    assert 0.0 <= first.score <= first.max_score
    assert 0.0 <= first.percent <= 100.0
    assert 0.0 <= first.coverage <= 1.0 and 0.0 <= first.similarity <= 1.0
    again = scorer.score(answer)
    assert (again.score, again.feedback, [f.code for f in again.flags]) == (
        first.score, first.feedback, [f.code for f in first.flags]
    )
    assert round_to_step(first.score, first.rubric_id and _rubrics()[rid].scoring.score_step) == first.score


@FAST
@given(rubric_and_answer())
def test_score_many_equals_score(case: tuple[str, str]) -> None:
    rid, answer = case
    scorer = _scorer(rid)
    batch = scorer.score_many([answer, "", answer])
    assert batch[0].score == batch[2].score == scorer.score(answer).score
    assert batch[1].score == 0


@FAST
@given(rubric_and_answer(), st.data())
def test_adding_a_missing_concept_never_lowers_the_score(case: tuple[str, str], data: st.DataObject) -> None:
    rid, answer = case
    scorer = _scorer(rid)
    before = scorer.score(answer)
    missing = [c for c, m in zip(scorer.rubric.concepts, before.concepts) if not m.matched]
    assume(missing)
    concept = data.draw(st.sampled_from(missing))
    # A new sentence, so a negation cue at the end of the answer cannot reach it.
    after = scorer.score(f"{answer}\n\n{concept.terms[0]}.")
    # A gaming check may fire on the longer text ("Cuban Cuban War missile. inconsistencies in
    # policy." is word salad); that new cap is the only allowed reason for a lower score.
    new_limits = {f.code for f in after.flags if f.cap is not None or f.penalty} - {f.code for f in before.flags}
    assert after.score >= before.score or new_limits, (answer, concept.id, before.score, after.score)


@FAST
@given(ANY_TEXT)
def test_integrity_checks_never_raise(text: str) -> None:
    ctx = build_context(_rubrics()["destal-politics"])
    tokens = tokenize(text)
    flags = check_answer(text, tokens, ctx)
    assert all(f.code and f.message for f in flags)
    assert all(f.cap is None or 0 <= f.cap <= 1 for f in flags)
    measure(text, tokens, ctx)


@pytest.mark.parametrize("rid", ["destal-politics", "destal-eastern-europe", "destal-global-stance"])
def test_every_concept_term_alone_earns_something(rid: str) -> None:
    """The example-based anchor of the monotonicity property: each term is worth adding to nothing."""
    scorer = _scorer(rid)
    base = scorer.score("The answer is this.").score
    for concept in scorer.rubric.concepts:
        assert scorer.score(f"The answer is this.\n\n{concept.terms[0]}.").score >= base
