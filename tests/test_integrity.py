"""Validity checks: every kind of gaming answer is flagged, honest answers are not.

The gaming corpus (tests/gaming/corpus.yaml) covers the three seed questions and a question
that is not in the seed (tests/gaming/seasons.yaml). Honest answers include short correct
ones and paraphrases; the graded samples' `tune` split is used as a regression guard on the
false-flag rate (the full measurement, both splits, is benchmarks/false_flags.py).
"""

from __future__ import annotations

import csv
from functools import lru_cache

import pytest
import yaml

from grader.errors import RubricError
from grader.integrity import Flag, check_answer, on_topic_core
from grader.rubric import DEFAULT_FLAG_CAPS, FLAG_CODES, Rubric, load_rubric, load_rubrics, rubric_from_dict
from grader.scoring import Scorer
from grader.signals import AnswerContext, build_context, measure, rubric_vocabulary
from grader.text import tokenize

from conftest import REPO, SEED_DIR, minimal_rubric_data

GAMING = REPO / "tests" / "gaming"
CORPUS = yaml.safe_load((GAMING / "corpus.yaml").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _rubrics() -> dict[str, Rubric]:
    rubrics = dict(load_rubrics(SEED_DIR))
    rubrics["seasons"] = load_rubric(GAMING / "seasons.yaml")
    return rubrics


@lru_cache(maxsize=1)
def _vocabularies() -> dict[str, frozenset[str]]:
    return {rid: rubric_vocabulary(r) for rid, r in _rubrics().items()}


@lru_cache(maxsize=None)
def _scorer(rubric_id: str, max_words: int | None = None) -> Scorer:
    rubric = _rubrics()[rubric_id]
    if max_words is not None:
        rubric = rubric.model_copy(update={"scoring": rubric.scoring.model_copy(update={"max_words": max_words})})
    return Scorer(rubric, other_vocabularies=_vocabularies())


def _codes(result) -> list[str]:  # noqa: ANN001
    return [f.code for f in result.flags]


GAMING_CASES = [pytest.param(e, id=f"{e['rubric']}-{e['kind']}") for e in CORPUS if e["expect"]]
HONEST_CASES = [pytest.param(e, id=f"{e['rubric']}-{e['kind']}") for e in CORPUS if not e["expect"]]


def test_corpus_covers_every_kind_for_every_question() -> None:
    kinds = {"keyword_list", "copies_question", "word_salad", "repetition", "gibberish", "off_topic",
             "wrong_question", "padding", "too_short", "too_long", "contradiction", "copies_model_answer"}
    for rubric_id in _rubrics():
        covered = {e["expect"] for e in CORPUS if e["rubric"] == rubric_id and e["expect"]}
        assert kinds <= covered, (rubric_id, kinds - covered)
        assert any(e["rubric"] == rubric_id and not e["expect"] for e in CORPUS)


@pytest.mark.parametrize("entry", GAMING_CASES)
def test_gaming_answer_is_flagged_and_sent_to_review(entry: dict) -> None:
    result = _scorer(entry["rubric"], entry.get("max_words")).score(entry["answer"])
    flag = next((f for f in result.flags if f.code == entry["expect"]), None)
    assert flag is not None, _codes(result)
    assert flag.review and flag.message
    assert result.needs_review or flag.code == "empty"
    if flag.cap is not None:
        assert result.score <= flag.cap * result.max_score + 1e-9


@pytest.mark.parametrize("entry", HONEST_CASES)
def test_honest_answer_raises_no_validity_flag(entry: dict) -> None:
    result = _scorer(entry["rubric"]).score(entry["answer"])
    assert not set(_codes(result)) & FLAG_CODES, _codes(result)
    assert result.score > 0


def test_tune_split_false_flag_rate_stays_low() -> None:
    """Honest graded answers (human >= 3/10) of the tune split: at most 5% get a score-lowering flag."""
    rows = list(csv.DictReader((REPO / "samples" / "destalinization" / "graded.csv").open(encoding="utf-8")))
    honest = [r for r in rows if r["split"] == "tune" and float(r["score"]) >= 3]
    assert len(honest) >= 30
    flagged = []
    for r in honest:
        result = _scorer(r["question_id"]).score(r["answer"])
        if any(f.cap is not None or f.penalty > 0 for f in result.flags if f.code in FLAG_CODES):
            flagged.append(r["answer_id"])
    assert len(flagged) / len(honest) <= 0.05, flagged


@pytest.mark.parametrize("rubric_id", list(_rubrics()))
def test_model_answer_is_flagged_as_copy_without_penalty(rubric_id: str) -> None:
    scorer = _scorer(rubric_id)
    result = scorer.score(scorer.rubric.model_answer)
    copy = [f for f in result.flags if f.code == "copies_model_answer"]
    assert copy and copy[0].cap is None and copy[0].penalty == 0 and copy[0].review
    assert result.percent >= 90


def test_padding_scores_the_core_minus_the_penalty() -> None:
    entry = next(e for e in CORPUS if e["rubric"] == "seasons" and e["kind"] == "padding")
    scorer = _scorer("seasons")
    padded = scorer.score(entry["answer"])
    core = on_topic_core(entry["answer"], tokenize(entry["answer"]), scorer.context_)
    assert "axis is tilted" in core and "Football" not in core
    alone = scorer.score(core)
    penalty = next(f.penalty for f in padded.flags if f.code == "padding")
    assert penalty > 0
    assert padded.score == pytest.approx(max(0.0, alone.score - penalty * alone.max_score), abs=0.5)


def test_contradiction_is_skipped_when_the_concept_is_earned_elsewhere() -> None:
    scorer = _scorer("destal-politics")
    text = "After 1956 censorship loosened for writers, but under Brezhnev censorship tightened again."
    assert "contradiction" not in _codes(scorer.score(text))
    assert "contradiction" in _codes(scorer.score("Under Khrushchev censorship tightened for writers."))


def test_known_misconception_is_named_instead_of_a_contradiction() -> None:
    result = _scorer("destal-politics").score("Khrushchev increased repression and the purges got worse.")
    assert result.misconceptions and "contradiction" not in _codes(result)
    assert any(item.kind == "misconception" and "repression eased" in item.text for item in result.feedback)


def test_negated_concept_earns_no_credit() -> None:
    scorer = _scorer("destal-politics")
    yes = scorer.score("Khrushchev released political prisoners from the gulag.")
    no = scorer.score("Khrushchev never released political prisoners from the gulag.")
    assert any(c.matched for c in yes.concepts if c.concept_id == "prisoners-released")
    assert not any(c.matched for c in no.concepts if c.concept_id == "prisoners-released")
    assert "negated_concept" in _codes(no) and no.score < yes.score


def test_wrong_question_needs_the_other_vocabularies() -> None:
    entry = next(e for e in CORPUS if e["rubric"] == "destal-politics" and e["kind"] == "wrong_question")
    alone = Scorer(_rubrics()["destal-politics"]).score(entry["answer"])
    assert "wrong_question" not in _codes(alone)
    assert "wrong_question" in _codes(_scorer("destal-politics").score(entry["answer"]))


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ("Stalin, Khrushchev, gulag, Thaw, censorship, speech, prisoners", "keyword_list"),
        ("What changed in the Soviet Union after Stalin died? What changed.", "copies_question"),
        ("qwzx bnmv hjkl zxcvb", "gibberish"),
        ("Хрущёв осудил культ личности Сталина на двадцатом съезде партии", "other_script"),
        ("The gulag. The gulag. The gulag. The gulag. The gulag.", "repetition"),
        ("dunno", "too_short"),
    ],
)
def test_small_rubric_flags(answer: str, code: str) -> None:
    result = Scorer(rubric_from_dict(minimal_rubric_data())).score(answer)
    assert code in _codes(result)
    assert result.needs_review


@pytest.mark.parametrize(
    "answer",
    [
        "Khrushchev denounced Stalin.",  # short and correct
        "The Thaw: prisoners came home and writers could publish more freely after the Secret Speech.",
        "Stalin's successor condemned him in 1956; camps released people and censors eased up.",
    ],
)
def test_small_rubric_honest_answers_not_flagged(answer: str) -> None:
    result = Scorer(rubric_from_dict(minimal_rubric_data())).score(answer)
    assert not set(_codes(result)) & FLAG_CODES, _codes(result)


def test_rubric_overrides_flag_cap_and_penalty() -> None:
    data = minimal_rubric_data(scoring={"flag_caps": {"keyword_list": 0.2}, "flag_penalties": {"padding": 0.3}})
    rubric = rubric_from_dict(data)
    ctx = build_context(rubric)
    assert ctx.caps["keyword_list"] == 0.2 and ctx.penalties["padding"] == 0.3
    assert ctx.caps["word_salad"] == DEFAULT_FLAG_CAPS["word_salad"]
    result = Scorer(rubric).score("Secret Speech, denounced Stalin, political prisoners released, censorship relaxed")
    assert "keyword_list" in _codes(result) and result.score <= 2.0


@pytest.mark.parametrize(
    ("scoring", "match"),
    [
        ({"flag_caps": {"keywords": 0.2}}, "unknown flag code 'keywords'"),
        ({"flag_caps": {"keyword_list": 1.5}}, r"keyword_list must be in \[0, 1\]"),
        ({"flag_penalties": {"padding": -0.1}}, r"padding must be in \[0, 1\]"),
    ],
)
def test_rubric_rejects_bad_flag_effects(scoring: dict, match: str) -> None:
    with pytest.raises(RubricError, match=match):
        rubric_from_dict(minimal_rubric_data(scoring=scoring))


def test_flag_messages_never_quote_the_model_answer() -> None:
    """Messages reach students: no rubric wording, only the student's own words in quotes."""
    for entry in CORPUS:
        result = _scorer(entry["rubric"], entry.get("max_words")).score(entry["answer"])
        model = _rubrics()[entry["rubric"]].model_answer.lower()
        for f in result.flags:
            if f.code in FLAG_CODES and '"' not in f.message:
                assert f.message.lower().rstrip(".") not in model
                assert not any(len(w) > 8 and w in model for w in f.message.lower().split())


def test_checks_are_deterministic_and_ordered() -> None:
    scorer = _scorer("destal-politics")
    entry = next(e for e in CORPUS if e["kind"] == "contradiction" and e["rubric"] == "destal-politics")
    first = scorer.score(entry["answer"])
    assert [(f.code, f.message) for f in first.flags] == [(f.code, f.message) for f in scorer.score(entry["answer"]).flags]


def test_check_answer_works_with_a_bare_context() -> None:
    """A context built by hand (older callers) still runs every check without raising."""
    ctx = AnswerContext(frozenset({"stalin"}), frozenset({"thaw"}), 6, 600)
    text = "Stalin Stalin Stalin Stalin Stalin Stalin Stalin Stalin Stalin Stalin Stalin Stalin"
    flags = check_answer(text, tokenize(text), ctx)
    assert all(isinstance(f, Flag) for f in flags)
    assert {"keyword_list", "repetition"} <= {f.code for f in flags}
    assert check_answer("", [], ctx)[0].code == "empty"


def test_measure_shares_are_fractions() -> None:
    ctx = build_context(_rubrics()["destal-politics"])
    for entry in CORPUS:
        s = measure(entry["answer"], tokenize(entry["answer"]), ctx)
        for name in ("function_share", "vocab_share", "model_share", "model_order_share", "bad_pair_share",
                     "implausible_share", "symbol_share", "latin_share", "padding_share", "trigram_unique_share",
                     "distinct_word_share"):
            assert 0.0 <= getattr(s, name) <= 1.0, (name, entry["kind"])


def test_long_answer_is_truncated_with_a_flag() -> None:
    scorer = Scorer(rubric_from_dict(minimal_rubric_data()))
    text = "Khrushchev denounced Stalin in the Secret Speech and released prisoners. " * 400
    result = scorer.score(text)
    assert "truncated" in _codes(result)
    assert "20,000 characters" in next(f.message for f in result.flags if f.code == "truncated")


def test_vocabulary_includes_hyphen_parts_and_hints() -> None:
    vocab = _vocabularies()["destal-politics"]
    assert {"stalin", "de-stalin", "polic"} <= vocab


def test_rubric_can_put_a_penalty_on_negated_concepts() -> None:
    text = "Khrushchev never released political prisoners from the gulag, but he gave the Secret Speech."
    plain = _scorer("destal-politics").score(text)
    rubric = _rubrics()["destal-politics"]
    strict = rubric.model_copy(update={"scoring": rubric.scoring.model_copy(update={"flag_penalties": {"negated_concept": 0.2}})})
    penalised = Scorer(strict).score(text)
    assert "negated_concept" in _codes(penalised)
    assert penalised.score == pytest.approx(max(0.0, plain.score - 2.0), abs=0.5)


def test_every_flag_takes_its_cap_and_penalty_from_the_rubric() -> None:
    """Each flag raised on the gaming corpus (and on the model answers) carries the cap and
    penalty the rubric sets for its code, never a value fixed in the check."""
    codes = sorted(FLAG_CODES)
    caps = {code: round(0.3 + 0.01 * i, 2) for i, code in enumerate(codes)}
    penalties = {code: round(0.001 * (i + 1), 3) for i, code in enumerate(codes)}
    scorers = {}
    for rid, rubric in _rubrics().items():
        scoring = rubric.scoring.model_copy(update={"flag_caps": caps, "flag_penalties": penalties})
        scorers[rid] = Scorer(rubric.model_copy(update={"scoring": scoring}), other_vocabularies=_vocabularies())
    texts = [(e["rubric"], e["answer"]) for e in CORPUS] + [(rid, s.rubric.model_answer) for rid, s in scorers.items()]
    texts += [("destal-politics", ""), ("destal-politics", "Khrushchev never released political prisoners from the gulag.")]
    seen = set()
    for rid, answer in texts:
        for flag in scorers[rid].score(answer).flags:
            assert (flag.cap, flag.penalty) == (caps[flag.code], penalties[flag.code]), flag
            seen.add(flag.code)
    assert {"copies_model_answer", "keyword_list", "wrong_question", "negated_concept", "empty"} <= seen


@pytest.mark.parametrize("setting", ["flag_caps", "flag_penalties"])
def test_copies_model_answer_takes_the_rubrics_own_cap_and_penalty(setting: str) -> None:
    """Every flag is built from the rubric's settings: a cap or penalty on copying the model answer applies."""
    rubric = _rubrics()["destal-politics"]
    strict = rubric.model_copy(update={"scoring": rubric.scoring.model_copy(update={setting: {"copies_model_answer": 0.1}})})
    result = Scorer(strict).score(strict.model_answer)
    copy = [f for f in result.flags if f.code == "copies_model_answer"]
    assert copy and (copy[0].cap, copy[0].penalty) == ((0.1, 0.0) if setting == "flag_caps" else (None, 0.1))
    assert result.score <= (1.0 if setting == "flag_caps" else 9.0)


THIN = {
    "id": "thin",
    "question": "Using an index outside the bounds of an array generates an error. Is this a compilation error or a run-time error?",
    "model_answer": "Run-time error.",
    "concepts": [{"id": "rt", "label": "Run-time", "terms": ["run-time error"]}],
}


@pytest.mark.parametrize(
    "answer",
    [
        "run-time error",  # picks one of the options the question offers
        "It is caught while the program executes, so the program crashes or reads garbage memory then.",
        "enqueue and dequeue",  # real words the letter-pattern check must not call random
        "a queue",
        "as many as needed",
        "Constant pointer to constant data, constant pointer to nonconstant data, nonconstant pointer to "
        "constant data, nonconstant pointer to nonconstant data.",  # an enumeration, not repetition
        "a[i] = *(a + i)",  # code is not symbol soup
    ],
)
def test_thin_rubric_honest_answers_are_not_flagged(answer: str) -> None:
    """A one-sentence model answer gives a thin vocabulary: topic checks stand down (see MIN_TOPIC_VOCABULARY)."""
    rubric = rubric_from_dict(THIN)
    others = {"seasons": rubric_vocabulary(_rubrics()["seasons"]), "thin": rubric_vocabulary(rubric)}
    result = Scorer(rubric, other_vocabularies=others).score(answer)
    assert not set(_codes(result)) & (FLAG_CODES - {"negated_concept"}), _codes(result)


@pytest.mark.parametrize(("answer", "code"), [("idk", "too_short"), ("no idea, sorry", "too_short"),
                                              ("qwzx bnmv hjkl zxcvb", "gibberish")])
def test_thin_rubric_still_flags_non_answers(answer: str, code: str) -> None:
    assert code in _codes(Scorer(rubric_from_dict(THIN)).score(answer))


def test_near_verbatim_copy_with_a_few_words_changed_is_flagged() -> None:
    scorer = _scorer("destal-politics")
    near = (scorer.rubric.model_answer.replace("significantly", "greatly").replace("oppressive", "harsh")
            .replace("subsequent", "later"))
    assert near != scorer.rubric.model_answer
    result = scorer.score(near)
    assert "copies_model_answer" in _codes(result) and result.percent >= 90
    own_words = next(e["answer"] for e in CORPUS if e["rubric"] == "destal-politics" and e["kind"] == "honest_paraphrase")
    assert "copies_model_answer" not in _codes(scorer.score(own_words))


def test_sentence_groups_are_the_same_whether_or_not_sentences_come_in_order():
    from collections import Counter

    from grader.signals import _word_sentences

    words = ["a", "b", "c", "d", "e"]
    in_order = [0, 0, 1, 1, 2]
    assert _word_sentences(words, in_order, Counter(in_order)) == [["a", "b"], ["c", "d"], ["e"]]
    shuffled = [1, 0, 1, 2, 0]  # not from tokenize, but grouped by first occurrence all the same
    assert _word_sentences(words, shuffled, Counter(shuffled)) == [["a", "c"], ["b", "e"], ["d"]]


def test_hyphenated_answer_words_count_their_parts_against_the_question():
    ctx = AnswerContext(frozenset({"cold", "war"}), frozenset({"thaw"}), 1, 600, vocabulary=frozenset({"war", "thaw"}))
    plain = measure("the cold war and thaw", tokenize("the cold war and thaw"), ctx)
    hyphen = measure("the cold-war and thaw", tokenize("the cold-war and thaw"), ctx)
    assert plain.question_coverage == hyphen.question_coverage == 1.0
    assert hyphen.question_hits == 1 and hyphen.vocab_share == 1.0  # "cold-war" is one word, known by its part "war"
    assert hyphen.new_vs_question == plain.new_vs_question == 1  # "thaw"


@pytest.mark.parametrize(
    ("text", "bad", "pairs"),
    [
        ("the of was the", 2, 3),  # "the of", "of was" ("was the" is English)
        ("the the cat. to to", 2, 3),  # a word twice; the pair across the full stop does not count
        ("and and so the state of the art", 1, 7),
        ("of the state", 0, 2),
    ],
)
def test_bad_pair_share_counts_function_word_pairs_within_sentences(text: str, bad: int, pairs: int) -> None:
    ctx = AnswerContext(frozenset(), frozenset(), 1, 600)
    assert measure(text, tokenize(text), ctx).bad_pair_share == pytest.approx(bad / pairs)


def test_contradiction_after_many_negated_mentions_is_still_found() -> None:
    """The nearest-occurrence search moves forward with the anchor (linear), and still reaches the last claim."""
    scorer = Scorer(load_rubric(REPO / "rubrics" / "destalinization" / "destal-eastern-europe.yaml"))
    negated = "People never demand less freedom. " * 30
    assert "contradiction" not in scorer.score(negated).flag_codes
    late = scorer.score(negated + "Later people demand less freedom.")
    assert [f.message for f in late.flags if f.code == "contradiction"] == [
        '"demand less freedom" says the opposite of a key point; check which way it went.'
    ]


def test_ascii_spaces_are_exactly_the_ascii_characters_python_calls_space() -> None:
    from grader.signals import _ASCII_SPACES

    assert sorted(_ASCII_SPACES) == [chr(c) for c in range(128) if chr(c).isspace()]


def test_padding_share_counts_the_words_on_topic_core_leaves_out() -> None:
    """The padding signal and the text a padded answer is scored on judge sentences the same way."""
    scorer = Scorer(load_rubric(REPO / "rubrics" / "destalinization" / "destal-politics.yaml"))
    filler = "My cat likes fish and sleeps all day long in the warm sun by the window. " * 6
    answer = filler + "Khrushchev denounced Stalin in the Secret Speech and released prisoners from the gulag. " + filler
    tokens = tokenize(answer)
    signals = measure(answer, tokens, scorer.context_)
    core = tokenize(on_topic_core(answer, tokens, scorer.context_))
    assert len(tokens) >= 60 and signals.padding_share > 0.5
    assert signals.padding_share == pytest.approx((len(tokens) - len(core)) / len(tokens))
