"""Batch scoring (teachers): upload answers, map columns, score, review, override, export."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.common import (
    MAX_UPLOAD_BYTES,
    SAMPLES_CSV,
    note,
    plain,
    rubric_sets,
    rubrics_of,
    scorers_for,
    teacher_gate,
    upload_on_disk,
    warn_set_problems,
)
from grader.batch import MIXED_ENCODING, Row, guess_columns, score_rows
from grader.errors import GraderError, InputError
from grader.gradebook import canvas_rows, grade_records, moodle_rows, result_rows, to_csv
from grader.review import DEFAULT_BOUNDARIES, DEFAULT_MARGIN, final_score, record_from_score, review_queue
from grader.store import ResultRecord, Store, default_url
from grader.tabular import read_table

NONE = "(none)"


def flag_mixed_encoding(record: ResultRecord) -> ResultRecord:
    """A stored row whose line was decoded with the fallback encoding: flagged and sent to review."""
    flags = ";".join(dict.fromkeys([*filter(None, record.flags.split(";")), MIXED_ENCODING]))
    return replace(record, flags=flags, needs_review=True)

if not teacher_gate():
    st.stop()

st.session_state.setdefault("batch_run_id", None)
st.title("Batch scoring")


@st.cache_resource(show_spinner=False)
def get_store(url: str) -> Store:
    """One store (engine + connection pool) per database URL."""
    return Store(url)


@st.cache_resource(show_spinner=False, max_entries=4)
def read_upload(path: str, name: str) -> tuple[list[str], list[Row], frozenset[int]]:
    """Header, rows and fallback-decoded lines of a file on disk, read by the library's reader.

    Cached as a resource (shared, never copied or pickled: the rows are not mutated), keyed
    by the path, which is named by the file's digest.
    """
    try:
        table = read_table(path)
        rows = list(table.rows)
    except GraderError as exc:  # name the user's file, not our copy on disk
        raise InputError(str(exc).replace(str(path), name)) from None
    return table.header, rows, frozenset(table.fallback_lines)


store = get_store(default_url())

# --- 1. the answers -------------------------------------------------------------------------
st.subheader("1. Answers", anchor=False)
upload = st.file_uploader(
    "Upload a CSV or Excel file of answers (one answer per row)",
    type=["csv", "xlsx"],
    key="batch_upload",
    max_upload_size=MAX_UPLOAD_BYTES // (1024 * 1024),
)
use_sample = st.toggle("Use the bundled De-Stalinization sample answers instead", key="batch_use_sample")

source = ""
digest = ""
table: tuple[list[str], list[Row], frozenset[int]] | None = None
try:
    if upload is not None:
        source = upload.name
        path, digest = upload_on_disk(upload, "batch")
        table = read_upload(str(path), source)
    elif use_sample:
        source = SAMPLES_CSV.name
        table = read_upload(str(SAMPLES_CSV), source)
except GraderError as exc:
    st.error(plain(exc))

if table is not None:
    header, rows, mixed_lines = table
    if mixed_lines:
        shown = ", ".join(str(n) for n in sorted(mixed_lines)[:10]) + (" ..." if len(mixed_lines) > 10 else "")
        st.warning(f"{len(mixed_lines)} line(s) are in another encoding than the rest of the file and were "
                   f"decoded on their own (lines {shown}); their rows are flagged for review: check names and accents.")
    st.caption(plain(f"{source}: {len(rows)} rows, columns: {', '.join(header)}"))
    guesses = guess_columns(header)

    def pick(label: str, role: str, key: str, optional: bool) -> str | None:
        options = ([NONE] if optional else []) + header
        guess = guesses.get(role)
        index = options.index(guess) if guess in options else 0
        chosen = st.selectbox(label, options, index=index, key=key)
        return None if chosen == NONE else chosen

    # --- 2. columns and rubric ------------------------------------------------------------
    st.subheader("2. Columns and rubric", anchor=False)
    c1, c2, c3, c4 = st.columns(4)
    with c1:
        answer_col = pick("Answer column", "answer", "batch_col_answer", optional=False)
    with c2:
        student_col = pick("Student name column", "student", "batch_col_student", optional=True)
    with c3:
        student_id_col = pick("Student ID column", "", "batch_col_student_id", optional=True)
    with c4:
        question_col = pick("Question id column", "question", "batch_col_question", optional=True)

    sets = rubric_sets()
    r1, r2, r3 = st.columns([1, 1, 2])
    chosen_set = r1.selectbox("Question set", sets, key="batch_set")
    scorers = scorers_for(chosen_set)
    warn_set_problems(chosen_set)
    modes = ["Each row by its question id", "One rubric for every row"]
    mode = r2.radio("Rubric", modes, index=0 if question_col else 1, key="batch_mode")
    rubric_id = None
    if mode == modes[1]:
        rubric_id = r3.selectbox("Rubric for every row", list(scorers), key="batch_rubric")
    elif question_col is None:
        r3.warning("Choose the question id column, or one rubric for every row.")

    ready = mode == modes[1] or question_col is not None
    if st.button("Score answers", type="primary", disabled=not ready, key="batch_score"):
        bar = st.progress(0.0, text="Scoring...")
        progress = {"done": 0}

        def advance(n: int) -> None:
            progress["done"] += n
            done = progress["done"]
            bar.progress(min(1.0, done / max(1, len(rows))), text=f"Scored {done} of {len(rows)} rows")

        idx = {h: i for i, h in enumerate(header)}
        try:
            scored = score_rows(
                header,
                rows,
                rubrics_of(scorers),
                answer_col=answer_col,
                question_col=None if rubric_id else question_col,
                rubric_id=rubric_id,
                chunk_size=200,
                on_progress=advance,
            )
        except GraderError as exc:
            st.error(plain(exc))
        else:
            records = [
                record_from_score(
                    i,
                    s,
                    student=s.cells[idx[student_col]] if student_col else "",
                    student_id=s.cells[idx[student_id_col]] if student_id_col else "",
                    answer=s.cells[idx[answer_col]],
                )
                for i, s in enumerate(scored)
            ]
            records = [flag_mixed_encoding(r) if r.line in mixed_lines else r for r in records]
            try:
                run_id = store.save_run(f"{source} ({digest[:8] or 'sample'})", source, records)
            except GraderError as exc:  # the database stayed locked: say so, keep the page working
                st.error(plain(exc))
            else:
                st.session_state["batch_run_id"] = run_id
                st.session_state["batch_run_pick"] = run_id  # show the new run, not the one picked before
                bar.progress(1.0, text=f"Scored {len(records)} rows")

# --- 3. results, review and overrides ---------------------------------------------------
runs = store.list_runs()
if runs:
    ids = [r.id for r in runs]
    current = st.session_state["batch_run_id"]
    labels = {r.id: f"#{r.id} {r.name} - {r.n_rows} rows - {r.created_at:%Y-%m-%d %H:%M}" for r in runs}
    st.subheader("3. Results", anchor=False)
    run_id = st.selectbox(
        "Run", ids, index=ids.index(current) if current in ids else 0, format_func=labels.get, key="batch_run_pick"
    )
    st.session_state["batch_run_id"] = run_id
    records = store.load_results(run_id)
    overrides = store.overrides(run_id)

    with st.expander("Review settings", expanded=False):
        bounds_text = st.text_input(
            "Grade boundaries (% of max score)", ", ".join(f"{b:g}" for b in DEFAULT_BOUNDARIES), key="batch_bounds"
        )
        margin = st.number_input("Near a boundary means within (percentage points)", 0.0, 50.0, DEFAULT_MARGIN, 0.5, key="batch_margin")
    try:
        boundaries = tuple(float(b) for b in bounds_text.replace(";", ",").split(",") if b.strip())
    except ValueError:
        st.warning("Boundaries must be numbers separated by commas; using the defaults.")
        boundaries = DEFAULT_BOUNDARIES

    flash = st.session_state.pop("batch_flash", None)
    if flash:
        st.success(flash)
    queue = review_queue(records, boundaries=boundaries, margin=margin)
    scored_n = sum(r.score is not None for r in records)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Rows", len(records))
    m2.metric("Scored", scored_n)
    m3.metric("Needs review", len(queue))
    m4.metric("Overridden", len(overrides))

    def frame(items: list, groups: dict[int, str] | None = None) -> pd.DataFrame:
        out = []
        for rec in items:
            ov = overrides.get(rec.row)
            out.append(
                {
                    "row": rec.row,
                    "line": rec.line,
                    "student": rec.student or rec.student_id,
                    "question": rec.question_id,
                    "auto score": rec.score,
                    "override": None if ov is None else ov.score,
                    "final score": final_score(rec, None if ov is None else ov.score),
                    "max": rec.max_score,
                    **({"why review": groups.get(rec.row, "")} if groups is not None else {}),
                    "flags": rec.flags,
                    "reasons": rec.reasons,
                    "override reason": "" if ov is None else ov.reason,
                    "answer": rec.answer[:300],
                }
            )
        return pd.DataFrame(out)

    tab_review, tab_all, tab_charts, tab_export = st.tabs(["Needs review first", "All rows", "Score histograms", "Download"])
    with tab_review:
        groups = {rec.row: g for rec, g in queue}
        if queue:
            st.dataframe(frame([rec for rec, _ in queue], groups), hide_index=True, width="stretch", key="batch_queue_table")
        else:
            st.success("Nothing needs review in this run.")
        st.markdown("**Override a score** (the automatic score stays on record)")
        order = [rec.row for rec, _ in queue] + [r.row for r in records if r.row not in groups]
        by_row = {r.row: r for r in records}
        row = st.selectbox(
            "Row",
            order,
            format_func=lambda n: f"row {n} (line {by_row[n].line}) {by_row[n].student or by_row[n].student_id} "
            f"{by_row[n].question_id}: auto {by_row[n].score if by_row[n].score is not None else '-'}",
            key="batch_override_row",
        )
        rec = by_row[row]
        with st.container(border=True):
            note(rec.answer or "(empty answer)", "answer")
            if rec.flags or rec.reasons:
                st.caption(plain(f"Flags: {rec.flags or '-'}; reasons: {rec.reasons or '-'}"))
            if rec.row in overrides:
                st.caption(plain(f"Current override: {overrides[rec.row].score:g} ({overrides[rec.row].reason})"))
        top = float(rec.max_score or 10)
        with st.form("batch_override_form"):
            o1, o2 = st.columns([1, 3])
            new_score = o1.number_input("New score", 0.0, top, float(rec.score or 0.0), 0.5, key="batch_override_score")
            reason = o2.text_input("Reason (required)", key="batch_override_reason", max_chars=1000)
            save = st.form_submit_button("Save override", key="batch_override_save")
        if save:
            try:
                store.add_override(run_id, row, new_score, reason)
            except GraderError as exc:
                st.error(plain(exc))
            else:
                auto = f"{rec.score:g}" if rec.score is not None else "-"
                st.session_state["batch_flash"] = f"Saved: row {row} now scores {new_score:g} (automatic score {auto})."
                st.rerun()
    with tab_all:
        st.dataframe(frame(records), hide_index=True, width="stretch", key="batch_all_table")
    with tab_charts:
        scores = frame(records)
        scores = scores[scores["final score"].notna()]
        if scores.empty:
            st.info("No scored rows.")
        else:
            chart = (
                alt.Chart(scores)
                .mark_bar()
                .encode(
                    x=alt.X("final score:Q", bin=alt.Bin(step=1), title="final score"),
                    y=alt.Y("count():Q", title="answers"),
                    facet=alt.Facet("question:N", columns=3, title=None),
                )
                .properties(width=220, height=160)
            )
            st.altair_chart(chart, key="batch_histograms")
    with tab_export:
        item = st.text_input(
            "Gradebook item name (blank: one column per question id)", key="batch_item_name", max_chars=100
        ).strip() or None
        grades = grade_records(records, overrides, item=item)
        maxima = {item or r.question_id or "grader": r.max_score for r in records if r.max_score is not None}
        d1, d2, d3 = st.columns(3)
        d1.download_button(
            "Results CSV", to_csv(result_rows(records, overrides)),
            file_name=f"grader-run-{run_id}.csv", mime="text/csv", key="batch_dl_csv",
        )
        d2.download_button(
            "Canvas gradebook CSV", to_csv(canvas_rows(grades, points_possible=maxima)),
            file_name=f"canvas-run-{run_id}.csv", mime="text/csv", key="batch_dl_canvas",
        )
        d3.download_button(
            "Moodle grades CSV", to_csv(moodle_rows(grades)),
            file_name=f"moodle-run-{run_id}.csv", mime="text/csv", key="batch_dl_moodle",
        )
        st.caption("Every cell is spreadsheet-safe: text starting with = + - @ is prefixed with an apostrophe. "
                   "Overrides replace the automatic score; their reasons stay in the results CSV only.")
