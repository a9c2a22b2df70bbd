"""Learning from graded answers: models, stored data (never pickle), CV without leakage, `next`, CLI."""

from __future__ import annotations

import csv
import io
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import yaml

from grader.batch import run_batch
from grader.errors import InputError, RubricError
from grader.learn import (
    LearnedScoreResult,
    LearnedScorer,
    cross_validate_learning,
    fit_ridge,
    graded_questions,
    learn_questions,
)
from grader.learned import learned_path, learned_to_json, load_learned, save_learned
from grader.pick import pick_next
from grader.rubric import load_rubric, rubric_from_dict
from grader.scorer_set import ScorerSet
from grader.scoring import Scorer

from conftest import minimal_rubric_data, run_main

GOOD = [
    "Khrushchev denounced Stalin in the Secret Speech; political prisoners were released and censorship relaxed.",
    "In the Secret Speech Khrushchev denounced Stalin, prisoners came home from the gulag, censorship relaxed.",
    "Stalin was denounced in a secret speech and many prisoners were freed from the gulag.",
    "Khrushchev's secret speech denounced Stalin and political prisoners were released.",
]
MIDDLE = [
    "Khrushchev gave a speech about Stalin.",
    "Some prisoners were let go after Stalin died.",
    "Things got a bit freer for writers.",
    "There was a speech and some changes happened.",
]
BAD = [
    "The Soviet Union became a democracy with free elections.",
    "Nothing changed at all.",
    "Stalin lived until 1980 and ruled forever.",
    "I do not know the answer to this question.",
]


def _graded_set(repeat: int = 2) -> tuple[list[str], list[float]]:
    answers, scores = [], []
    for k in range(repeat):
        suffix = "" if k == 0 else f" (version {k})"
        answers += [a + suffix for a in GOOD] + [a + suffix for a in MIDDLE] + [a + suffix for a in BAD]
        scores += [9.0, 10.0, 8.0, 9.0] + [5.0, 4.0, 4.0, 5.0] + [0.0, 1.0, 0.0, 0.0]
    return answers, scores


@pytest.fixture()
def rubric_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "rubrics"
    folder.mkdir()
    (folder / "thaw.yaml").write_text(yaml.safe_dump(minimal_rubric_data()), encoding="utf-8")
    return folder


@pytest.fixture()
def learned(rubric_dir: Path):
    rubric = load_rubric(rubric_dir / "thaw.yaml")
    answers, scores = _graded_set()
    questions = graded_questions({"thaw": rubric}, ["thaw"] * len(answers), answers, scores)
    return learn_questions(questions)["thaw"]


# --- learning ------------------------------------------------------------------------------------

def test_fit_ridge_leave_one_out_matches_refitting() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + rng.normal(scale=0.1, size=12)
    fit = fit_ridge(x, y, alphas=[0.5])
    for i in (0, 5, 11):
        keep = np.arange(12) != i
        alone = fit_ridge(x[keep], y[keep], alphas=[0.5])
        # standardisation uses all rows in the closed form, so allow a small difference
        assert abs(alone.predict(x[i : i + 1])[0] - fit.loo[i]) < 0.15


def test_learned_scores_follow_the_teacher(learned, rubric_dir: Path) -> None:
    scorer = LearnedScorer(Scorer(load_rubric(rubric_dir / "thaw.yaml")), learned)
    good, bad = scorer.score_many([GOOD[0] + " (again)", BAD[0] + " (again)"])
    assert isinstance(good, LearnedScoreResult)
    assert good.score >= 7 and bad.score <= 3
    assert 0.0 <= good.confidence <= 1.0
    assert good.explanation.startswith("closest to answers you graded ")
    assert good.neighbours and good.neighbours[0].text.startswith(GOOD[0])
    data = good.to_dict()
    assert data["learned"]["closest_graded"][0]["score"] == 9.0 and "confidence" in data


def test_low_confidence_goes_to_review(learned, rubric_dir: Path) -> None:
    strict = learned.model_copy(update={"confidence_threshold": 1.0})
    result = LearnedScorer(Scorer(load_rubric(rubric_dir / "thaw.yaml")), strict).score("Something about tractors and wheat.")
    assert result.needs_review
    assert any(r.startswith("low confidence (") for r in result.review_reasons)


def test_learning_is_deterministic(rubric_dir: Path, learned) -> None:
    rubric = load_rubric(rubric_dir / "thaw.yaml")
    answers, scores = _graded_set()
    again = learn_questions(graded_questions({"thaw": rubric}, ["thaw"] * len(answers), answers, scores))["thaw"]
    assert learned_to_json(again) == learned_to_json(learned)


def test_too_few_graded_answers_are_refused(rubric_dir: Path) -> None:
    rubric = load_rubric(rubric_dir / "thaw.yaml")
    questions = graded_questions({"thaw": rubric}, ["thaw"] * 3, GOOD[:3], [9.0, 9.0, 8.0])
    with pytest.raises(InputError, match=r"question 'thaw': 3 graded answers, need at least 10"):
        learn_questions(questions)


# --- nothing learned: scores exactly as before ---------------------------------------------------

def test_set_without_learned_data_uses_the_plain_scorer(rubric_dir: Path) -> None:
    rubric = load_rubric(rubric_dir / "thaw.yaml")
    scorers = ScorerSet({"thaw": rubric})
    assert type(scorers["thaw"]) is Scorer
    assert load_learned(rubric_dir, rubric) is None
    answers = GOOD + MIDDLE + BAD
    assert [r.to_dict() for r in scorers["thaw"].score_many(answers)] == [Scorer(rubric).score(a).to_dict() for a in answers]


def _batch(rubric_dir: Path, tmp_path: Path, answers: list[str]) -> list[list[str]]:
    src = tmp_path / "in.csv"
    with src.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["question_id", "answer"])
        w.writerows([["thaw", a] for a in answers])
    out = tmp_path / "out.csv"
    run_batch(rubric_dir, src, out)
    return list(csv.reader(out.open(encoding="utf-8")))


def test_batch_unchanged_without_learned_data_and_gains_confidence_with_it(rubric_dir: Path, tmp_path: Path, learned) -> None:
    answers = [GOOD[0] + " (new)", BAD[1] + " (new)", ""]
    plain = _batch(rubric_dir, tmp_path, answers)
    assert plain[0] == ["question_id", "answer", "score", "max_score", "percent", "flags", "needs_review"]
    expected = Scorer(load_rubric(rubric_dir / "thaw.yaml")).score(answers[0])
    assert plain[1][2] == f"{expected.score:g}"
    save_learned(learned, rubric_dir)
    with_learned = _batch(rubric_dir, tmp_path, answers)
    assert with_learned[0] == [*plain[0], "confidence"]
    assert all(len(row) == len(with_learned[0]) for row in with_learned)
    assert float(with_learned[1][-1]) >= 0 and with_learned[3][-1] == ""  # the empty answer is an error row


# --- stored data: plain validated JSON, never pickle ----------------------------------------------

@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (pickle.dumps({"rubric_id": "thaw"}), "refusing a pickle file"),
        (b"!!python/object/apply:os.system ['echo hacked']", "not valid learned data (JSON"),
        (b'{"format": "grader-learned/1", "__reduce__": "os.system"}', "not valid learned data"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"[1, 2, 3]", "expected a JSON object"),
        (b'{"rubric_id": "thaw", "intercept": NaN}', "NaN is not allowed"),
    ],
)
def test_hostile_or_broken_learned_file_is_one_line_error(rubric_dir: Path, payload: bytes, fragment: str) -> None:
    rubric = load_rubric(rubric_dir / "thaw.yaml")
    learned_path(rubric_dir, "thaw").write_bytes(payload)
    with pytest.raises(RubricError) as info:
        load_learned(rubric_dir, rubric)
    message = str(info.value)
    assert "\n" not in message and "thaw.learned.json" in message and fragment in message


def test_learned_file_must_fit_its_rubric(rubric_dir: Path, learned) -> None:
    save_learned(learned, rubric_dir)
    data = minimal_rubric_data()
    data["concepts"] = data["concepts"][:2]
    (rubric_dir / "thaw.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(RubricError, match="another version of rubric 'thaw'"):
        load_learned(rubric_dir, load_rubric(rubric_dir / "thaw.yaml"))


def test_learned_file_with_wrong_shapes_is_refused(rubric_dir: Path, learned) -> None:
    data = json.loads(learned_to_json(learned))
    data["coef"] = data["coef"][:-1]
    learned_path(rubric_dir, "thaw").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(RubricError, match="coef must have one number per feature"):
        load_learned(rubric_dir, load_rubric(rubric_dir / "thaw.yaml"))


def test_saved_learned_data_round_trips(rubric_dir: Path, learned) -> None:
    path = save_learned(learned, rubric_dir)
    assert path.name == "thaw.learned.json"
    assert load_learned(rubric_dir / "thaw.yaml", load_rubric(rubric_dir / "thaw.yaml")) == learned


# --- cross-validation without leakage --------------------------------------------------------------

def test_cross_validation_never_sees_the_answer_it_scores(rubric_dir: Path) -> None:
    rubric = load_rubric(rubric_dir / "thaw.yaml")
    answers, scores = _graded_set()
    base = cross_validate_learning(graded_questions({"thaw": rubric}, ["thaw"] * len(answers), answers, scores), folds=4)
    for i in (0, 9):
        changed = list(scores)
        changed[i] = 10.0 - changed[i]  # the teacher's score of answer i itself
        other = cross_validate_learning(graded_questions({"thaw": rubric}, ["thaw"] * len(answers), answers, changed), folds=4)
        assert other.predictions["thaw"][i] == base.predictions["thaw"][i]
    assert set(base.before["thaw"]) == set(base.after["thaw"])


# --- next ----------------------------------------------------------------------------------------

def test_next_picks_group_representatives_first() -> None:
    answers = ["the cell wall protects the cell", "the cell wall protects the cell.", "cell wall protects cells",
               "mitochondria make energy", "mitochondria make the energy", "a totally unrelated answer about trains"]
    picks = pick_next(answers, n=3, min_group=2)
    assert [p.index for p in picks][:2] == [0, 3]
    assert picks[0].group_size >= 3 and "represents 3 similar answers" in picks[0].reason
    assert pick_next(answers, n=3, min_group=2) == picks  # deterministic


def test_next_skips_groups_covered_by_graded_answers_then_least_certain() -> None:
    answers = ["the cell wall protects the cell", "the cell wall protects the cell.", "cell wall protects cells",
               "mitochondria make energy", "mitochondria make the energy", "unrelated trains"]
    picks = pick_next(answers, graded=["the cell wall protects the cell"], n=3, min_group=2,
                      confidence=[0.9, 0.9, 0.9, 0.8, 0.8, 0.1])
    assert picks[0].index == 3
    assert picks[1].index == 5 and picks[1].reason.startswith("least certain (confidence 0.10)")


# --- CLI through its real entry point --------------------------------------------------------------


def _graded_csv(path: Path, answers: list[str], scores: list[float]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["question_id", "answer_id", "answer", "score"])
        w.writerows([["thaw", f"a{i}", a, f"{s:g}"] for i, (a, s) in enumerate(zip(answers, scores))])
    return path


def test_cli_learn_then_score_and_next(capsys, rubric_dir: Path, tmp_path: Path) -> None:
    answers, scores = _graded_set()
    graded = _graded_csv(tmp_path / "graded.csv", answers, scores)
    code, out, err = run_main(capsys, "learn", str(rubric_dir), str(graded))
    assert code == 0, err
    assert "before n=24" in out and "after  n=24" in out
    assert (rubric_dir / "thaw.learned.json").is_file() and "wrote" in err
    code, out, _ = run_main(capsys, "score", str(rubric_dir / "thaw.yaml"), "--text", GOOD[1] + " (new)", "--json")
    data = json.loads(out)
    assert code == 0 and data["score"] >= 7 and "closest_graded" in data["learned"]
    code, out, _ = run_main(capsys, "score", str(rubric_dir / "thaw.yaml"), "--text", GOOD[1] + " (new)")
    assert "closest to answers you graded" in out
    pool = _graded_csv(tmp_path / "pool.csv", [a + "!" for a in answers[:12]], [0.0] * 12)
    code, out, err = run_main(capsys, "next", str(rubric_dir), str(pool), "-n", "4")
    rows = list(csv.reader(io.StringIO(out)))
    assert code == 0, err
    assert rows[0] == ["question_id", "answer_id", "answer", "score", "rank", "group", "reason"]
    assert [r[4] for r in rows[1:]] == ["1", "2", "3", "4"] and all(r[6] for r in rows[1:])


def test_cli_learn_refuses_too_few(capsys, rubric_dir: Path, tmp_path: Path) -> None:
    graded = _graded_csv(tmp_path / "graded.csv", GOOD[:4], [9, 9, 8, 9])
    code, _, err = run_main(capsys, "learn", str(rubric_dir), str(graded))
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines() == ["grader: error: question 'thaw': 4 graded answers, need at least 10 to learn from"]
    assert not (rubric_dir / "thaw.learned.json").exists()


def test_cli_score_unchanged_without_learned_data(capsys, rubric_dir: Path) -> None:
    code, out, _ = run_main(capsys, "score", str(rubric_dir / "thaw.yaml"), "--text", GOOD[0], "--json")
    data = json.loads(out)
    assert code == 0 and "confidence" not in data and "learned" not in data
    assert data == Scorer(rubric_from_dict(minimal_rubric_data())).score(GOOD[0]).to_dict()


def test_cli_hostile_learned_file_is_one_line(capsys, rubric_dir: Path) -> None:
    learned_path(rubric_dir, "thaw").write_bytes(pickle.dumps(object))
    code, _, err = run_main(capsys, "score", str(rubric_dir / "thaw.yaml"), "--text", GOOD[0])
    assert code == 2 and len(err.strip().splitlines()) == 1 and "refusing a pickle file" in err


@pytest.mark.parametrize("name", ["grader.learn", "grader.learned", "grader.learned_scoring", "grader.exemplars", "grader.words", "grader.pick"])
def test_docstring_examples(name: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


def test_learning_curve_reports_agreement_per_size(rubric_dir: Path) -> None:
    from grader.learn import learning_curve

    rubric = load_rubric(rubric_dir / "thaw.yaml")
    answers, scores = _graded_set(repeat=3)
    curve = learning_curve(graded_questions({"thaw": rubric}, ["thaw"] * len(answers), answers, scores), sizes=(10, 20, 40))
    assert [c["graded"] for c in curve] == [10.0, 20.0]  # 40 would leave fewer than 5 to score
    assert all(0 < c["n"] and -1 <= c["pearson"] <= 1 for c in curve)


def test_answer_groups_put_same_wording_together() -> None:
    from grader.pick import answer_groups

    groups = answer_groups(["Cell wall.", "mitochondria", "cell  wall.", "Mitochondria!", "trains"])
    assert groups[0] == [0, 2] and [1, 3] in groups and all(4 not in g for g in groups)


def test_cli_next_with_graded_file_never_repicks_graded(capsys, rubric_dir: Path, tmp_path: Path) -> None:
    answers, scores = _graded_set()
    graded = _graded_csv(tmp_path / "graded.csv", answers, scores)
    pool = _graded_csv(tmp_path / "pool.csv", answers[:6] + ["Khrushchev freed prisoners from the gulag camps."], [0.0] * 7)
    code, out, _ = run_main(capsys, "next", str(rubric_dir / "thaw.yaml"), str(pool), "--graded", str(graded), "-n", "3")
    rows = list(csv.reader(io.StringIO(out)))[1:]
    assert code == 0 and [r[2] for r in rows] == ["Khrushchev freed prisoners from the gulag camps."]


def test_learned_data_of_a_folder_of_question_sets_lives_beside_each_rubric(tmp_path: Path, learned) -> None:
    sets = tmp_path / "sets"
    (sets / "history").mkdir(parents=True)
    (sets / "history" / "thaw.yaml").write_text(yaml.safe_dump(minimal_rubric_data()), encoding="utf-8")
    path = save_learned(learned, sets)
    assert path == sets / "history" / "thaw.learned.json"
    assert load_learned(sets, load_rubric(sets / "history" / "thaw.yaml")) == learned


def test_learned_data_reaches_every_engine_and_survives_pickling(rubric_dir: Path, tmp_path: Path, learned) -> None:
    from grader.batch import prepare

    save_learned(learned, rubric_dir)
    answers = [GOOD[0] + " (new)", MIDDLE[0] + " (new)", BAD[1] + " (new)", "", GOOD[1] + " (again)"] * 3
    src = tmp_path / "in.csv"
    with src.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["question_id", "answer"])
        w.writerows([["thaw", a] for a in answers])
    run_batch(rubric_dir, src, tmp_path / "one.csv", chunk_size=4)
    run_batch(rubric_dir, src, tmp_path / "two.csv", chunk_size=4, jobs=2)
    one = list(csv.reader((tmp_path / "one.csv").open(encoding="utf-8")))
    assert one == list(csv.reader((tmp_path / "two.csv").open(encoding="utf-8")))
    assert one[0][-1] == "confidence" and all(len(row) == len(one[0]) for row in one)
    scorers, _, _, layout = prepare(rubric_dir, src)
    assert set(scorers.learned) == set(layout.learned) == {"thaw"}
    again = pickle.loads(pickle.dumps(scorers))
    assert again.learned == scorers.learned
    expected = scorers.score("thaw", answers[0])
    assert again.score("thaw", answers[0]).to_dict() == expected.to_dict() and "confidence" in expected.to_dict()
    assert one[1][2] == f"{expected.score:g}"
