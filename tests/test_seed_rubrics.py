"""The issue's "Done when" for the bundled De-Stalinization rubrics.

Each rubric gives its own model answer >= 90%, "I don't know" <= 10%, a correct answer in
other words >= 60%, a copy of the question <= 20% and a negation of the model answer <= 40%.
The answers below were written for these tests from the study guide; none comes from the
graded samples.
"""

from __future__ import annotations

import pytest

from grader.rubric import load_rubrics
from grader.scoring import Scorer

from conftest import SEED_DIR, SEED_IDS

PARAPHRASES = {
    "destal-politics": [
        "After Stalin died, Khrushchev gave a speech in 1956 condemning Stalin and his purges. Mass terror "
        "ended, the secret police were weakened and many political prisoners were freed from the gulag. "
        "Censorship was relaxed during the Thaw so people could talk more freely about the past. Still, the "
        "Party kept control and the USSR remained a one-party state.",
        "Once Khrushchev attacked Stalin's cult of personality, the fear that had ruled Soviet life began to "
        "fade: camps were emptied, victims were rehabilitated and writers such as Solzhenitsyn were allowed "
        "to publish. Yet it was never a democracy, and hardliners brought back repression after 1964.",
    ],
    "destal-eastern-europe": [
        "Khrushchev's speech gave people in Poland and Hungary hope that they could be freer, and it caused "
        "unrest. In 1956 the Hungarians revolted and wanted to leave the Warsaw Pact, but Soviet tanks "
        "invaded Budapest and crushed the revolt. Moscow wanted reform but would not give up its control of "
        "the satellite states, so there was tension between reform and control.",
        "When Moscow criticised Stalin, the satellite countries saw a chance for more independence. Polish "
        "workers protested and Hungary rose up against Soviet rule in 1956, but the Red Army put the "
        "uprising down by force. The Kremlin allowed some change yet kept its grip on the Eastern Bloc.",
    ],
    "destal-global-stance": [
        "After Stalin, Khrushchev was less aggressive abroad and talked about peaceful coexistence with the "
        "West. This led to summits and talks with the United States, such as the test ban treaty limiting "
        "nuclear weapons. But his policy was inconsistent and risky, leading to the Cuban Missile Crisis in "
        "1962, and relations with China worsened in the Sino-Soviet split.",
        "Khrushchev moved away from Stalin's expansionism toward a more careful foreign policy and argued "
        "that capitalism and communism could coexist without war. The superpowers began to negotiate, for "
        "example about nuclear testing. Still, his swings between threats and diplomacy brought the world "
        "close to war over Cuba in 1962 and pushed China away.",
    ],
}

NEGATIONS = {
    "destal-politics": "De-Stalinization did not reduce the power of oppressive state mechanisms. It did not allow "
    "open discussions about governance or criticism of past policies, and there were no reforms. It never "
    "marked a shift toward less repressive governance.",
    "destal-eastern-europe": "De-Stalinization did not cause hope or unrest in Eastern Europe. Hungary did not "
    "experience uprisings in 1956 and citizens did not seek freedom from Soviet control. The Soviet Union "
    "never used military force, and there were no tensions between reform and control.",
    "destal-global-stance": "De-Stalinization did not shift the Soviet Union away from aggressive expansionism and "
    "there was no cautious foreign policy. There was no peaceful coexistence, no negotiations with Western "
    "powers and no arms control discussions. It did not lead to the Cuban Missile Crisis.",
}

DONT_KNOW = ["I don't know", "I dont know.", "no idea", "?", ""]


@pytest.fixture(scope="module")
def scorers() -> dict[str, Scorer]:
    return {rid: Scorer(rubric) for rid, rubric in load_rubrics(SEED_DIR).items()}


def test_all_three_seed_rubrics_are_present(scorers: dict[str, Scorer]) -> None:
    assert sorted(scorers) == sorted(SEED_IDS)
    for scorer in scorers.values():
        assert len(scorer.rubric.concepts) >= 4
        assert scorer.rubric.misconceptions
        assert all(c.hint for c in scorer.rubric.concepts)


@pytest.mark.parametrize("rid", SEED_IDS)
def test_model_answer_scores_at_least_90(scorers: dict[str, Scorer], rid: str) -> None:
    assert scorers[rid].score(scorers[rid].rubric.model_answer).percent >= 90


@pytest.mark.parametrize("rid", SEED_IDS)
@pytest.mark.parametrize("answer", DONT_KNOW)
def test_dont_know_scores_at_most_10(scorers: dict[str, Scorer], rid: str, answer: str) -> None:
    assert scorers[rid].score(answer).percent <= 10


@pytest.mark.parametrize(("rid", "answer"), [(rid, a) for rid in SEED_IDS for a in PARAPHRASES[rid]])
def test_correct_answer_in_other_words_scores_well(scorers: dict[str, Scorer], rid: str, answer: str) -> None:
    result = scorers[rid].score(answer)
    assert result.percent >= 60, result.to_dict()
    assert not result.misconceptions


@pytest.mark.parametrize("rid", SEED_IDS)
@pytest.mark.parametrize("template", ["{q}", "{q} {q}", "I think the question is: {q}", "{q_lower}."])
def test_copying_the_question_scores_low(scorers: dict[str, Scorer], rid: str, template: str) -> None:
    q = scorers[rid].rubric.question
    answer = template.format(q=q, q_lower=q.rstrip("?.").lower())
    assert scorers[rid].score(answer).percent <= 20


@pytest.mark.parametrize("rid", SEED_IDS)
def test_negating_the_model_answer_scores_low(scorers: dict[str, Scorer], rid: str) -> None:
    result = scorers[rid].score(NEGATIONS[rid])
    assert result.percent <= 40, result.to_dict()
    assert "negated_concept" in [f.code for f in result.flags]


def test_democracy_misconception_is_caught(scorers: dict[str, Scorer]) -> None:
    answer = PARAPHRASES["destal-politics"][0] + " In the end the Soviet Union became a democracy with free elections."
    clean = scorers["destal-politics"].score(PARAPHRASES["destal-politics"][0])
    wrong = scorers["destal-politics"].score(answer)
    assert [m.misconception_id for m in wrong.misconceptions] == ["became-democracy"]
    assert wrong.score < clean.score


@pytest.mark.parametrize(
    ("rid", "answer", "concept"),
    [
        ("destal-politics", "Kruschev denounced Stallin in a secret speech.", "denounced-stalin"),
        ("destal-politics", "During the Thaw the terror ended and people lived with less fear.", "less-repression"),
        ("destal-politics", "Prisoners were let out of the gulags.", "prisoners-released"),
        ("destal-eastern-europe", "Soviet tanks crushed the Hungarian revolution of 1956.", "hungary-1956"),
        ("destal-global-stance", "Khrushchev called for peaceful coexistence with the West.", "peaceful-coexistence"),
        ("destal-global-stance", "The Cuban Missile Crisis of 1962 nearly caused a nuclear war.", "cuban-missile-crisis"),
    ],
)
def test_seed_synonyms_and_misspellings(scorers: dict[str, Scorer], rid: str, answer: str, concept: str) -> None:
    matched = {c.concept_id for c in scorers[rid].score(answer).concepts if c.matched}
    assert concept in matched


@pytest.mark.parametrize("rid", SEED_IDS)
def test_feedback_never_reveals_model_answer_wording(scorers: dict[str, Scorer], rid: str) -> None:
    scorer = scorers[rid]
    text = " ".join(i.text for i in scorer.score("Stalin was a leader of the Soviet Union for a long time.").feedback).lower()
    for concept in scorer.rubric.concepts:
        for term in concept.terms:
            if len(term.split()) >= 2:
                assert term.lower() not in text, term


@pytest.mark.parametrize(
    ("rid", "answer"),
    [
        ("destal-politics", "Beria was executed, and millions came home from the labour camps."),
        ("destal-politics", "Writers had more freedom and there were free discussions of the past, though no free elections."),
        ("destal-eastern-europe", "The West did not intervene when Soviet tanks crushed Hungary in 1956."),
        ("destal-global-stance", "Khrushchev was less aggressive than Stalin, though the Cold War went on."),
    ],
)
def test_correct_statements_raise_no_misconception(scorers: dict[str, Scorer], rid: str, answer: str) -> None:
    assert scorers[rid].score(answer).misconceptions == []
