"""Batch scoring (teachers): upload answers, map columns, score, review, override, export."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.common import (
    FALLBACK_MAX_SCORE,
    GRADE_STEP,
    MAX_UPLOAD_BYTES,
    NAME_MAX_CHARS,
    REASON_MAX_CHARS,
    SAMPLES_CSV,
    get_store,
    note,
    plain,
    plain_numbers,
    rubric_root,
    rubric_sets,
    scorers_for,
    teacher_gate,
    upload_on_disk,
    warn_set_problems,
)
from app_pages.learning import learn_panel
from grader.batch import score_rows
from grader.errors import GraderError
from grader.classview import concept_misses, disagreements, score_spread
from grader.marking import score_with_marks
from grader.reports import build_reports, reports_html, reports_pdf
from grader.rescore import moved, rescore_runs
from grader.scoring import Scorer
from grader.gradebook import (
    DUPLICATE_POLICIES,
    build_gradebook,
    canvas_rows,
    gradebook_rows,
    moodle_rows,
    result_rows,
    to_csv,
)
from grader.review import (
    DEFAULT_BOUNDARIES,
    DEFAULT_MARGIN,
    record_from_score,
    result_table,
    review_queue,
    row_label,
)
from grader.output_columns import MIXED_ENCODING
from grader.rows import Row, guess_columns
from grader.store import ResultRecord
from grader.tabular import read_table

NONE = "(none)"
MIXED_LINES_SHOWN = 10
"""Line numbers listed in the warning about lines in another encoding (then "...")."""
SCORE_CHUNK_ROWS = 200
"""Rows scored per chunk: the progress bar moves after each."""
RUN_DIGEST_CHARS = 10
"""Hex digits of the file-rubrics-columns digest that name a run (the same inputs: the same run)."""
NOTE_MAX_CHARS = 500
"""Longest note a teacher adds to concept marks."""
COMMENT_MAX_CHARS = 5000
"""Longest comment a teacher writes for a student's report."""
MARGIN_MAX = 50.0
"""Widest "near a boundary" margin (percentage points) the review queue's box accepts."""
MARGIN_STEP = 0.5
"""Step of the review queue's margin box (percentage points)."""


def flag_mixed_encoding(record: ResultRecord) -> ResultRecord:
    """A stored row whose line was decoded with the fallback encoding: flagged and sent to review."""
    flags = ";".join(dict.fromkeys([*filter(None, record.flags.split(";")), MIXED_ENCODING]))
    return replace(record, flags=flags, needs_review=True)


if not teacher_gate():
    st.stop()

st.session_state.setdefault("batch_run_id", None)
st.title("Batch scoring")


@st.cache_resource(show_spinner=False, max_entries=4)
def read_upload(path: str, name: str) -> tuple[list[str], list[Row], frozenset[int]]:
    """Header, rows and fallback-decoded lines of a file on disk, read by the library's reader.

    Cached as a resource (shared, never copied or pickled: the rows are not mutated), keyed
    by the path, which is named by the file's digest; errors name the file ``name`` (the
    user's file, not our copy on disk).
    """
    table = read_table(path, name=name)
    rows = list(table.rows)
    return table.header, rows, frozenset(table.fallback_lines)


def review_scorer(question_id: str) -> Scorer | None:
    """The scorer batch scoring uses for a question (from its set's cached scorer set), or None
    if no set has it. The one place this page obtains a scorer for reviewing a stored row.
    """
    for name in rubric_sets():
        scorers = scorers_for(name)
        if question_id in scorers:
            return scorers[question_id]
    return None


@st.cache_resource(show_spinner=False, max_entries=8)
def _row_results(run_id: int, fingerprint: str, _records: tuple) -> dict:
    by_question: dict[str, list] = {}
    for rec in _records:
        if rec.answer.strip() and rec.score is not None:
            by_question.setdefault(rec.question_id, []).append(rec)
    out = {}
    for qid, recs in by_question.items():
        scorer = review_scorer(qid)
        if scorer is not None:
            out.update({rec.row: res for rec, res in zip(recs, scorer.score_many([r.answer for r in recs]))})
    return out


def row_results(run_id: int, records: list) -> dict:
    """The current scorer's full result for every scored row (concepts for reports and the class view)."""
    sets = "".join(r.model_dump_json() for name in rubric_sets() for r in scorers_for(name).rubrics.values())
    sets += "".join(lrn.model_dump_json() for name in rubric_sets() for lrn in scorers_for(name).learned.values())  # grader learn
    fingerprint = hashlib.sha256((sets + "".join(f"{r.row}:{r.question_id}:{r.answer}" for r in records)).encode()).hexdigest()
    return _row_results(run_id, fingerprint, tuple(records))


store = get_store()

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
file_digest = ""
table: tuple[list[str], list[Row], frozenset[int]] | None = None
try:
    if upload is not None:
        source = upload.name
        path, file_digest = upload_on_disk(upload, "batch")
        table = read_upload(str(path), source)
    elif use_sample:
        source = SAMPLES_CSV.name
        file_digest = hashlib.sha256(SAMPLES_CSV.read_bytes()).hexdigest()
        table = read_upload(str(SAMPLES_CSV), source)
except GraderError as exc:
    st.error(plain(exc))

if table is not None:
    header, rows, mixed_lines = table
    if mixed_lines:
        shown = ", ".join(str(n) for n in sorted(mixed_lines)[:MIXED_LINES_SHOWN]) + (" ..." if len(mixed_lines) > MIXED_LINES_SHOWN else "")
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
        student_id_col = pick("Student ID column", "student_id", "batch_col_student_id", optional=True)
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
    # Same file, same rubrics and same column choices: the same run (no duplicate runs).
    rubric_texts = "\n".join(r.model_dump_json() for _, r in sorted(scorers.rubrics.items()))
    settings = f"{chosen_set}|{answer_col}|{student_col}|{student_id_col}|{question_col if not rubric_id else ''}|{rubric_id}"
    digest = hashlib.sha256(file_digest.encode() + settings.encode() + rubric_texts.encode()).hexdigest()[:RUN_DIGEST_CHARS]
    run_name = f"{source} ({digest})"
    if st.button("Score answers", type="primary", disabled=not ready, key="batch_score"):
        existing = store.find_run(run_name)
        if existing is not None:
            st.session_state["batch_run_id"] = existing.id
            st.session_state["batch_run_pick"] = existing.id
            st.session_state["batch_flash"] = (
                f"{source} was already scored with these rubrics and columns: showing run #{existing.id} "
                "(delete it below to score it again)."
            )
        else:
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
                    scorers,  # the cached scorer set: no refit per click
                    answer_col=answer_col,
                    question_col=None if rubric_id else question_col,
                    rubric_id=rubric_id,
                    chunk_size=SCORE_CHUNK_ROWS,
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
                    run_id = store.save_run(run_name, source, records)
                except GraderError as exc:  # the database stayed locked: say so, keep the page working
                    st.error(plain(exc))
                else:
                    st.session_state["batch_run_id"] = run_id
                    st.session_state["batch_run_pick"] = run_id  # show the new run, not the one picked before
                    bar.progress(1.0, text=f"Scored {len(records)} rows")

# --- 3. results, review and overrides ---------------------------------------------------
WRAP_ROW_HEIGHT = 84
TEXT_COLUMNS = {
    "why review": st.column_config.TextColumn("why review", width="small"),
    "flags": st.column_config.TextColumn("flags", width="medium"),
    "reasons": st.column_config.TextColumn("reasons", width="large"),
    "override reason": st.column_config.TextColumn("override reason", width="medium"),
    "answer": st.column_config.TextColumn("answer (wrapped; double-click a cell to read it all)", width="large"),
}


def show_table(rows: list[dict], key: str) -> None:
    """A results table: empty cells stay empty (not "None"), long text is kept whole."""
    df = pd.DataFrame(rows)
    # rows taller than 4rem let Streamlit wrap long text (answers, reasons) instead of cutting it
    st.dataframe(plain_numbers(df), hide_index=True, width="stretch", placeholder="", row_height=WRAP_ROW_HEIGHT,
                 column_config=TEXT_COLUMNS, key=key)


runs = store.list_runs()
flash = st.session_state.pop("batch_flash", None)
if flash:
    st.success(plain(flash))
if runs:
    ids = [r.id for r in runs]
    current = st.session_state["batch_run_id"]
    labels = {r.id: f"#{r.id} {r.name} - {r.n_rows} rows - {r.created_at:%Y-%m-%d %H:%M}" for r in runs}
    st.subheader("3. Results", anchor=False)
    k1, k2 = st.columns([4, 1])
    run_id = k1.selectbox(
        "Run", ids, index=ids.index(current) if current in ids else 0, format_func=labels.get, key="batch_run_pick"
    )
    st.session_state["batch_run_id"] = run_id
    with k2.popover("Delete run", icon=":material/delete:"):
        st.caption(f"Deletes run #{run_id}, its scores and its overrides. This cannot be undone.")
        sure = st.checkbox(f"Yes, delete run #{run_id}", key=f"batch_delete_sure_{run_id}")
        if st.button("Delete", disabled=not sure, key="batch_delete_run"):
            store.delete_run(run_id)
            for key in [k for k in st.session_state if re.match(rf"^batch_[a-z_]+_{run_id}(_|$)", str(k))]:
                del st.session_state[key]  # an old database may give this id to the next run
            st.session_state["batch_run_id"] = None
            st.session_state.pop("batch_run_pick", None)
            st.session_state["batch_flash"] = f"Deleted run #{run_id}."
            st.rerun()
    with k2.popover("Re-score", icon=":material/refresh:"):
        st.caption("Score this run's answers again with the published rubrics (after a rubric change). "
                   "Overrides are kept.")
        if st.button("Re-score this run", key="batch_rescore_run"):
            asked = {r.question_id for r in store.load_results(run_id)}
            changes = []
            for name in rubric_sets():  # each question scored with its own set's scorers, as batch scoring does
                scorers = scorers_for(name)
                if asked & set(scorers):
                    changes += rescore_runs(store, scorers, sorted(asked & set(scorers)), run_ids=[run_id])
            st.session_state["batch_rescored"] = (run_id, changes)
    records = store.load_results(run_id)
    overrides = store.overrides(run_id)
    source_name = next((r.source for r in runs if r.id == run_id), "")
    rescored = st.session_state.get("batch_rescored")
    if rescored is not None and rescored[0] == run_id:
        shifted = moved(rescored[1])
        st.success(f"Re-scored {len(rescored[1])} answers of run #{run_id}: {len(shifted)} automatic scores moved.")
        if shifted:
            st.dataframe(plain_numbers(pd.DataFrame([c.as_row() for c in shifted])), placeholder="",
                         hide_index=True, width="stretch", key="batch_rescore_table")

    with st.expander("Review settings", expanded=False):
        bounds_text = st.text_input(
            "Grade boundaries (% of max score)", ", ".join(f"{b:g}" for b in DEFAULT_BOUNDARIES), key="batch_bounds"
        )
        margin = st.number_input("Near a boundary means within (percentage points)", 0.0, MARGIN_MAX, DEFAULT_MARGIN, MARGIN_STEP,
                                 key="batch_margin")
    try:
        boundaries = tuple(float(b) for b in bounds_text.replace(";", ",").split(",") if b.strip())
    except ValueError:
        st.warning("Boundaries must be numbers separated by commas; using the defaults.")
        boundaries = DEFAULT_BOUNDARIES

    queue = review_queue(records, boundaries=boundaries, margin=margin)
    scored_n = sum(r.score is not None for r in records)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Rows", len(records))
    m2.metric("Scored", scored_n)
    m3.metric("Needs review", len(queue))
    m4.metric("Overridden", len(overrides))

    tab_review, tab_all, tab_students, tab_charts, tab_export, tab_learn = st.tabs(
        ["Needs review first", "All rows", "Students", "Class view", "Download", "Group, grade, learn"]
    )
    marks = store.marks_of_run(run_id)
    results = row_results(run_id, records)
    rubric_of = {q: sc.rubric for q in {r.question_id for r in records} if (sc := review_scorer(q)) is not None}
    comments = store.comments(run_id)
    reports = build_reports(records, overrides, results=results, rubrics=rubric_of, marks=marks, comments=comments)
    with tab_review:
        groups = {rec.row: g for rec, g in queue}
        if queue:
            show_table(result_table([rec for rec, _ in queue], overrides, groups), "batch_queue_table")
        else:
            st.success("Nothing needs review in this run.")
        st.markdown("**Override a score** (the automatic score stays on record)")
        order = [rec.row for rec, _ in queue] + [r.row for r in records if r.row not in groups]
        by_row = {r.row: r for r in records}
        # Every override widget is keyed by run and row: a value typed for one row can never
        # be saved for another row or another run.
        row = st.selectbox("Row", order, format_func=lambda n: row_label(by_row[n]), key=f"batch_override_row_{run_id}")
        rec = by_row[row]
        with st.container(border=True):
            note(rec.answer or "(empty answer)", "answer")
            if rec.flags or rec.reasons:
                note(f"Flags: {rec.flags or '-'}; reasons: {rec.reasons or '-'}", "warning")
            if rec.row in overrides:
                note(f"Current override: {overrides[rec.row].score:g} ({overrides[rec.row].reason})", "info")
        scorer = review_scorer(rec.question_id) if rec.answer.strip() else None
        if scorer is not None:
            result = scorer.score(rec.answer)
            st.markdown("**Grade with the rubric** - tick the concepts the answer really covers; the score follows.")
            marks: dict[str, bool] = {}
            mark_cols = st.columns(2)
            for i, c in enumerate(result.concepts):
                evidence = " | ".join(sp.text for sp in c.evidence) or "no matching words found"
                marks[c.concept_id] = mark_cols[i % 2].checkbox(
                    plain(c.label), value=c.matched, key=f"batch_mark_{run_id}_{row}_{c.concept_id}",
                    help=plain(f"Scorer: {evidence}"),
                )
            marked = score_with_marks(scorer.rubric, result, marks)
            st.caption(f"Score with these marks: {marked.score:g} / {marked.max_score:g} "
                       f"(the current rubric scores it {result.score:g})")
            mark_note = ""
            if marked.changed:
                mark_note = st.text_input("Your note (added to the override's reason, optional)",
                                          key=f"batch_marks_note_{run_id}_{row}", max_chars=NOTE_MAX_CHARS).strip()
            if marked.changed and st.button(
                f"Save {marked.score:g} for line {rec.line} as an override", key=f"batch_marks_save_{run_id}_{row}"
            ):
                reason = marked.reason({c.concept_id: c.label for c in result.concepts})
                reason += f". {mark_note}" if mark_note else ""
                try:
                    store.add_override(run_id, rec.row, marked.score, reason)
                except GraderError as exc:
                    st.error(plain(exc))
                else:
                    store.add_concept_marks(run_id, rec.row, rec.question_id, rec.answer, marks)
                    st.session_state["batch_flash"] = (
                        f"Saved: line {rec.line} now scores {marked.score:g} ({reason})."
                    )
                    st.rerun()
        top = float(rec.max_score or FALLBACK_MAX_SCORE)
        with st.form(f"batch_override_form_{run_id}_{row}"):
            o1, o2 = st.columns([1, 3])
            new_score = o1.number_input(
                "New score", 0.0, top, float(rec.score or 0.0), GRADE_STEP, key=f"batch_override_score_{run_id}_{row}"
            )
            reason = o2.text_input("Reason (required)", key=f"batch_override_reason_{run_id}_{row}", max_chars=REASON_MAX_CHARS)
            save = st.form_submit_button(f"Save override for line {rec.line}", key="batch_override_save")
        if save:
            try:
                store.add_override(run_id, rec.row, new_score, reason)
            except GraderError as exc:
                st.error(plain(exc))
            else:
                auto = f"{rec.score:g}" if rec.score is not None else "-"
                who = rec.student or rec.student_id or "(no name)"
                st.session_state["batch_flash"] = (
                    f"Saved: line {rec.line} ({who}, {rec.question_id}) now scores {new_score:g} (automatic score {auto})."
                )
                st.rerun()
    with tab_all:
        show_table(result_table(records, overrides), "batch_all_table")
    with tab_students:
        by_key = {rep.key: rep for rep in reports}
        pick_student = st.selectbox(
            "Student", list(by_key), format_func=lambda k: f"{by_key[k].student}"
            + (f" ({by_key[k].student_id})" if by_key[k].student_id and by_key[k].student_id != by_key[k].student else "")
            + f" - {len(by_key[k].answers)} answers", key=f"batch_student_{run_id}",
        )
        if pick_student is not None:
            rep = by_key[pick_student]
            st.metric("Total", f"{rep.total:g} / {rep.total_max:g}" if rep.total is not None and rep.total_max else "-")
            st.dataframe(
                pd.DataFrame([{"line": a.line, "question": a.question_id, "score": a.score, "max": a.max_score,
                               "set by teacher": "yes" if a.overridden else "", "covered": "; ".join(a.covered),
                               "to develop": "; ".join(a.hints), "check": "; ".join(a.warnings)} for a in rep.answers])
                .pipe(plain_numbers),
                hide_index=True, width="stretch", placeholder="", key=f"batch_student_table_{run_id}",
                column_config={k: st.column_config.TextColumn(k, width="large") for k in ("covered", "to develop", "check")},
            )
            with st.form(f"batch_comment_form_{run_id}_{pick_student}"):
                comment = st.text_area("Comment for the student (printed in their report)", rep.comment,
                                       key=f"batch_comment_{run_id}_{pick_student}", max_chars=COMMENT_MAX_CHARS)
                if st.form_submit_button("Save comment", key="batch_comment_save"):
                    try:
                        store.set_comment(run_id, pick_student, comment)
                    except GraderError as exc:
                        st.error(plain(exc))
                    else:
                        st.session_state["batch_flash"] = f"Saved the comment for {rep.student}."
                        st.rerun()
    with tab_charts:
        spread = score_spread(records, overrides)
        if not spread:
            st.info("No scored rows.")
        else:
            st.markdown("**Score distribution per question** (final scores, overrides applied)")
            st.dataframe(pd.DataFrame(spread), hide_index=True, width="stretch", key="batch_spread_table")
            scores = pd.DataFrame(result_table(records, overrides))
            scores = scores[scores["final score"].notna()]
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
        misses = concept_misses(records, results, marks=marks)
        if misses:
            st.markdown("**Concepts the class missed** (share of scored answers without the concept; teacher marks count)")
            missed = pd.DataFrame(misses)
            chart = (
                alt.Chart(missed)
                .mark_bar()
                .encode(
                    x=alt.X("missed:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1]), title="missed by"),
                    y=alt.Y("label:N", sort="-x", title=None, axis=alt.Axis(labelLimit=320)),
                    color=alt.condition("datum.missed > 0.5", alt.value("#c05621"), alt.value("#2b6cb0")),
                    tooltip=["question", "label", "missed by", "answers"],
                )
                .properties(width=360, height=alt.Step(20))
                .facet(row=alt.Facet("question:N", title=None))
                .resolve_scale(y="independent")
            )
            st.altair_chart(chart, key="batch_missed_chart")
            st.dataframe(missed, hide_index=True, width="stretch", key="batch_missed_table")
        gaps = disagreements(records, overrides)
        st.markdown("**Where the teacher and the scorer disagree most** (overridden answers, largest gap first)")
        if gaps:
            st.dataframe(pd.DataFrame(gaps), hide_index=True, width="stretch", key="batch_disagreements",
                         column_config={"answer": st.column_config.TextColumn(width="large"),
                                        "reason": st.column_config.TextColumn(width="medium")})
        else:
            st.caption("No overrides yet.")
    with tab_export:
        g1, g2 = st.columns([2, 2])
        total_name = g1.text_input(
            "Gradebook item name (the total's column; blank: Total)", key="batch_item_name", max_chars=NAME_MAX_CHARS
        ).strip() or None
        policy = g2.selectbox(
            "A student with two answers to one question", DUPLICATE_POLICIES, key="batch_duplicates",
            format_func={"blank": "leave the cell empty", "highest": "use the higher score",
                         "latest": "use the later row"}.get,
        )
        book = build_gradebook(records, overrides, total_name=total_name, on_duplicate=policy)
        st.caption(plain(f"One row per student: {len(book.students)} students, {len(book.questions)} questions "
                         f"({', '.join(book.questions)}) and a total."))
        for warning in book.warnings():
            note(warning, "warning")
        d1, d2, d3, d4 = st.columns(4)
        d1.download_button(
            "Results CSV (every row)", to_csv(result_rows(records, overrides)),
            file_name=f"grader-run-{run_id}.csv", mime="text/csv", key="batch_dl_csv", on_click="ignore",
        )
        d2.download_button(
            "Gradebook CSV", to_csv(gradebook_rows(book)),
            file_name=f"gradebook-run-{run_id}.csv", mime="text/csv", key="batch_dl_gradebook", on_click="ignore",
        )
        d3.download_button(
            "Canvas gradebook CSV", to_csv(canvas_rows(book)),
            file_name=f"canvas-run-{run_id}.csv", mime="text/csv", key="batch_dl_canvas", on_click="ignore",
        )
        d4.download_button(
            "Moodle grades CSV", to_csv(moodle_rows(book)),
            file_name=f"moodle-run-{run_id}.csv", mime="text/csv", key="batch_dl_moodle", on_click="ignore",
        )
        st.markdown("**Feedback for every student** (score, concepts covered, hints, your comment)")
        r1, r2 = st.columns(2)
        r1.download_button(
            "Student reports (HTML)", lambda: reports_html(reports, title=f"Feedback - {source_name}"),
            file_name=f"feedback-run-{run_id}.html", mime="text/html", key="batch_dl_reports_html", on_click="ignore",
        )
        r2.download_button(
            "Student reports (PDF)", lambda: reports_pdf(reports, title=f"Feedback - {source_name}"),
            file_name=f"feedback-run-{run_id}.pdf", mime="application/pdf", key="batch_dl_reports_pdf", on_click="ignore",
        )
        st.caption("Every cell is spreadsheet-safe: text starting with = + - @ is prefixed with an apostrophe. "
                   "Overrides replace the automatic score; their reasons stay in the results CSV only.")
    with tab_learn:
        learn_set = st.selectbox("Question set to learn for", rubric_sets(), key="learn_set")
        learn_panel(records, overrides, store, run_id, scorers_for(learn_set).rubrics, rubric_root() / learn_set)
