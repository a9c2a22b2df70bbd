"""The Dask engine on a LocalCluster gives the local engine's output row for row."""

from __future__ import annotations

import builtins
import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import minimal_rubric_data
from grader.batch import run_batch
from grader.errors import GraderError
from grader.rows import Layout
from grader.rubric import load_rubrics

distributed = pytest.importorskip("distributed")
from grader.dask_engine import fingerprint, require_dask, run_batch_dask  # noqa: E402

ANSWERS = [
    "Khrushchev denounced Stalin in the Secret Speech of 1956.",
    "Political prisoners were released from the gulag and censorship relaxed during the Thaw.",
    "It became a democracy.",
    "I don't know.",
    "=cmd|' /C calc'!A0",
]


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A two-process LocalCluster shared by the tests of this module."""
    import logging

    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture
def rubric_dir(tmp_path: Path, write_rubric: Callable[..., Path]) -> Path:
    write_rubric(minimal_rubric_data(), name="rubrics/thaw.yaml")
    write_rubric(minimal_rubric_data(id="thaw2", max_score=4), name="rubrics/thaw2.yaml")
    return tmp_path / "rubrics"


def make_input(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["question_id", "answer_id", "answer"])
        for i in range(n):
            w.writerow([("thaw", "thaw2")[i % 2], i, ANSWERS[i % len(ANSWERS)] + f" ({i % 4})"])
        w.writerow(["thaw", "empty", ""])
        w.writerow(["nosuch", "unknown", "Stalin"])
        w.writerow(["thaw", "ragged", "prisoners released", "and", "more"])
    return path


def read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.parametrize("chunk_size", [4, 1000])
def test_dask_equals_local_row_for_row(tmp_path: Path, rubric_dir: Path, client: Any, chunk_size: int) -> None:
    src = make_input(tmp_path / "in.csv", 37)
    local = run_batch(rubric_dir, src, tmp_path / "local.csv")
    dask = run_batch_dask(rubric_dir, src, tmp_path / "dask.csv", chunk_size=chunk_size, client=client, window=3)
    assert read(tmp_path / "dask.csv") == read(tmp_path / "local.csv")
    assert len(read(tmp_path / "dask.csv")) == 41  # header + 37 + 3 error rows
    assert (dask.rows, dask.scored, dask.errors) == (local.rows, local.scored, local.errors) == (
        40, 37, [(39, "error_empty_answer"), (40, "error_unknown_question"), (41, "error_ragged_row")]
    )
    assert client.status == "running"  # a client passed in is left open for its owner


@pytest.mark.slow
@pytest.mark.subprocess
def test_dask_single_rubric_file(tmp_path: Path, rubric_dir: Path, client: Any) -> None:
    src = make_input(tmp_path / "in.csv", 6)
    run_batch(rubric_dir / "thaw2.yaml", src, tmp_path / "local.csv")
    run_batch_dask(rubric_dir / "thaw2.yaml", src, tmp_path / "dask.csv", chunk_size=2, client=client)
    rows = read(tmp_path / "dask.csv")
    assert rows == read(tmp_path / "local.csv")
    assert {r[4] for r in rows[1:]} == {"4"}  # every row scored against the one rubric


def test_missing_dask_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_dask(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "dask" or name.startswith(("dask.", "distributed")):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    with pytest.raises(GraderError, match=r"needs the optional extra: pip install 'grader\[dask\]'"):
        require_dask()


@pytest.mark.slow  # waits for a connection timeout
def test_unreachable_scheduler_is_a_grader_error(tmp_path: Path, rubric_dir: Path) -> None:
    src = make_input(tmp_path / "in.csv", 2)
    with pytest.raises(GraderError, match=r"^cannot reach the Dask scheduler at tcp://127.0.0.1:9 "):
        run_batch_dask(rubric_dir, src, tmp_path / "o.csv", scheduler="tcp://127.0.0.1:9", connect_timeout=1)
    assert not (tmp_path / "o.csv").exists()


def test_fingerprint_changes_with_the_rubrics(rubric_dir: Path) -> None:
    rubrics = load_rubrics(rubric_dir)
    layout = Layout(3, 2, 0)
    assert fingerprint(rubrics, layout) == fingerprint(load_rubrics(rubric_dir), layout)
    assert fingerprint({"thaw": rubrics["thaw"]}, layout) != fingerprint(rubrics, layout)
    assert fingerprint(rubrics, Layout(3, 1, 0)) != fingerprint(rubrics, layout)


@pytest.mark.slow
@pytest.mark.subprocess
def test_dask_scores_with_learned_data_like_local(tmp_path: Path, rubric_dir: Path, client: Any) -> None:
    from grader.batch import prepare
    from grader.learn import graded_questions, learn_questions
    from grader.learned import save_learned

    rubrics = load_rubrics(rubric_dir)
    answers = [ANSWERS[i % 4] + f" variant {i}" for i in range(24)]
    scores = [float((10, 8, 2, 0)[i % 4]) for i in range(24)]
    src = make_input(tmp_path / "in.csv", 23)
    before = fingerprint(*prepare(rubric_dir, src)[::3])
    save_learned(learn_questions(graded_questions(rubrics, ["thaw"] * 24, answers, scores))["thaw"], rubric_dir)
    assert fingerprint(*prepare(rubric_dir, src)[::3]) != before  # workers must not reuse the scorers of before
    run_batch(rubric_dir, src, tmp_path / "local.csv")
    run_batch_dask(rubric_dir, src, tmp_path / "dask.csv", chunk_size=5, client=client, window=2)
    assert read(tmp_path / "dask.csv") == read(tmp_path / "local.csv")
    assert read(tmp_path / "local.csv")[0][-1] == "confidence"
