"""Agreement metrics against hand-computed values, and evaluation of graded tables."""

from __future__ import annotations

import math

import pytest

from grader.errors import InputError
from grader.evaluate import (
    agreement,
    confusion_table,
    evaluate_rows,
    filter_split,
    load_graded,
    quadratic_kappa,
    round_points,
)
from grader.rubric import rubric_from_dict

# y_true=[0,1,2,3], y_pred=[0,2,2,2] (max 3), worked by hand:
#   deviations t: -1.5 -.5 .5 1.5, p: -1.5 .5 .5 .5 -> cov 3, ss 5 and 3 -> r = 3/sqrt(15)
#   Spearman ranks of p are 1,3,3,3 (ties averaged) -> same deviations -> same r
#   errors 0,1,0,-1 -> RMSE sqrt(1/2), MAE 1/2; exact 2/4; adjacent 4/4
#   QWK: sum (i-j)^2 O = 2, sum (i-j)^2 E = 8 with E = rows(1,1,1,1) x cols(1,0,3,0) / 4 -> 1 - 2/8
HAND = {
    "pearson": 3 / math.sqrt(15),
    "spearman": 3 / math.sqrt(15),
    "rmse": math.sqrt(0.5),
    "mae": 0.5,
    "qwk": 0.75,
    "exact": 0.5,
    "adjacent": 1.0,
    "n": 4.0,
}


@pytest.mark.parametrize("key", sorted(HAND))
def test_agreement_matches_hand_computed_values(key: str) -> None:
    got = agreement([0, 1, 2, 3], [0, 2, 2, 2], max_score=3)
    assert got[key] == pytest.approx(HAND[key])


def test_agreement_perfect_and_reversed() -> None:
    perfect = agreement([0, 2, 4], [0, 2, 4], max_score=4)
    assert perfect["pearson"] == pytest.approx(1.0)
    assert perfect["qwk"] == pytest.approx(1.0)
    assert perfect["rmse"] == 0.0
    reversed_ = agreement([0, 2, 4], [4, 2, 0], max_score=4)
    assert reversed_["spearman"] == pytest.approx(-1.0)
    # sum (i-j)^2 O = 16+0+16 = 32; E = 1/3 everywhere -> sum = (0+4+16+4+0+4+16+4+0)/3 = 16
    assert reversed_["qwk"] == pytest.approx(1 - 32 / 16)


@pytest.mark.parametrize(
    ("y_true", "y_pred"),
    [([3, 3, 3], [1, 2, 3]), ([1, 2, 3], [2, 2, 2]), ([5], [4])],
)
def test_correlations_are_nan_when_undefined(y_true: list[float], y_pred: list[float]) -> None:
    got = agreement(y_true, y_pred, max_score=5)
    assert math.isnan(got["pearson"]) and math.isnan(got["spearman"])
    assert not math.isnan(got["mae"])


def test_qwk_nan_when_both_sides_constant_and_equal() -> None:
    got = agreement([2, 2], [2, 2], max_score=4)
    assert math.isnan(got["qwk"])
    assert got["exact"] == 1.0


def test_empty_input_gives_nan_and_zero_count() -> None:
    got = agreement([], [], max_score=10)
    assert got["n"] == 0
    assert all(math.isnan(v) for k, v in got.items() if k != "n")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"y_true": [1, 2], "y_pred": [1], "max_score": 2}, "same length. Got 2 and 1"),
        ({"y_true": [1], "y_pred": [1], "max_score": 0}, "must be > 0. Got 0"),
    ],
)
def test_agreement_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        agreement(kwargs["y_true"], kwargs["y_pred"], max_score=kwargs["max_score"])


@pytest.mark.parametrize(("value", "expected"), [(0.5, 1), (1.5, 2), (2.5, 3), (2.49, 2), (9.5, 10)])
def test_round_points_rounds_half_up(value: float, expected: int) -> None:
    assert round_points([value]).tolist() == [expected]


def test_exact_and_adjacent_use_half_up_rounding() -> None:
    # 2.5 -> 3 and 3 -> 3: exact; 0.4 -> 0 and 1.5 -> 2: two points apart, not adjacent
    got = agreement([3, 0.4], [2.5, 1.5], max_score=5)
    assert got["exact"] == 0.5
    assert got["adjacent"] == 0.5


def test_qwk_rounds_fractional_scores_to_points() -> None:
    assert quadratic_kappa([0, 1.4, 2], [0.2, 1, 1.6], max_score=2) == pytest.approx(1.0)


def test_confusion_table_counts_human_rows_auto_columns() -> None:
    labels, counts = confusion_table([0, 0, 2, 2], [0, 1, 2, 1.6], max_score=2)
    assert labels == [0, 1, 2]
    assert counts == [[1, 1, 0], [0, 0, 0], [0, 0, 2]]


RUBRIC = rubric_from_dict(
    {
        "id": "q1",
        "question": "Who denounced Stalin and where?",
        "model_answer": "Khrushchev denounced Stalin in the Secret Speech of 1956.",
        "max_score": 4,
        "concepts": [
            {"id": "k", "label": "Khrushchev", "terms": ["Khrushchev"]},
            {"id": "s", "label": "Secret Speech", "terms": ["secret speech"]},
        ],
    }
)


def _rows() -> list[dict[str, str]]:
    return [
        {"question_id": "q1", "answer_id": "a", "answer": "Khrushchev denounced Stalin in the Secret Speech of 1956.", "score": "4"},
        {"question_id": "q1", "answer_id": "b", "answer": "I do not know the answer to this one at all.", "score": "0"},
        {"question_id": "q1", "answer_id": "c", "answer": "It was Khrushchev, in a speech to the party congress.", "score": "2"},
        {"question_id": "zz", "answer_id": "d", "answer": "Whatever", "score": "1"},
        {"question_id": "q1", "answer_id": "e", "answer": "Khrushchev did it.", "score": "lots"},
        {"question_id": "q1", "answer_id": "f", "answer": "Khrushchev did it.", "score": "9"},
        {"question_id": "q1", "answer_id": "g", "answer": "  ", "score": "1"},
    ]


def test_evaluate_rows_scores_good_rows_and_reports_bad_ones() -> None:
    report = evaluate_rows({"q1": RUBRIC}, _rows())
    assert [r.answer_id for r in report.rows] == ["a", "b", "c"]
    assert report.problems == [
        "line 5: unknown question 'zz'",
        "line 6: score 'lots' is not a number",
        "line 7: score 9 is outside 0..4",
        "line 8: empty answer",
    ]
    assert report.rows[0].auto == 4.0 and report.rows[1].auto == 0.0
    humans = [r.human for r in report.rows]
    autos = [r.auto for r in report.rows]
    assert report.per_question["q1"] == agreement(humans, autos, max_score=4)
    assert report.overall == agreement(humans, autos, max_score=4)
    assert sum(map(sum, report.confusion)) == 3


def test_disagreements_are_sorted_by_size() -> None:
    rows = _rows()[:3]
    rows[0]["score"] = "0"  # the perfect answer graded 0: the largest disagreement
    report = evaluate_rows({"q1": RUBRIC}, rows, top=2)
    assert report.disagreements[0].answer_id == "a"
    assert report.disagreements[0].difference == 4.0
    assert len(report.disagreements) == 2
    diffs = [abs(r.difference) for r in report.disagreements]
    assert diffs == sorted(diffs, reverse=True)


def test_single_rubric_is_used_when_rows_have_no_question_column() -> None:
    rows = [{"answer": r["answer"], "score": r["score"]} for r in _rows()[:3]]
    report = evaluate_rows({"q1": RUBRIC}, rows, line_numbers=[10, 11, 12])
    assert [r.line for r in report.rows] == [10, 11, 12]
    assert report.rows[0].answer_id == "line-10"


def test_overall_rescales_when_max_scores_differ() -> None:
    other = RUBRIC.model_copy(update={"id": "q2", "max_score": 10})
    rows = _rows()[:3] + [{**r, "question_id": "q2"} for r in _rows()[:3]]
    report = evaluate_rows({"q1": RUBRIC, "q2": other}, rows)
    assert report.overall_max_score == 10.0
    assert set(report.per_question) == {"q1", "q2"}
    assert report.overall["n"] == 6


def test_no_usable_row_raises() -> None:
    with pytest.raises(InputError, match="no graded answer could be scored.*unknown question"):
        evaluate_rows({"q1": RUBRIC}, [_rows()[3]])


def test_load_graded_and_filter_split(tmp_path) -> None:
    path = tmp_path / "graded.csv"
    path.write_text(
        'question_id,answer_id,answer,score,split\nq1,a,"Khrushchev, in the Secret Speech",4,tune\n'
        "q1,b,no idea,0,heldout\n",
        encoding="utf-8",
    )
    rows, lines = load_graded(path)
    assert lines == [2, 3]
    assert rows[0]["answer"] == "Khrushchev, in the Secret Speech"
    kept, kept_lines = filter_split(rows, lines, "heldout")
    assert [r["answer_id"] for r in kept] == ["b"] and kept_lines == [3]
    report = evaluate_rows({"q1": RUBRIC}, kept, line_numbers=kept_lines)
    assert report.rows[0].line == 3


def _write_cli_inputs(tmp_path) -> tuple:
    from grader.rubric import rubric_to_yaml

    rubric_path = tmp_path / "q1.yaml"
    rubric_path.write_text(rubric_to_yaml(RUBRIC), encoding="utf-8")
    csv_path = tmp_path / "graded.csv"
    lines = ["question_id,answer_id,answer,score,split"]
    for r, split in zip(_rows()[:3], ["tune", "tune", "heldout"]):
        lines.append(f'{r["question_id"]},{r["answer_id"]},"{r["answer"]}",{r["score"]},{split}')
    lines.append('q1,x,"Khrushchev did it.",12,tune')
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rubric_path, csv_path


def test_cli_evaluate_text_and_json(tmp_path, capsys) -> None:
    import json

    from grader.cli import main

    rubric_path, csv_path = _write_cli_inputs(tmp_path)
    assert main(["evaluate", str(rubric_path), str(csv_path)]) == 0
    captured = capsys.readouterr()
    assert "overall" in captured.out and "Confusion" in captured.out and "Largest disagreements" in captured.out
    assert "line 5: score 12 is outside 0..4" in captured.err
    assert main(["evaluate", str(tmp_path), str(csv_path), "--split", "tune", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["overall"]["n"] == 2
    assert [r["answer_id"] for r in data["rows"]] == ["a", "b"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--score-col", "grade"], "no column 'grade' \\(use --score-col\\)"),
        (["--split", "nope"], "no graded rows in split 'nope'"),
    ],
)
def test_cli_evaluate_bad_input_is_one_line_exit_2(tmp_path, capsys, extra: list[str], message: str) -> None:
    import re

    from grader.cli import main

    rubric_path, csv_path = _write_cli_inputs(tmp_path)
    assert main(["evaluate", str(rubric_path), str(csv_path), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(message, err)
