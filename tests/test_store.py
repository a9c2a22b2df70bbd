"""grader.store: runs, results and overrides survive a restart; overrides are validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import InputError
from grader.store import ResultRecord, Store, default_url


def records(n: int = 3) -> list[ResultRecord]:
    return [
        ResultRecord(i, i + 2, f"student {i}", "q1", f"answer {i}", float(i), 10.0, 10.0 * i, flags="" if i else "too_short",
                     needs_review=i == 0, reasons="", feedback="line", student_id=f"s{i}")
        for i in range(n)
    ]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'db' / 'grader.sqlite'}")


def test_run_round_trip_keeps_rows_in_order(store: Store) -> None:
    run = store.save_run("week 1", "answers.csv", records())
    assert store.load_results(run) == records()
    [info] = store.list_runs()
    assert (info.id, info.name, info.source, info.n_rows) == (run, "week 1", "answers.csv", 3)


def test_runs_listed_newest_first(store: Store) -> None:
    first = store.save_run("a", "a.csv", records(1))
    second = store.save_run("b", "b.csv", [])
    assert [r.id for r in store.list_runs()] == [second, first]
    assert len(store.list_runs()) == 2
    assert store.load_results(second) == []


def test_data_survives_a_new_store_on_the_same_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'grader.sqlite'}"
    first = Store(url)
    run = first.save_run("x", "x.csv", records())
    first.add_override(run, 1, 9.5, "Answer was right")
    first.engine.dispose()
    again = Store(url)
    assert again.load_results(run)[1].answer == "answer 1"
    assert again.overrides(run)[1].score == 9.5


def test_latest_override_wins(store: Store) -> None:
    run = store.save_run("x", "x.csv", records())
    store.add_override(run, 2, 4.0, "first look")
    store.add_override(run, 2, 6.0, "  second look  ")
    assert store.overrides(run)[2].score == 6.0
    assert store.overrides(run)[2].reason == "second look"
    assert set(store.overrides(run)) == {2}


@pytest.mark.parametrize(
    ("row", "score", "reason", "message"),
    [
        (0, 5.0, "   ", "needs a reason"),
        (0, 11.0, "too high", r"must be in \[0, 10\]. Got 11"),
        (0, -1.0, "negative", r"must be in \[0, 10\]. Got -1"),
        (7, 5.0, "no such row", "has no row 7"),
        (0, 5.0, "x" * 1001, "longer than 1000"),
    ],
)
def test_bad_overrides_are_refused(store: Store, row: int, score: float, reason: str, message: str) -> None:
    run = store.save_run("x", "x.csv", records())
    with pytest.raises(InputError, match=message):
        store.add_override(run, row, score, reason)
    assert store.overrides(run) == {}


def test_unknown_run_is_an_input_error(store: Store) -> None:
    with pytest.raises(InputError, match="no stored run with id 42"):
        store.load_results(42)


def test_default_url_reads_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRADER_DB_URL", raising=False)
    assert default_url() == "sqlite:///data/grader.sqlite"
    monkeypatch.setenv("GRADER_DB_URL", "postgresql+psycopg://u@h/grader")
    assert default_url() == "postgresql+psycopg://u@h/grader"


def test_schema_uses_portable_types_for_postgresql() -> None:
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateTable

    from grader.store import metadata

    ddl = "\n".join(str(CreateTable(t).compile(dialect=postgresql.dialect())) for t in metadata.sorted_tables)
    assert "CREATE TABLE results" in ddl and "TIMESTAMP WITH TIME ZONE" in ddl and "BOOLEAN" in ddl


# --- issue 12, item 10: overrides are never lost to a locked database --------------------------

import sqlite3  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402

from sqlalchemy.exc import IntegrityError  # noqa: E402

from grader.errors import OutputError, StoreBusyError  # noqa: E402


def _hold_write_lock(path: Path, seconds: float) -> threading.Thread:
    """Another writer (as a 100k-row save would) holds SQLite's write lock for ``seconds``."""
    ready = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, timeout=0, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        ready.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    ready.wait()
    return thread


@pytest.mark.slow  # waits for a locked database
def test_override_waits_for_a_long_save_instead_of_failing(tmp_path: Path) -> None:
    db = tmp_path / "grader.sqlite"
    store = Store(f"sqlite:///{db}")
    run = store.save_run("week 1", "a.csv", records())
    holder = _hold_write_lock(db, 6.5)  # longer than SQLite's default 5 s busy timeout
    try:
        saved = store.add_override(run, 1, 7.0, "missed a point")
    finally:
        holder.join()
    assert saved.score == 7.0 and store.overrides(run)[1].reason == "missed a point"


@pytest.mark.slow  # waits for a locked database
def test_override_that_still_cannot_be_written_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "grader.sqlite"
    store = Store(f"sqlite:///{db}", busy_seconds=0.5)
    run = store.save_run("week 1", "a.csv", records())
    holder = _hold_write_lock(db, 2.0)
    try:
        with pytest.raises(StoreBusyError, match=r"^the database is busy .* nothing was saved, try again"):
            store.add_override(run, 1, 7.0, "missed a point")
    finally:
        holder.join()
    assert store.add_override(run, 1, 7.0, "missed a point").score == 7.0  # and works once the lock is free


def test_big_runs_are_written_in_chunks_and_a_failed_save_leaves_nothing(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'g.sqlite'}", chunk_rows=3)
    rows = records(10)
    run = store.save_run("big", "a.csv", rows)
    assert store.load_results(run) == rows
    broken = [*records(5), replace(records(6)[5], student=None)]  # the second chunk fails
    with pytest.raises(IntegrityError):
        store.save_run("broken", "b.csv", broken)
    assert [r.name for r in store.list_runs()] == ["big"]


def test_database_path_must_be_a_regular_file(tmp_path: Path) -> None:
    link = tmp_path / "grader.sqlite"
    link.symlink_to(tmp_path / "elsewhere.sqlite")
    with pytest.raises(OutputError, match="symbolic link"):
        Store(f"sqlite:///{link}")


def test_find_run_by_name_returns_the_newest(store: Store) -> None:
    assert store.find_run("week 1") is None
    store.save_run("week 1", "a.csv", records(1))
    newest = store.save_run("week 1", "a.csv", records(2))
    assert store.find_run("week 1").id == newest


def test_delete_run_removes_rows_and_overrides_only_of_that_run(store: Store) -> None:
    keep = store.save_run("keep", "a.csv", records())
    gone = store.save_run("gone", "b.csv", records())
    store.add_override(gone, 1, 5.0, "checked")
    store.add_override(keep, 1, 6.0, "checked")
    store.delete_run(gone)
    assert [r.id for r in store.list_runs()] == [keep]
    with pytest.raises(InputError, match=f"no stored run with id {gone}"):
        store.load_results(gone)
    assert store.overrides(gone) == {} and store.overrides(keep)[1].score == 6.0
    with pytest.raises(InputError, match="no stored run"):
        store.delete_run(gone)


def test_change_log_marks_and_comments_round_trip(store: Store) -> None:
    run = store.save_run("r", "a.csv", records())
    store.add_rubric_change("set", "q1", "draft saved", " Ann ", ["title: a -> b"])
    store.add_rubric_change("set", "q1", "published", "Bo", ["max_score: 10 -> 12", "concept c added"])
    log = store.rubric_changes("set", "q1")
    assert [(c.action, c.author) for c in log] == [("published", "Bo"), ("draft saved", "Ann")]
    assert log[0].summary.splitlines() == ["max_score: 10 -> 12", "concept c added"]
    assert store.rubric_changes("other", "q1") == []
    store.add_concept_marks(run, 1, "q1", "answer 1", {"a": True, "b": False})
    store.add_concept_marks(run, 1, "q1", "answer 1", {"a": False})
    assert store.marks_of_run(run) == {1: {"a": False, "b": False}}
    assert [(m.concept_id, m.present) for m in store.concept_marks("q1")] == [("a", True), ("b", False), ("a", False)]
    store.set_comment(run, "id:s1", "Well argued.")
    store.set_comment(run, "id:s2", "First.")
    store.set_comment(run, "id:s2", "  ")
    assert store.comments(run) == {"id:s1": "Well argued."}
    store.delete_run(run)
    assert store.comments(run) == {} and store.marks_of_run(run) == {}


def test_replace_results_and_runs_with_questions(store: Store) -> None:
    run = store.save_run("r", "a.csv", records())
    store.add_override(run, 0, 4.0, "kept")
    new = records()[0].__class__(**{**{f: getattr(records()[0], f) for f in records()[0].__slots__}, "score": 9.0})
    store.replace_results(run, [new])
    assert store.load_results(run)[0].score == 9.0 and store.overrides(run)[0].score == 4.0
    assert store.runs_with_questions(["q1"]) == {run: 3} and store.runs_with_questions(["zz"]) == {}


def test_a_deleted_runs_id_is_never_reused(store: Store) -> None:
    first = store.save_run("a", "a.csv", records(1))
    store.delete_run(first)
    assert store.save_run("b", "b.csv", records(1)) > first
