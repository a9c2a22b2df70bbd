"""Rubrics built from a model answer alone, on questions outside the seed (issue 9).

Claims become concepts, alternatives earn the concept, partial credit follows the weighted
share of a claim an answer holds, and the scoring rules keep the teacher's scale. The
held-out samples in ``samples/history`` and ``samples/short-answer`` are scored here with
built rubrics and no edits, as a floor well under the figures the benchmark records.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.stats import spearmanr

from grader.build import build_rubric, split_claims
from grader.cli import main
from grader.concepts import compile_phrase, partial_credit
from grader.rubric import load_rubric
from grader.scoring import Scorer
from grader.text import is_negated, tokenize

from conftest import REPO

BERLIN_Q = "Why was the Berlin Wall built in 1961?"
BERLIN_MODEL = (
    "East Germany was losing its skilled workers and young people to the West through Berlin. "
    "About 2.7 million people had fled since 1949, which damaged the economy and embarrassed the "
    "communist regime. Walter Ulbricht pressed Khrushchev to close the border, and on 13 August 1961 "
    "soldiers sealed off West Berlin with barbed wire, later a concrete wall."
)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def berlin() -> Scorer:
    return Scorer(build_rubric(BERLIN_Q, BERLIN_MODEL, rubric_id="berlin"))


# --- claims ------------------------------------------------------------------------


def test_claims_are_sentences_and_long_sentences_split_at_clauses() -> None:
    claims = split_claims(BERLIN_MODEL)
    assert claims[0].startswith("East Germany was losing its skilled workers")
    assert any(c.startswith("Walter Ulbricht pressed Khrushchev") for c in claims)
    assert any("13 August 1961" in c for c in claims)
    assert all(len(c.split()) >= 3 for c in claims)


@pytest.mark.parametrize(
    "text",
    ["The U.S. Senate has 100 members.", "Dr. King led the march in Washington, D.C. in 1963.",
     "J. F. Kennedy was elected in 1960.", "Prices rose 3.5 percent."],
)
def test_abbreviations_initials_and_decimals_do_not_end_a_claim(text: str) -> None:
    assert split_claims(text) == [text]
    assert len({t.sentence for t in tokenize(text)}) == 1


def test_one_concept_per_claim_with_its_own_hint_and_label(berlin: Scorer) -> None:
    rubric = berlin.rubric
    assert len(rubric.concepts) == len(split_claims(BERLIN_MODEL))
    assert len({c.hint for c in rubric.concepts}) == len(rubric.concepts)
    assert rubric.concepts[0].label.startswith("East Germany was losing its skilled workers")
    # the heaviest claim weighs more than the lightest
    assert max(c.weight for c in rubric.concepts) > min(c.weight for c in rubric.concepts)


def test_a_year_alone_and_a_name_alone_carry_weight() -> None:
    rubric = build_rubric("When did the Berlin Wall fall?", "in November 1989", rubric_id="fall")
    scorer = Scorer(rubric)
    year, wrong_year, month = (scorer.score(a) for a in ("1989", "in 1991", "November"))
    assert year.percent >= 50  # the year carries the claim
    assert wrong_year.percent < 50  # another year says the opposite
    assert month.concepts[0].earned < year.concepts[0].earned


# --- alternatives --------------------------------------------------------------------


BRANCHES = ["legislative", "Congress", "executive", "the President", "judicial", "the courts"]


def test_any_alternative_earns_the_concept() -> None:
    rubric = build_rubric("Name one branch of the U.S. government.", "the legislative branch", rubric_id="branch",
                          alternatives=BRANCHES)
    assert len(rubric.concepts) == 1
    scorer = Scorer(rubric)
    for answer in ["Congress", "the executive branch", "The President", "the judiciary", "courts", "Legislative."]:
        assert scorer.score(answer).percent >= 50, answer
    for answer in ["the Senate", "the states", "idk"]:
        assert scorer.score(answer).percent < 50, answer


def test_similarity_takes_the_best_reference_among_the_alternatives() -> None:
    rubric = build_rubric("Name one branch of the U.S. government.", "the legislative branch", rubric_id="branch",
                          alternatives=BRANCHES)
    assert rubric.alternatives == BRANCHES
    with_alternatives = Scorer(rubric).score("the courts").similarity
    without = Scorer(rubric.model_copy(update={"alternatives": []})).score("the courts").similarity
    assert with_alternatives > without


def test_cli_rubric_build_takes_alternatives(capsys, tmp_path: Path) -> None:
    model = tmp_path / "model.txt"
    model.write_text("capitalist economy")
    out = tmp_path / "econ.yaml"
    code = main(["rubric", "build", "--question", "What economic system does the U.S. have?",
                 "--model-answer-file", str(model), "--alternative", "market economy",
                 "--alternative", "free enterprise", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    terms = load_rubric(out).concepts[0].terms
    assert any("market" in t for t in terms) and any("enterprise" in t for t in terms)
    for answer, passes in [("free market", True), ("capitalism", True), ("a market economy", True), ("communism", False)]:
        capsys.readouterr()
        assert main(["score", str(out), "--text", answer, "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert (result["percent"] >= 50) == passes, (answer, result)


def test_cli_rubric_build_from_csv_reads_the_alternatives_column(capsys, tmp_path: Path) -> None:
    table = tmp_path / "questions.csv"
    with table.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["question_id", "question", "reference_answer", "alternatives"])
        w.writerow(["q1", "Who was the first President of the U.S.?", "George Washington", "Washington|President Washington"])
        w.writerow(["q2", "What is the supreme law of the land?", "the Constitution", ""])
    assert main(["rubric", "build", "--from-csv", str(table), "--out-dir", str(tmp_path / "out")]) == 0
    q1 = load_rubric(tmp_path / "out" / "q1.yaml")
    assert len(q1.concepts[0].terms) >= 2
    assert Scorer(q1).score("washington").percent >= 50
    assert Scorer(q1).score("Lincoln").percent < 50
    assert len(load_rubric(tmp_path / "out" / "q2.yaml").concepts[0].terms) == 1


# --- partial credit -----------------------------------------------------------------


def test_partial_credit_follows_the_share_of_the_claim(berlin: Scorer) -> None:
    first = berlin.rubric.concepts[0].id
    credit = {c.concept_id: c.earned for c in berlin.score("Skilled workers kept leaving for the West.").concepts}
    some = credit[first]
    full = {c.concept_id: c.earned for c in berlin.score(
        "East Germany was losing skilled young workers to the West.").concepts}[first]
    none = {c.concept_id: c.earned for c in berlin.score("The wall was grey.").concepts}[first]
    assert none == 0 < some < full == 1.0


def test_partial_credit_is_a_ramp() -> None:
    assert partial_credit(0.0) == 0.0 and partial_credit(1.0) == 1.0
    values = [partial_credit(x / 20) for x in range(21)]
    assert values == sorted(values)


def test_words_of_a_claim_can_spread_over_two_sentences(berlin: Scorer) -> None:
    result = berlin.score("Loads of people were leaving East Germany. They were skilled workers going to the West.")
    assert result.concepts[0].earned == 1.0


def test_stop_list_keeps_content_words() -> None:
    assert "bill" in compile_phrase("Bill of Rights").stems
    assert "system" in compile_phrase("the checks and balances system").stems


@pytest.mark.parametrize("cue", ["rarely", "seldom", "never", "not"])
def test_negation_cues(cue: str) -> None:
    tokens = tokenize(f"the secret police {cue} arrested writers")
    assert is_negated(tokens, 4)


# --- scoring rules --------------------------------------------------------------------


def test_an_answer_covering_every_concept_gets_full_marks_in_its_own_words() -> None:
    rubric = build_rubric(BERLIN_Q, BERLIN_MODEL, rubric_id="berlin")
    scorer = Scorer(rubric)
    assert scorer.score(BERLIN_MODEL).percent == 100
    paraphrase_of_all = " ".join(c.label + "." for c in rubric.concepts)
    assert scorer.score(paraphrase_of_all).percent == 100


def test_similarity_alone_never_reaches_the_pass_mark() -> None:
    """Wording of the model answer with none of its ideas: no concept earned, below the pass mark."""
    rubric = build_rubric("What did the Declaration of Independence do?", "declared independence from Great Britain",
                          rubric_id="decl")
    for max_score, step in [(1, 0.5), (10, 0.5), (4, 1)]:
        data = rubric.model_dump()
        data["max_score"] = max_score
        data["scoring"]["score_step"] = step
        scorer = Scorer(type(rubric).model_validate(data))
        result = scorer.score("Great Britain and the independence of the colonies in general.")
        if not any(c.earned for c in result.concepts):
            assert result.score < rubric.scoring.pass_mark * max_score


def test_flags_do_not_hit_answers_that_earn_concepts() -> None:
    rubric = build_rubric("What did the Declaration of Independence do?", "declared independence from Great Britain",
                          rubric_id="decl", alternatives=["declared our independence"])
    result = Scorer(rubric).score("declared our independence")
    codes = {f.code for f in result.flags}
    assert "copies_question" not in codes and "off_topic" not in codes
    assert result.percent >= 50


def test_a_negated_claim_costs_a_clear_share(berlin: Scorer) -> None:
    plain = berlin.score("East Germany was losing skilled workers to the West, so the border was closed.")
    negated = berlin.score("East Germany was not losing skilled workers to the West, so the border was closed.")
    assert plain.percent - negated.percent >= 15
    assert any(f.code == "negated_concept" for f in negated.flags)


# --- held-out samples, built rubrics, no edits ---------------------------------------


def test_new_history_questions_rank_answers_like_the_teacher() -> None:
    questions = [q for q in _read(REPO / "samples" / "history" / "questions.csv") if q["split"] == "heldout"]
    graded = _read(REPO / "samples" / "history" / "graded.csv")
    assert len(questions) >= 2
    for q in questions:
        scorer = Scorer(build_rubric(q["question"], q["model_answer"], rubric_id=q["question_id"]))
        rows = [r for r in graded if r["question_id"] == q["question_id"]]
        assert len(rows) >= 15
        ours = [scorer.score(r["answer"]).score for r in rows]
        assert spearmanr([float(r["score"]) for r in rows], ours)[0] >= 0.75, q["question_id"]


def test_short_answers_with_alternatives_agree_with_the_teacher_at_the_pass_mark() -> None:
    questions = [q for q in _read(REPO / "samples" / "short-answer" / "questions.csv") if q["split"] == "heldout"]
    graded = _read(REPO / "samples" / "short-answer" / "graded.csv")
    agree = []
    for q in questions:
        rubric = build_rubric(q["question"], q["model_answer"], rubric_id=q["question_id"],
                              max_score=float(q["max_score"]), alternatives=q["alternatives"].split("|"))
        scorer = Scorer(rubric)
        for r in (r for r in graded if r["question_id"] == q["question_id"]):
            result = scorer.score(r["answer"])
            agree.append((result.score >= rubric.scoring.pass_mark * rubric.max_score) == (float(r["score"]) >= 1))
    assert len(agree) >= 150
    share_correct = np.mean([float(r["score"]) >= 1 for r in graded if r["split"] == "heldout"])
    assert np.mean(agree) > max(share_correct, 1 - share_correct) + 0.1  # clearly better than one mark for all


def test_built_rubric_round_trips_through_yaml(tmp_path: Path) -> None:
    rubric = build_rubric(BERLIN_Q, BERLIN_MODEL, rubric_id="berlin")
    path = tmp_path / "berlin.yaml"
    path.write_text(yaml.safe_dump(rubric.model_dump(), sort_keys=False))
    assert load_rubric(path) == rubric


def test_forms_of_one_word_match_beyond_the_stemmer() -> None:
    """Snowball gives "economi" and "econom": a stem of six letters that begins another is the same word."""
    rubric = build_rubric("Why did the Depression spread?", "The collapse of the American economy hit trade "
                          "with every nation that sold goods to it.", rubric_id="dep", use_wordnet=False)
    scorer = Scorer(rubric)
    own = scorer.score("economic collapse in America cut national trade")
    other = scorer.score("people were sad")
    assert own.concepts[0].earned > 0.5 > other.concepts[0].earned
