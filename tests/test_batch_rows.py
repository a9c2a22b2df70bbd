"""grader.batch.score_rows: the in-memory scoring the app uses (run_batch is tested elsewhere).

The app and ``grader batch`` share one row check (grader.rows.check_row): the same row gets
the same score or the same ``error_*`` code in both.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from grader.batch import run_batch, score_rows
from grader.errors import InputError
from grader.scorer_set import ScorerSet
from grader.tabular import BadRow, read_rows

from conftest import REPO

SAMPLES = REPO / "samples" / "destalinization" / "graded.csv"
RUBRICS = REPO / "rubrics" / "destalinization"


@pytest.fixture(scope="module")
def scorers() -> ScorerSet:
    return ScorerSet.from_folder(RUBRICS)


def test_scores_match_the_scorer_set_and_progress_counts_every_row(scorers: ScorerSet) -> None:
    header, rows = read_rows(SAMPLES)
    rows = list(rows)
    seen: list[int] = []
    out = score_rows(header, rows, scorers, answer_col="answer", question_col="question_id", chunk_size=50, on_progress=seen.append)
    assert len(rows) > 100 and seen == [50] * (len(rows) // 50) + [len(rows) % 50] * (len(rows) % 50 > 0)
    assert len(out) == len(rows)
    assert [o.line for o in out] == [line for line, _ in rows]
    for o in out[:10]:
        assert o.result is not None and o.error is None
        assert o.result == scorers.score(o.rubric_id, o.cells[2])


BROKEN_ROWS = [
    (2, ["destal-politics", "Khrushchev freed political prisoners."]),
    (3, ["nope", "text"]),
    (4, ["destal-politics", "   "]),
    (5, BadRow(5, "error_bad_row", "bad quote")),
    (6, ["destal-politics"]),  # no answer cell at all: ragged, as grader batch says
    (7, ["destal-politics", "Khrushchev freed", " political prisoners."]),  # an extra cell: ragged
    (8, ["destal-politics", "Khrushchev freed political prisoners in 1956 caf\ufffd."]),  # undecodable bytes
]


def test_broken_rows_are_kept_with_the_same_error_as_the_cli(scorers: ScorerSet) -> None:
    out = score_rows(["question_id", "answer"], BROKEN_ROWS, scorers, answer_col="answer", question_col="question_id")
    assert [o.error for o in out] == [
        None, "error_unknown_question", "error_empty_answer", "error_bad_row", "error_ragged_row",
        "error_ragged_row", "error_undecodable",
    ]
    assert out[0].result is not None and all(o.result is None for o in out[1:])


def test_app_and_cli_agree_row_for_row_on_a_file_with_bad_rows(scorers: ScorerSet, tmp_path: Path) -> None:
    source = tmp_path / "answers.csv"
    source.write_bytes(
        b"question_id,answer\n"
        b"destal-politics,Khrushchev freed political prisoners.\n"
        b"destal-politics,Khrushchev freed, political prisoners\n"  # unquoted comma: an extra cell
        b"destal-politics,Khrushchev \xef\xbf\xbd freed prisoners\n"  # U+FFFD: bytes lost in an earlier decoding
        b"nope,text\n"
        b"destal-politics,\n"
    )
    summary = run_batch(RUBRICS, source, tmp_path / "out.csv")
    with open(tmp_path / "out.csv", encoding="utf-8", newline="") as fh:
        cli = [(r["score"], r["flags"]) for r in csv.DictReader(fh)]
    header, rows = read_rows(source)
    app = score_rows(header, rows, scorers, answer_col="answer", question_col="question_id")
    assert [(f"{o.result.score:g}" if o.result else "", o.error or ";".join(dict.fromkeys(f.code for f in o.result.flags)))
            for o in app] == cli
    assert summary.error_count == 4 and sum(o.error is not None for o in app) == 4


def test_one_rubric_for_every_row(scorers: ScorerSet) -> None:
    out = score_rows(["text"], [(2, ["The Thaw freed prisoners."])], scorers, answer_col="TEXT", rubric_id="destal-politics")
    assert out[0].rubric_id == "destal-politics" and out[0].result is not None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"answer_col": "answer"}, "exactly one of rubric_id or question_col"),
        ({"answer_col": "answer", "rubric_id": "x", "question_col": "q"}, "exactly one"),
        ({"answer_col": "answer", "rubric_id": "nope"}, "unknown rubric 'nope'"),
        ({"answer_col": "essay", "rubric_id": "destal-politics"}, "no column 'essay'"),
    ],
)
def test_bad_arguments(scorers: ScorerSet, kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        score_rows(["answer"], [], scorers, **kwargs)
