"""ScorerSet: one way to get scorers, so every front end gives the same result for the same answer.

The bundled 224 graded answers go through ``grader score``, ``grader batch``, the app's
Practice / Batch / studio scoring functions and ``evaluate``; all must agree on score,
flags, feedback and whether the answer goes to review. Before the scorer set, Practice and
the studio built scorers without the rest of the question set and missed ``wrong_question``
on 7 of these answers.
"""

from __future__ import annotations

import csv
import json
import pickle
import sys
from pathlib import Path

import pytest

from grader.batch import score_rows
from grader.cli import main
from grader.errors import InputError
from grader.evaluate import evaluate_rows, load_graded
from grader.scorer_set import ScorerSet
from grader.scoring import Scorer
from grader.tabular import read_rows

from conftest import REPO, SEED_DIR

SAMPLES = REPO / "samples" / "destalinization" / "graded.csv"
WRONG_QUESTION = {"pol-018", "pol-019", "pol-035", "ee-021", "ee-022", "gs-020", "gs-021"}
"""Answers written for another question of the set: only a scorer that knows the set flags them."""

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


@pytest.fixture(scope="module")
def samples() -> list[dict[str, str]]:
    with SAMPLES.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def reference(samples) -> dict[str, tuple]:
    """(score, flag codes, feedback texts, needs_review) of every sample, from one ScorerSet."""
    scorers = ScorerSet.from_folder(SEED_DIR)
    out = {}
    for row in samples:
        r = scorers.score(row["question_id"], row["answer"])
        out[row["answer_id"]] = (r.score, r.flag_codes, [i.text for i in r.feedback], r.needs_review)
    return out


def test_the_set_flags_answers_to_another_question(reference) -> None:
    flagged = {aid for aid, (_, codes, _, _) in reference.items() if "wrong_question" in codes}
    assert flagged == WRONG_QUESTION


def test_cli_score_on_the_folder_gives_the_set_result(capsys, samples, reference) -> None:
    picked = [r for r in samples if r["answer_id"] in WRONG_QUESTION] + samples[::45]  # each call fits a scorer
    for row in picked:
        code = main(["score", str(SEED_DIR), "--question", row["question_id"], "--text", row["answer"], "--json"])
        out = json.loads(capsys.readouterr().out)
        assert code == 0
        codes = list(dict.fromkeys(f["code"] for f in out["flags"]))
        assert (out["score"], codes, out["feedback"], out["needs_review"]) == reference[row["answer_id"]], row["answer_id"]


def test_cli_batch_gives_the_set_result(capsys, tmp_path: Path, reference) -> None:
    out_path = tmp_path / "out.csv"
    assert main(["batch", str(SEED_DIR), str(SAMPLES), "-o", str(out_path), "--quiet"]) == 0
    with out_path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(reference)
    for row in rows:
        score, codes, _, review = reference[row["answer_id"]]
        assert (float(row["grader_score"]), row["flags"], row["needs_review"]) == (score, ";".join(codes), str(review).lower())


def test_evaluate_gives_the_set_score(reference) -> None:
    rows, lines = load_graded(SAMPLES)
    report = evaluate_rows(ScorerSet.from_folder(SEED_DIR), rows, line_numbers=lines)
    assert {r.answer_id: r.auto for r in report.rows} == {aid: v[0] for aid, v in reference.items()}


def test_app_pages_score_with_the_cached_set(monkeypatch, samples, reference) -> None:
    monkeypatch.setenv("GRADER_RUBRICS_DIR", str(SEED_DIR.parent))
    from app_pages import common

    practice = common.scorers_for("destalinization")
    assert common.scorers_for("destalinization") is practice  # cached: no refit per click
    header, rows = read_rows(SAMPLES)
    batch = score_rows(header, list(rows), practice, answer_col="answer", question_col="question_id")
    by_id = {s.cells[header.index("answer_id")]: s.result for s in batch}
    for row in samples:
        aid, qid = row["answer_id"], row["question_id"]
        for result in (practice.score(qid, row["answer"]), by_id[aid]):
            assert (result.score, result.flag_codes, [i.text for i in result.feedback], result.needs_review) == reference[aid]
    for row in (r for r in samples if r["answer_id"] in WRONG_QUESTION):  # the studio, trying a saved rubric unchanged
        rubric = practice.rubrics[row["question_id"]]
        studio = common.edited_scorers("destalinization", rubric.id, rubric).score(rubric.id, row["answer"])
        assert studio.flag_codes == reference[row["answer_id"]][1]


def test_replacing_scores_an_edited_rubric_among_the_rest_of_its_set() -> None:
    scorers = ScorerSet.from_folder(SEED_DIR)
    politics = scorers.rubrics["destal-politics"]
    renamed = politics.model_copy(update={"id": "politics-v2"})
    edited = scorers.replacing("destal-politics", renamed)
    assert list(edited) == ["politics-v2"]
    assert set(edited.context) == set(scorers) - {"destal-politics"}  # the old version is not "another question"
    assert set(edited.vocabularies()) == {"politics-v2", *edited.context}


def test_scorers_are_built_once_and_know_the_set() -> None:
    scorers = ScorerSet.from_folder(SEED_DIR)
    assert scorers["destal-politics"] is scorers["destal-politics"]
    assert {rid for rid, _ in scorers["destal-politics"].context_.other_vocabularies} == set(scorers) - {"destal-politics"}
    alone = ScorerSet({"destal-politics": scorers.rubrics["destal-politics"]})
    assert alone.vocabularies() == {} and isinstance(alone["destal-politics"], Scorer)


def test_a_set_pickles_as_its_rubrics() -> None:
    scorers = ScorerSet.from_folder(SEED_DIR)
    scorers["destal-politics"]  # noqa: B018 - fitted here, refitted after unpickling
    copy = pickle.loads(pickle.dumps(scorers))
    assert copy.rubrics == scorers.rubrics and copy._scorers == {}
    answer = "Khrushchev denounced Stalin in the Secret Speech of 1956."
    assert copy.score("destal-politics", answer) == scorers.score("destal-politics", answer)


def test_from_folder_and_from_path() -> None:
    assert list(ScorerSet.from_folder(SEED_DIR)) == sorted(ScorerSet.from_folder(SEED_DIR))
    assert list(ScorerSet.from_path(SEED_DIR / "destal-politics.yaml")) == ["destal-politics"]
    with pytest.raises(InputError, match="expected a folder"):
        ScorerSet.from_folder(SEED_DIR / "destal-politics.yaml")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["score", str(SEED_DIR), "--text", "x"], "needs --question ID"),
        (["score", str(SEED_DIR), "--question", "nope", "--text", "x"], "no rubric with id 'nope'"),
        (["score", str(SEED_DIR / "destal-politics.yaml"), "--question", "nope", "--text", "x"], "no rubric with id 'nope'"),
    ],
)
def test_cli_score_question_errors(capsys, argv: list[str], message: str) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_a_scorer_pickles_and_scores_the_same_after(seed_dir) -> None:
    """A Scorer (with its matcher's misspelling cache) survives pickle, e.g. for a spawn-started worker."""
    import pickle

    from grader.rubric import load_rubrics
    from grader.scoring import Scorer

    rubric = load_rubrics(seed_dir)["destal-politics"]
    scorer = Scorer(rubric)
    answer = "Khrushchev relesed politcal prisoners from the Gulag and denounced Stalin's cult."
    before = scorer.score(answer)
    copy = pickle.loads(pickle.dumps(scorer))
    assert copy.score(answer) == before
    assert copy.matcher_.matcher_._canonical is not scorer.matcher_.matcher_._canonical
