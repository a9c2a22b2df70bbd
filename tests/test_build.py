"""Rubric builder on questions outside the seed: valid rubrics that work from the model answer alone."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from grader.build import build_rubric, key_phrases, split_claims
from grader.rubric import load_rubric, save_rubric
from grader.scoring import Scorer
from grader.text import stem, tokenize

QUESTIONS = {
    "photosynthesis": (
        "What is photosynthesis and why is it important for life on Earth?",
        "Photosynthesis is the process by which green plants use chlorophyll to capture energy from sunlight "
        "and convert carbon dioxide and water into glucose, releasing oxygen as a by-product. It supplies the "
        "oxygen in the atmosphere and the energy at the base of almost every food chain.",
    ),
    "french-revolution": (
        "What were the main causes of the French Revolution?",
        "The French Revolution of 1789 was caused by a financial crisis after costly wars, an unfair tax system "
        "that burdened the Third Estate while the nobility and clergy were exempt, and Enlightenment ideas about "
        "popular sovereignty and equality. Bread shortages after poor harvests and the weak leadership of "
        "Louis XVI turned discontent into revolt.",
    ),
    "stack-queue": (
        "Explain the difference between a stack and a queue.",
        "A stack is a last-in, first-out (LIFO) structure: the element pushed most recently is popped first. "
        "A queue is first-in, first-out (FIFO): elements are enqueued at the back and dequeued from the front. "
        "Stacks suit function calls and undo; queues suit scheduling and breadth-first search.",
    ),
}


def _stems(text: str) -> set[str]:
    """Stems of ``text``, with the parts of hyphenated words (the builder writes them apart)."""
    return {s for t in tokenize(text) for s in (t.stem, *t.stem.split("-"))}


@pytest.fixture(scope="module", params=sorted(QUESTIONS))
def built(request):
    question, model = QUESTIONS[request.param]
    return request.param, question, model, build_rubric(question, model, rubric_id=request.param, use_wordnet=False)


def test_builds_a_valid_rubric(built) -> None:
    rid, question, model, rubric = built
    assert rubric.id == rid and rubric.question == question and rubric.model_answer == model
    assert 1 <= len(rubric.concepts) <= 8
    assert len(rubric.concepts) == len(split_claims(model))  # one concept per claim
    assert len({c.id for c in rubric.concepts}) == len(rubric.concepts)
    assert all(c.hint and c.weight > 0 and c.terms for c in rubric.concepts)
    assert len({c.hint for c in rubric.concepts}) == len(rubric.concepts)  # no two concepts share a hint
    assert all("|" not in t for c in rubric.concepts for t in c.terms)  # no WordNet asked for
    assert rubric.scoring.partial_credit


def test_labels_are_the_claims(built) -> None:
    _, _, model, rubric = built
    for concept, claim in zip(rubric.concepts, split_claims(model)):
        first_words = " ".join(concept.label.rstrip(".").split()[:3]).lower()
        assert first_words in claim.lower(), (concept.label, claim)


def test_terms_come_from_the_model_answer(built) -> None:
    _, _, model, rubric = built
    model_stems = _stems(model)
    for concept in rubric.concepts:
        for term in concept.terms:
            assert _stems(term) <= model_stems, term


def test_no_concept_is_made_of_question_words_only(built) -> None:
    _, question, _, rubric = built
    question_stems = _stems(question)
    for concept in rubric.concepts:
        for term in concept.terms:
            assert not _stems(term) <= question_stems, term


def test_hints_do_not_give_the_answer_away(built) -> None:
    _, question, _, rubric = built
    shown = _stems(question)
    for concept in rubric.concepts:
        hidden = {s for t in concept.terms for s in _stems(t)} - shown
        assert not (_stems(concept.hint) & hidden), concept.hint


def test_built_rubric_scores_sensibly(built) -> None:
    _, question, model, rubric = built
    scorer = Scorer(rubric)
    own, idk, copy = scorer.score_many([model, "I don't know", question])
    assert own.percent == 100
    assert idk.percent <= 10
    assert copy.percent <= 20


def test_key_phrases_drop_question_words_and_keep_names_and_dates() -> None:
    phrases = key_phrases(
        "What happened in 1956?",
        "Khrushchev denounced Stalin's cult of personality in the Secret Speech of 1956, and in 1961 "
        "Stalin's body was removed from Lenin's Mausoleum.",
    )
    texts = [c.text for c in phrases]
    kinds = {c.text: c.kind for c in phrases}
    assert "Secret Speech" in texts and kinds["Secret Speech"] == "name"
    assert any(c.kind == "date" and "1961" in c.words for c in phrases)
    assert not any(c.words == ("1956",) for c in phrases)  # the question's own date is no concept
    assert len({stem(w.lower()) for c in phrases for w in c.words}) == sum(len(c.words) for c in phrases)


def test_key_phrases_are_deterministic() -> None:
    question, model = QUESTIONS["french-revolution"]
    assert key_phrases(question, model) == key_phrases(question, model)


def test_model_answer_that_only_repeats_the_question_still_builds() -> None:
    rubric = build_rubric("Why did Rome fall?", "Rome fell.", rubric_id="rome", use_wordnet=False)
    assert len(rubric.concepts) >= 1


@pytest.mark.parametrize(("question", "model", "field"), [("", "An answer.", "question"), ("Q?", "  ", "model_answer")])
def test_empty_inputs_are_refused(question: str, model: str, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        build_rubric(question, model, rubric_id="x", use_wordnet=False)


def test_max_concepts_is_respected() -> None:
    question, model = QUESTIONS["french-revolution"]
    assert len(build_rubric(question, model, rubric_id="f", max_concepts=2, use_wordnet=False).concepts) <= 2


def test_shipped_word_tables_give_derived_forms_and_rarity() -> None:
    from grader.wordinfo import rarity_weight, related

    assert "capitalism" in related("capitalist").derived
    assert "communism" in related("communist").derived
    assert related("xyzzy").synonyms == () and related("1956").derived == ()
    assert rarity_weight("the") == 1.0 < rarity_weight("worker") < rarity_weight("emigr")
    assert rarity_weight("1989") > rarity_weight("novemb")  # a year carries a claim


def test_wordnet_relatives_are_stored_as_alternatives_and_scoring_needs_no_wordnet(tmp_path: Path) -> None:
    question, model = "What economic system does the U.S. have?", "The U.S. has a capitalist economy."
    rubric = build_rubric(question, model, rubric_id="econ", use_wordnet=True)
    assert any("capitalist|capitalism" in t for c in rubric.concepts for t in c.terms)
    path = save_rubric(rubric, tmp_path / "econ.yaml")
    loaded = load_rubric(path)
    assert loaded == rubric
    scorer = Scorer(loaded)
    assert scorer.score("capitalism").percent == 100  # a derived form
    assert scorer.score("socialism").percent < 50


def test_no_wordnet_module_is_needed() -> None:
    """The WordNet reader lives in scripts/ (a maintainer's step): grader never imports nltk's WordNet."""
    import importlib.util

    assert importlib.util.find_spec("grader.synonyms") is None
    source = "\n".join(p.read_text() for p in Path("grader").glob("*.py"))
    assert "nltk.corpus" not in source and "/usr/share/wordnet" not in source


@pytest.mark.parametrize(
    ("model", "name", "not_wanted"),
    [
        ("Bread shortages and the weak leadership of Louis XVI turned discontent into revolt.", "Louis XVI",
         "Louis XVI turned"),
        ("The Berlin Wall fell quickly in 1989.", "Berlin Wall", "Berlin Wall fell"),
    ],
)
def test_multi_word_names_end_before_lowercase_words(model: str, name: str, not_wanted: str) -> None:
    phrases = key_phrases("Why?", model)
    texts = [c.text for c in phrases]
    assert name in texts and not_wanted not in texts
    assert {c.text: c.kind for c in phrases}[name] == "name"


def test_single_capitalised_word_keeps_its_noun() -> None:
    assert "Enlightenment ideas" in [c.text for c in key_phrases("Why?", "Many were inspired by Enlightenment ideas.")]


def test_rubric_built_from_a_one_word_answer_can_score() -> None:
    for question, model in [("What is 2+2?", "4"), ("What is the capital of France?", "Paris.")]:
        rubric = build_rubric(question, model, rubric_id="tiny", use_wordnet=False)
        result = Scorer(rubric).score(model)
        assert 0 <= result.score <= result.max_score


GRADED = [
    ("You need to know how much vinegar was used and what type of container.", 2),
    ("How much vinegar, the size of the containers and the type of vinegar.", 2),
    ("the amount of vinegar and what container to use", 2),
    ("What kind of vinegar and how much vinegar.", 1),
    ("The size of the samples.", 1),
    ("I would need more information.", 0),
    ("The experiment was good.", 0),
    ("Marble lost the most mass.", 0),
]


def test_mine_concepts_finds_words_that_go_with_high_scores() -> None:
    from grader.build import mine_concepts

    concepts = mine_concepts([a for a, _ in GRADED], [s for _, s in GRADED], min_share=0.2, min_correlation=0.3)
    terms = [c.terms[0] for c in concepts]
    assert "vinegar" in terms
    assert "marble" not in terms and "experiment" not in terms  # only in low answers
    assert len({c.id for c in concepts}) == len(concepts)


def test_mine_concepts_skips_known_concepts_and_constant_scores() -> None:
    from grader.build import mine_concepts
    from grader.rubric import Concept

    known = [Concept(id="v", label="Vinegar", terms=["vinegar"])]
    answers, scores = [a for a, _ in GRADED], [s for _, s in GRADED]
    assert "vinegar" not in [c.terms[0] for c in mine_concepts(answers, scores, known=known, min_share=0.2)]
    assert mine_concepts(answers, [1] * len(answers)) == []
    with pytest.raises(ValueError, match="same length. Got 8 and 1"):
        mine_concepts(answers, [1])


def test_build_rubric_from_samples_uses_top_answers_and_whole_points() -> None:
    from grader.build import build_rubric_from_samples

    rubric = build_rubric_from_samples(
        "What more would you need to know to repeat the experiment?",
        [a for a, _ in GRADED], [s for _, s in GRADED], rubric_id="acid", max_score=2, n_model=2,
    )
    assert rubric.max_score == 2 and rubric.scoring.score_step == 1.0
    assert "vinegar" in rubric.model_answer.lower() and "Marble" not in rubric.model_answer
    scorer = Scorer(rubric)
    good, bad = scorer.score_many([GRADED[0][0], GRADED[6][0]])
    assert good.score > bad.score
    with pytest.raises(ValueError, match="no non-empty top-scored answer"):
        build_rubric_from_samples("Q?", ["  "], [1], rubric_id="x", max_score=1)


def test_mine_misconceptions_finds_words_of_low_answers_with_zero_penalty() -> None:
    from grader.build import MINED_MISCONCEPTION_FEEDBACK, build_rubric_from_samples, mine_misconceptions

    answers, scores = [a for a, _ in GRADED], [s for _, s in GRADED]
    mined = mine_misconceptions(answers, scores, min_share=0.1, min_correlation=0.3)
    phrases = [m.phrases[0] for m in mined]
    assert "experiment" in phrases or "marble" in phrases
    assert "vinegar" not in phrases
    assert all(m.penalty == 0.0 and m.feedback == MINED_MISCONCEPTION_FEEDBACK for m in mined)
    rubric = build_rubric_from_samples("Q?", answers, scores, rubric_id="acid", max_score=2, misconceptions=3)
    assert 0 < len(rubric.misconceptions) <= 3
