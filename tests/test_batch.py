"""Batch scoring: every row comes back, in order, the same for any chunk size and job count."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import minimal_rubric_data
from grader.batch import BatchSummary, estimate_rows, run_batch
from grader.chunks import ChunkScorer, chunked
from grader.cli import main
from grader.errors import InputError
from grader.output_columns import output_header
from grader.progress import should_show, track
from grader.rows import Layout
from grader.rubric import load_rubrics

ANSWERS = [
    "Khrushchev denounced Stalin in the Secret Speech of 1956.",
    "Political prisoners were released from the gulag and censorship relaxed during the Thaw.",
    "It became a democracy.",
    "I don't know.",
    "=HYPERLINK(\"http://evil\")",
    "The Thaw: writers were freer, prisoners released, Stalin denounced in a secret speech.",
    "Khrushchev denounced Stalin in the Secret Speech of 1956.",  # a repeat: memo path
]


@pytest.fixture
def rubric_dir(tmp_path: Path, write_rubric: Callable[..., Path]) -> Path:
    """Two rubrics, 'thaw' and 'thaw2' (different max score), in one folder."""
    write_rubric(minimal_rubric_data(), name="rubrics/thaw.yaml")
    write_rubric(minimal_rubric_data(id="thaw2", max_score=5), name="rubrics/thaw2.yaml")
    return tmp_path / "rubrics"


def write_csv(path: Path, rows: list[list[str]], header: tuple[str, ...] = ("question_id", "answer_id", "answer")) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def many_rows(n: int) -> list[list[str]]:
    return [[("thaw", "thaw2")[i % 2], f"a{i}", ANSWERS[i % len(ANSWERS)] + ("" if i % 3 else f" Note {i}.")] for i in range(n)]


def broken_csv(path: Path) -> Path:
    """Good rows mixed with an empty answer, an unknown question, ragged rows and a bad line."""
    lines = [
        "question_id,answer_id,answer",
        'thaw,1,"Khrushchev denounced Stalin in the Secret Speech."',
        "thaw,2,",
        "nosuch,3,Stalin was denounced.",
        "thaw,4,prisoners released,but,split",
        "thaw",
        "thaw2,6," + "x" * 300,
        'thaw2,7,"Censorship relaxed, prisoners freed from the gulag."',
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def small_field_limit():
    """Make csv raise on fields over 200 characters (a broken row) for one test."""
    old = csv.field_size_limit(200)
    yield
    csv.field_size_limit(old)


def test_broken_rows_are_kept_flagged_and_counted(tmp_path: Path, rubric_dir: Path, small_field_limit: None) -> None:
    out = tmp_path / "out.csv"
    summary = run_batch(rubric_dir, broken_csv(tmp_path / "in.csv"), out)
    rows = read_csv(out)
    assert rows[0] == ["question_id", "answer_id", "answer", *("score", "max_score", "percent", "flags", "needs_review")]
    body = rows[1:]
    assert len(body) == 7  # every input row, none dropped
    flags = [r[-2] for r in body]
    assert flags[1:6] == ["error_empty_answer", "error_unknown_question", "error_ragged_row", "error_ragged_row", "error_bad_row"]
    assert body[0][3] != "" and body[6][3] != ""  # the good rows are scored
    assert [r[1] for r in body[:5]] == ["1", "2", "3", "4", ""]
    assert body[1][4] == "10" and body[2][4] == ""  # max_score known only for a known question
    assert all(r[-1] == "true" for r in body[1:6])
    assert (summary.rows, summary.scored, summary.error_count) == (7, 2, 5)
    assert summary.errors == [(3, "error_empty_answer"), (4, "error_unknown_question"), (5, "error_ragged_row"),
                              (6, "error_ragged_row"), (7, "error_bad_row")]
    assert "5 could not be scored" in summary.line() and "line 3 (error_empty_answer)" in summary.line()


def test_stray_legacy_bytes_are_decoded_by_line_and_flagged(tmp_path: Path, rubric_dir: Path) -> None:
    # valid UTF-8 for longer than the encoding sample, then a line in Windows-1252, then one that is neither
    good = b"".join(b"thaw,%d,Khrushchev denounced Stalin in the Secret Speech.\n" % i for i in range(5000))
    data = (b"question_id,answer_id,answer\n" + good + b"thaw,cp,caf\xe9 \xff Stalin denounced\n"
            + b"thaw,bad,Stalin \x81 denounced\n")
    src = tmp_path / "in.csv"
    src.write_bytes(data)
    summary = run_batch(rubric_dir / "thaw.yaml", src, tmp_path / "out.csv")
    cp, bad = read_csv(tmp_path / "out.csv")[-2:]
    assert cp[2] == "caf\u00e9 \u00ff Stalin denounced" and cp[3] != "" and cp[-2] == "mixed_encoding" and cp[-1] == "true"
    assert bad[1] == "bad" and bad[-2] == "error_undecodable;mixed_encoding" and bad[3] == ""
    assert (summary.rows, summary.error_count) == (5002, 1)


def test_one_cp1252_name_in_a_utf8_roster_stays_right(tmp_path: Path, rubric_dir: Path) -> None:
    data = ("question_id,student,answer\nthaw,Jos\u00e9 N\u00fa\u00f1ez,Khrushchev denounced Stalin.\n"
            "thaw,Zo\u00eb Br\u00fcck,Censorship relaxed.\n").encode() + "thaw,Ren\u00e9e,The Thaw.\n".encode("cp1252")
    src = tmp_path / "roster.csv"
    src.write_bytes(data)
    run_batch(rubric_dir / "thaw.yaml", src, tmp_path / "out.csv")
    rows = read_csv(tmp_path / "out.csv")
    assert [r[1] for r in rows[1:]] == ["Jos\u00e9 N\u00fa\u00f1ez", "Zo\u00eb Br\u00fcck", "Ren\u00e9e"]
    assert [r[-2] for r in rows[1:]] == ["", "", "mixed_encoding"] or rows[1][-2] != "mixed_encoding"
    assert rows[3][-2].endswith("mixed_encoding") and rows[3][-1] == "true"


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 50])
def test_streamed_chunks_equal_one_chunk(tmp_path: Path, rubric_dir: Path, chunk_size: int) -> None:
    src = write_csv(tmp_path / "in.csv", many_rows(40))
    run_batch(rubric_dir, src, tmp_path / "whole.csv", chunk_size=10_000)
    summary = run_batch(rubric_dir, src, tmp_path / "streamed.csv", chunk_size=chunk_size)
    assert read_csv(tmp_path / "streamed.csv") == read_csv(tmp_path / "whole.csv")
    assert summary.rows == 40


@pytest.mark.subprocess
def test_parallel_jobs_equal_single_process(tmp_path: Path, rubric_dir: Path, small_field_limit: None) -> None:
    rows = many_rows(60)
    rows[5] = ["thaw", "e", ""]
    rows[17] = ["nosuch", "u", "Stalin"]
    rows[30] = ["thaw", "r", "split", "cells"]
    src = write_csv(tmp_path / "in.csv", rows)
    single = run_batch(rubric_dir, src, tmp_path / "one.csv", chunk_size=7)
    parallel = run_batch(rubric_dir, src, tmp_path / "two.csv", chunk_size=7, jobs=2)
    assert read_csv(tmp_path / "two.csv") == read_csv(tmp_path / "one.csv")
    assert len(read_csv(tmp_path / "two.csv")) == 61
    assert (parallel.rows, parallel.scored, parallel.errors) == (single.rows, single.scored, single.errors)
    assert parallel.error_count == 3


def test_xlsx_input_equals_csv_input(tmp_path: Path, rubric_dir: Path) -> None:
    from openpyxl import Workbook

    rows = [r for r in many_rows(14) if not r[2].startswith("=")]  # Excel would store a formula
    wb = Workbook()
    ws = wb.active
    ws.append(["question_id", "answer_id", "answer"])
    for r in rows:
        ws.append(r)
    wb.save(tmp_path / "in.xlsx")
    run_batch(rubric_dir, tmp_path / "in.xlsx", tmp_path / "x.csv", chunk_size=5)
    run_batch(rubric_dir, write_csv(tmp_path / "in.csv", rows), tmp_path / "c.csv")
    assert read_csv(tmp_path / "x.csv") == read_csv(tmp_path / "c.csv")


def test_memo_gives_the_same_rows_and_stays_bounded(rubric_dir: Path) -> None:
    rubrics = load_rubrics(rubric_dir)
    layout = Layout(width=3, answer_idx=2, question_idx=0)
    chunk = [(i + 2, r) for i, r in enumerate(many_rows(30))]
    memo = ChunkScorer(rubrics, layout, memo_entries=4)
    fresh = ChunkScorer(rubrics, layout, memo_entries=0)
    first = memo(chunk)
    assert memo(chunk) == first == fresh(chunk)  # second pass served from the memo
    assert len(memo._memo) <= 4 and len(fresh._memo) == 0


def test_formula_cells_are_neutralised(tmp_path: Path, rubric_dir: Path) -> None:
    src = write_csv(tmp_path / "in.csv", [["thaw", "=1+1", ANSWERS[4]]])
    run_batch(rubric_dir, src, tmp_path / "out.csv")
    row = read_csv(tmp_path / "out.csv")[1]
    assert row[1] == "'=1+1" and row[2].startswith("'=HYPERLINK")


def test_failed_run_leaves_no_output(tmp_path: Path, rubric_dir: Path) -> None:
    src = write_csv(tmp_path / "in.csv", many_rows(3))
    out = tmp_path / "out.csv"
    with pytest.raises(InputError, match="no column 'reply'"):
        run_batch(rubric_dir, src, out, answer_col="reply")
    assert not out.exists() and not list(tmp_path.glob(".out.csv.*"))


def test_output_header_prefixes_taken_names() -> None:
    assert output_header(["score", "answer"])[2:4] == ["grader_score", "max_score"]


def test_chunked_rejects_zero() -> None:
    with pytest.raises(InputError, match="chunk size must be >= 1"):
        list(chunked(iter([]), 0))


def test_summary_keeps_counting_past_the_reported_lines() -> None:
    summary = BatchSummary()
    for start in range(0, 3000, 100):
        summary.add(100, [(start + k, "error_empty_answer") for k in range(100)])
    assert summary.error_count == 3000 and len(summary.errors) == 1000
    assert summary.line().startswith("scored 0 of 3,000 rows; 3,000 could not be scored (error_empty_answer: 3,000)")


def test_estimate_rows(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "in.csv", many_rows(25))
    assert estimate_rows(src) == 25


# --- progress bar ---


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_track_is_silent_off_a_terminal_or_when_quiet() -> None:
    pipe, tty = io.StringIO(), FakeTTY()
    assert list(track([[1, 2], [3]], size=len, stream=pipe)) == [[1, 2], [3]]
    assert list(track([[1]], size=len, stream=tty, quiet=True)) == [[1]]
    assert pipe.getvalue() == "" and tty.getvalue() == ""
    assert not should_show(pipe) and should_show(tty) and not should_show(tty, quiet=True)


def test_track_draws_rows_and_the_real_count_on_a_terminal() -> None:
    tty = FakeTTY()
    items = list(track([[0] * 10] * 5, size=len, total=60, stream=tty))  # an over-estimated total
    assert len(items) == 5
    last = tty.getvalue().rstrip().split("\r")[-1]
    assert "50/50" in last and "rows" in last and "100%" in last


# --- CLI ---


@pytest.mark.subprocess
def test_cli_batch_jobs_quiet(tmp_path: Path, rubric_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_csv(tmp_path / "in.csv", many_rows(9) + [["thaw", "x", ""]])
    code = main(["batch", str(rubric_dir), str(src), "-o", str(tmp_path / "out.csv"), "--jobs", "2",
                 "--chunk-size", "3", "--quiet"])
    err = capsys.readouterr().err
    assert code == 0
    assert err == "scored 9 of 10 rows; 1 could not be scored (error_empty_answer: 1): line 11 (error_empty_answer)\n"
    assert len(read_csv(tmp_path / "out.csv")) == 11


def run_cli(argv: list[str]) -> int:
    """The exit code of ``grader argv``, whether main returns it or argparse exits."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--jobs", "0"], "--jobs: must be >= 1, got 0"),
        (["--chunk-size", "many"], "--chunk-size: expected a whole number"),
        (["--scheduler", "tcp://127.0.0.1:8786"], "--scheduler needs --engine dask"),
        (["--engine", "spark"], "invalid choice: 'spark'"),
    ],
)
def test_cli_batch_bad_options(
    tmp_path: Path, rubric_dir: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    src = write_csv(tmp_path / "in.csv", many_rows(2))
    code = run_cli(["batch", str(rubric_dir), str(src), "-o", str(tmp_path / "out.csv"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.subprocess
def test_single_answer_path_does_not_import_batch_machinery(tmp_path: Path, write_rubric: Callable[..., Path]) -> None:
    """`grader score` stays lean: no Dask, Excel, app, database or batch modules on its path."""
    import subprocess
    import sys

    rubric = write_rubric()
    code = (
        "import sys; from grader.cli import main; "
        f"rc = main(['score', {str(rubric)!r}, '--text', 'Khrushchev denounced Stalin.', '--json']); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'dask', 'distributed', 'openpyxl', 'streamlit', 'sqlalchemy'} "
        "or m in {'grader.batch', 'grader.chunks', 'grader.output_columns', 'grader.progress', 'grader.dask_engine', "
        "'grader.tabular'}), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[]"
    assert '"score"' in done.stdout
