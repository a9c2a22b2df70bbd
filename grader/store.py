"""Persist batch runs, their scored rows and teachers' overrides through SQLAlchemy.

By default a SQLite file at ``data/grader.sqlite`` (the ``data/`` folder is not versioned);
set ``GRADER_DB_URL`` to any SQLAlchemy URL (for example
``postgresql+psycopg://user@host/grader``) to keep them elsewhere. Only portable column
types are used so the same schema works on PostgreSQL. Overrides are appended, never
updated in place: the latest one for a row wins and the history stays.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

from grader.errors import InputError, StoreBusyError
from grader.files import check_target

T = TypeVar("T")

DEFAULT_DB_PATH = Path("data") / "grader.sqlite"
MAX_REASON_CHARS = 1000
SAVE_CHUNK_ROWS = 2000
"""Rows written per transaction when a run is saved: the write lock is released between chunks."""
BUSY_SECONDS = 30.0
"""How long a write keeps retrying while another writer holds the database lock."""

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("source", String(300), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("n_rows", Integer, nullable=False),
    sqlite_autoincrement=True,  # a deleted run's id is never given to a new run
)

results = Table(
    "results",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("row", Integer, primary_key=True),
    Column("line", Integer, nullable=False),
    Column("student", String(300), nullable=False, default=""),
    Column("question_id", String(100), nullable=False, default=""),
    Column("answer", Text, nullable=False, default=""),
    Column("score", Float, nullable=True),
    Column("max_score", Float, nullable=True),
    Column("percent", Float, nullable=True),
    Column("flags", Text, nullable=False, default=""),
    Column("needs_review", Boolean, nullable=False, default=False),
    Column("reasons", Text, nullable=False, default=""),
    Column("feedback", Text, nullable=False, default=""),
    Column("student_id", String(300), nullable=False, default=""),
)

overrides = Table(
    "overrides",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("row", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


rubric_changes = Table(
    "rubric_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("set_name", String(100), nullable=False),
    Column("rubric_id", String(100), nullable=False, index=True),
    Column("action", String(40), nullable=False),
    Column("author", String(200), nullable=False, default=""),
    Column("summary", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

concept_marks = Table(
    "concept_marks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("row", Integer, nullable=False),
    Column("question_id", String(100), nullable=False, default=""),
    Column("concept_id", String(100), nullable=False),
    Column("present", Boolean, nullable=False),
    Column("answer", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


student_comments = Table(
    "student_comments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("student_key", String(400), nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True, slots=True)
class RubricChange:
    """One entry of a rubric's change log: who did what, when, and what changed (one line each)."""

    set_name: str
    rubric_id: str
    action: str
    author: str
    summary: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ConceptMark:
    """A teacher's judgement that a concept is present or absent in one answer (kept for rubric tuning)."""

    run_id: int
    row: int
    question_id: str
    concept_id: str
    present: bool
    answer: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ResultRecord:
    """One scored row as stored: ``row`` is its position in the run (0-based)."""

    row: int
    line: int
    student: str
    question_id: str
    answer: str
    score: float | None
    max_score: float | None
    percent: float | None
    flags: str = ""
    needs_review: bool = False
    reasons: str = ""
    feedback: str = ""
    student_id: str = ""


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A stored batch run."""

    id: int
    name: str
    source: str
    created_at: datetime
    n_rows: int


@dataclass(frozen=True, slots=True)
class Override:
    """A teacher's score for a row, with the reason, replacing the automatic score."""

    run_id: int
    row: int
    score: float
    reason: str
    created_at: datetime


def default_url() -> str:
    """``GRADER_DB_URL`` if set, else a SQLite file ``data/grader.sqlite`` under the working folder."""
    return os.environ.get("GRADER_DB_URL") or f"sqlite:///{DEFAULT_DB_PATH}"


def _sqlite_wal(dbapi_connection: Any, _record: Any) -> None:
    """SQLite in WAL mode: readers never wait for a writer, and a writer never waits for readers."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()


def _is_busy(exc: OperationalError) -> bool:
    text = str(exc.orig if exc.orig is not None else exc).lower()
    return "locked" in text or "busy" in text


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Store:
    """Runs, results and overrides in one database; tables are created on first use.

    Examples
    --------
    >>> s = Store("sqlite://")
    >>> rid = s.save_run("demo", "x.csv", [ResultRecord(0, 2, "Ann", "q1", "text", 5.0, 10.0, 50.0)])
    >>> s.add_override(rid, 0, 7.5, "Good point missed by the scorer").score
    7.5
    >>> s.overrides(rid)[0].reason
    'Good point missed by the scorer'
    """

    def __init__(
        self, url: str | None = None, *, engine: Engine | None = None, busy_seconds: float = BUSY_SECONDS,
        chunk_rows: int = SAVE_CHUNK_ROWS,
    ) -> None:
        self.url = url or default_url()
        self.busy_seconds = busy_seconds
        self.chunk_rows = chunk_rows
        if engine is None:
            parsed = make_url(self.url)
            if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
                check_target(parsed.database)  # a regular file or absent: never a device, FIFO or link
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
                engine = create_engine(self.url, future=True, connect_args={"timeout": min(5.0, busy_seconds)})
                event.listen(engine, "connect", _sqlite_wal)
            else:
                engine = create_engine(self.url, future=True)
        self.engine = engine
        self._retry(lambda: metadata.create_all(self.engine))

    def _retry(self, write: Callable[[], T]) -> T:
        """Run ``write``, retrying while the database is locked by another writer, up to ``busy_seconds``.

        Raises :class:`StoreBusyError` (one line, nothing written) if the lock never comes free.
        """
        deadline = time.monotonic() + self.busy_seconds
        pause = 0.05
        while True:
            try:
                return write()
            except OperationalError as exc:
                if not _is_busy(exc):
                    raise
                if time.monotonic() + pause > deadline:
                    raise StoreBusyError(
                        f"the database is busy (another save has held it for {self.busy_seconds:g} s); "
                        "nothing was saved, try again in a moment"
                    ) from None
                time.sleep(pause)
                pause = min(1.0, pause * 2)

    def save_run(self, name: str, source: str, records: Sequence[ResultRecord]) -> int:
        """Store a run and its rows; return the run id.

        Rows are written :attr:`chunk_rows` per transaction so a big run does not hold the
        write lock for seconds (an override made meanwhile waits one chunk at most). If a
        chunk fails for good, the run and the rows already written are removed.
        """
        def create() -> int:
            with self.engine.begin() as conn:
                return int(conn.execute(
                    runs.insert().values(name=name[:200], source=source[:300], created_at=_now(), n_rows=len(records))
                ).inserted_primary_key[0])

        run_id = self._retry(create)
        try:
            for start in range(0, len(records), self.chunk_rows):
                rows = [{"run_id": run_id, **asdict(r)} for r in records[start : start + self.chunk_rows]]

                def write(rows: list[dict[str, object]] = rows) -> None:
                    with self.engine.begin() as conn:
                        conn.execute(results.insert(), rows)

                self._retry(write)
        except BaseException:
            self._retry(lambda: self._delete_run(run_id))
            raise
        return run_id

    def _delete_run(self, run_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(results.delete().where(results.c.run_id == run_id))
            conn.execute(overrides.delete().where(overrides.c.run_id == run_id))
            conn.execute(runs.delete().where(runs.c.id == run_id))

    def list_runs(self) -> list[RunInfo]:
        """Every run, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(runs).order_by(runs.c.id.desc())).all()
        return [RunInfo(r.id, r.name, r.source, r.created_at, r.n_rows) for r in rows]

    def find_run(self, name: str) -> RunInfo | None:
        """The newest run called ``name`` (names carry a fingerprint of file and settings), or None."""
        with self.engine.connect() as conn:
            r = conn.execute(select(runs).where(runs.c.name == name[:200]).order_by(runs.c.id.desc())).first()
        return None if r is None else RunInfo(r.id, r.name, r.source, r.created_at, r.n_rows)

    def delete_run(self, run_id: int) -> None:
        """Delete a run with its rows and overrides (InputError if it does not exist)."""
        with self.engine.begin() as conn:
            if conn.execute(select(runs.c.id).where(runs.c.id == run_id)).first() is None:
                raise InputError(f"no stored run with id {run_id}")
            # explicit deletes: SQLite enforces ON DELETE CASCADE only with a pragma
            conn.execute(overrides.delete().where(overrides.c.run_id == run_id))
            conn.execute(concept_marks.delete().where(concept_marks.c.run_id == run_id))
            conn.execute(student_comments.delete().where(student_comments.c.run_id == run_id))
            conn.execute(results.delete().where(results.c.run_id == run_id))
            conn.execute(runs.delete().where(runs.c.id == run_id))

    def load_results(self, run_id: int) -> list[ResultRecord]:
        """The rows of a run in their original order (InputError if the run does not exist)."""
        names = [f.name for f in fields(ResultRecord)]
        with self.engine.connect() as conn:
            if conn.execute(select(runs.c.id).where(runs.c.id == run_id)).first() is None:
                raise InputError(f"no stored run with id {run_id}")
            rows = conn.execute(select(results).where(results.c.run_id == run_id).order_by(results.c.row)).all()
        return [ResultRecord(**{n: getattr(r, n) for n in names}) for r in rows]

    def add_override(self, run_id: int, row: int, score: float, reason: str) -> Override:
        """Record a teacher's score for one row; the reason is required and the score must fit the row.

        Raises :class:`InputError` for an unknown row, an empty reason, or a score outside
        ``[0, max_score]``.
        """
        reason = reason.strip()
        if not reason:
            raise InputError("an override needs a reason")
        if len(reason) > MAX_REASON_CHARS:
            raise InputError(f"the reason is longer than {MAX_REASON_CHARS} characters")
        return self._retry(lambda: self._insert_override(run_id, row, score, reason))

    def _insert_override(self, run_id: int, row: int, score: float, reason: str) -> Override:
        with self.engine.begin() as conn:
            target = conn.execute(
                select(results.c.max_score).where(results.c.run_id == run_id, results.c.row == row)
            ).first()
            if target is None:
                raise InputError(f"run {run_id} has no row {row}")
            top = target.max_score
            if score < 0 or (top is not None and score > top):
                limit = f"[0, {top:g}]" if top is not None else ">= 0"
                raise InputError(f"override score must be in {limit}. Got {score:g}")
            created = _now()
            conn.execute(
                overrides.insert().values(run_id=run_id, row=row, score=float(score), reason=reason, created_at=created)
            )
        return Override(run_id, row, float(score), reason, created)

    def overrides(self, run_id: int) -> dict[int, Override]:
        """The latest override of each row of a run, keyed by row."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(overrides).where(overrides.c.run_id == run_id).order_by(overrides.c.id)
            ).all()
        return {r.row: Override(r.run_id, r.row, r.score, r.reason, r.created_at) for r in rows}

    def replace_results(self, run_id: int, records: Sequence[ResultRecord]) -> None:
        """Replace stored rows of a run (same ``row`` numbers) after a re-score; overrides are untouched."""
        names = [f.name for f in fields(ResultRecord) if f.name != "row"]
        with self.engine.begin() as conn:
            for r in records:
                conn.execute(
                    results.update()
                    .where(results.c.run_id == run_id, results.c.row == r.row)
                    .values(**{n: getattr(r, n) for n in names})
                )

    def runs_with_questions(self, question_ids: Sequence[str]) -> dict[int, int]:
        """Runs holding rows of any of ``question_ids``: run id -> number of such rows."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(results.c.run_id, func.count())
                .where(results.c.question_id.in_(list(question_ids)))
                .group_by(results.c.run_id)
            ).all()
        return {int(r[0]): int(r[1]) for r in rows}

    def add_rubric_change(self, set_name: str, rubric_id: str, action: str, author: str, summary: Sequence[str]) -> RubricChange:
        """Append an entry to a rubric's change log."""
        created = _now()
        text = "\n".join(summary)
        with self.engine.begin() as conn:
            conn.execute(rubric_changes.insert().values(
                set_name=set_name[:100], rubric_id=rubric_id[:100], action=action[:40], author=author.strip()[:200],
                summary=text, created_at=created,
            ))
        return RubricChange(set_name, rubric_id, action, author.strip(), text, created)

    def rubric_changes(self, set_name: str, rubric_id: str) -> list[RubricChange]:
        """The change log of one rubric of a set, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(rubric_changes)
                .where(rubric_changes.c.set_name == set_name, rubric_changes.c.rubric_id == rubric_id)
                .order_by(rubric_changes.c.id.desc())
            ).all()
        return [RubricChange(r.set_name, r.rubric_id, r.action, r.author, r.summary, r.created_at) for r in rows]

    def add_concept_marks(self, run_id: int, row: int, question_id: str, answer: str, marks: dict[str, bool]) -> None:
        """Store a teacher's present/absent marks of concepts in one answer (for rubric tuning)."""
        created = _now()
        if not marks:
            return
        with self.engine.begin() as conn:
            conn.execute(concept_marks.insert(), [
                {"run_id": run_id, "row": row, "question_id": question_id, "concept_id": cid, "present": bool(present),
                 "answer": answer, "created_at": created}
                for cid, present in marks.items()
            ])

    def concept_marks(self, question_id: str | None = None) -> list[ConceptMark]:
        """Every stored concept mark (of one question if given), oldest first."""
        query = select(concept_marks).order_by(concept_marks.c.id)
        if question_id is not None:
            query = query.where(concept_marks.c.question_id == question_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [ConceptMark(r.run_id, r.row, r.question_id, r.concept_id, r.present, r.answer, r.created_at) for r in rows]

    def marks_of_run(self, run_id: int) -> dict[int, dict[str, bool]]:
        """The latest concept marks of each row of a run: row -> concept id -> present."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(concept_marks).where(concept_marks.c.run_id == run_id).order_by(concept_marks.c.id)
            ).all()
        out: dict[int, dict[str, bool]] = {}
        for r in rows:
            out.setdefault(r.row, {})[r.concept_id] = bool(r.present)
        return out

    def set_comment(self, run_id: int, student_key: str, comment: str) -> None:
        """Keep the teacher's comment for one student of a run (the latest one counts; empty clears it)."""
        comment = comment.strip()
        if len(comment) > 5 * MAX_REASON_CHARS:
            raise InputError(f"the comment is longer than {5 * MAX_REASON_CHARS} characters")
        with self.engine.begin() as conn:
            conn.execute(student_comments.insert().values(
                run_id=run_id, student_key=student_key[:400], comment=comment, created_at=_now()))

    def comments(self, run_id: int) -> dict[str, str]:
        """The latest non-empty comment per student key of a run."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(student_comments).where(student_comments.c.run_id == run_id).order_by(student_comments.c.id)
            ).all()
        latest = {r.student_key: r.comment for r in rows}
        return {k: v for k, v in latest.items() if v}

    def count_runs(self) -> int:
        """How many runs are stored."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(runs)).scalar_one())
