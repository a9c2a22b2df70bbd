"""Rubric studio (teachers): build, edit, try, compare on graded samples, save or download."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import streamlit as st

from app_pages.common import (
    MAX_UPLOAD_BYTES,
    NAME_MAX_CHARS,
    SAMPLES_CSV,
    answer_box,
    edited_scorers,
    note,
    get_store,
    plain,
    plain_numbers,
    rubric_root,
    rubric_sets,
    scorers_for,
    set_stamp,
    teacher_gate,
    upload_on_disk,
    warn_set_problems,
)
from app_pages.learning import learning_curve_panel
from grader.build import build_rubric
from grader.editing import (
    CONCEPT_COLUMNS,
    MISCONCEPTION_COLUMNS,
    compare_on_samples,
    concept_rows,
    misconception_rows,
    rubric_from_tables,
)
from grader.errors import GraderError
from grader.evaluate import TUNE_SPLIT, filter_split, load_graded
from grader.highlight import highlight_html, marks_from_concepts
from grader.ids import SAFE_NAME
from grader.lifecycle import describe_changes, list_drafts, publish, published_path, save_draft
from grader.marking import agreement_with_marks, latest_marks
from grader.rescore import moved, rescore_runs
from grader.rubric import Rubric, load_rubric, rubric_from_yaml, rubric_to_yaml
from grader.suggest import HIGH, LOW

PROBLEMS_SHOWN = 50
"""Unusable sample rows listed under the comparison (the first ones)."""
EDIT_TAG_CHARS = 12
"""Hex digits of the starting rubric's digest that tell when to reset the editing widgets."""
MAX_SCORE_BOX = (0.5, 1000.0)
"""Lowest and highest max score the studio's box accepts."""
MAX_SCORE_STEP = 0.5
"""Step of the studio's max score box."""
EDIT_KEYS = (
    "studio_id", "studio_title", "studio_question", "studio_model_answer", "studio_max_score",
    "studio_show_after", "studio_concepts", "studio_misconceptions", "studio_replace", "studio_target_set",
    "studio_new_set",
)

if not teacher_gate():
    st.stop()

st.title("Rubric studio")


@st.cache_resource(show_spinner=False, max_entries=4)
def load_samples(path: str, name: str) -> tuple[list[dict[str, str]], list[int]]:
    """Graded sample rows (cell dicts) and their file lines, read by the library from disk (shared, not
    copied); errors name the file ``name`` (the user's upload, not our copy on disk)."""
    return load_graded(path, name=name)


@st.cache_data(show_spinner=False, max_entries=32)
def compare(
    before_yaml: str, after_yaml: str, rows: list[dict[str, str]], lines: list[int],
    set_name: str | None, stamp: tuple[tuple[str, int], ...],
) -> dict:
    """Before/after agreement among the rest of the question set, cached by both rubrics' YAML,
    the sample rows and the set's files."""
    before, after = rubric_from_yaml(before_yaml), rubric_from_yaml(after_yaml)
    others = scorers_for(set_name).rubrics if set_name in rubric_sets() else {}
    others = {rid: r for rid, r in others.items() if rid not in {before.id, after.id}}
    return compare_on_samples(before, after, rows, lines=lines, others=others)


# --- 1. where the rubric comes from -----------------------------------------------------
modes = ["Edit a saved rubric", "Build from a question and model answer", "Upload a rubric YAML"]
mode = st.radio("Start from", modes, horizontal=True, key="studio_mode")
sets = sorted({*rubric_sets(), *(p.parent.parent.name for p in rubric_root().glob("*/drafts/*.y*ml"))})
base: Rubric | None = None
target_set: str | None = None

if mode == modes[0]:
    if not sets:
        st.warning("No saved rubrics yet: build one from a question and model answer.")
    else:
        c1, c2 = st.columns([1, 3])
        target_set = c1.selectbox("Question set", sets, key="studio_set")
        live = scorers_for(target_set).rubrics if target_set in rubric_sets() else {}
        warn_set_problems(target_set)
        try:
            drafts = list_drafts(rubric_root() / target_set)
        except GraderError as exc:
            st.error(plain(exc))
            drafts = {}
        mine = {**live, **drafts}  # a draft is edited where there is one

        def describe(r: str) -> str:
            state = "draft" if r not in live else ("published, draft pending" if r in drafts else "published")
            return f"{r} [{state}]: {mine[r].question}"

        rid = c2.selectbox("Rubric", sorted(mine, key=lambda r: (r not in live, r)), format_func=describe, key="studio_rubric")
        base = mine[rid]
        if rid in drafts:
            st.caption("Editing the saved draft" + (": students still see the published version." if rid in live
                                                    else ": not published yet, students do not see it."))
else:
    if mode == modes[1]:
        with st.form("studio_build_form"):
            b1, b2 = st.columns([1, 1])
            new_id = b1.text_input("Rubric id (letters, digits, - _ .)", key="studio_build_id")
            new_title = b2.text_input("Title", key="studio_build_title")
            new_question = st.text_area("Question", key="studio_build_question", height=80)
            new_model = st.text_area("Model answer", key="studio_build_model", height=160)
            b3, b4 = st.columns([1, 1])
            new_max = b3.number_input("Max score", 1.0, 1000.0, 10.0, 1.0, key="studio_build_max")
            wordnet = b4.checkbox("Add WordNet synonyms (if installed)", value=True, key="studio_build_wordnet")
            built = st.form_submit_button("Build rubric", type="primary", key="studio_build")
        if built:
            try:
                st.session_state["studio_built"] = build_rubric(
                    new_question, new_model, rubric_id=new_id.strip(), title=new_title.strip(),
                    max_score=new_max, use_wordnet=wordnet,
                )
            except (ValueError, GraderError) as exc:
                st.error(f"Cannot build the rubric: {plain(exc)}")
        base = st.session_state.get("studio_built")
    else:
        uploaded = st.file_uploader(
            "Rubric YAML", type=["yaml", "yml"], key="studio_yaml_upload",
            max_upload_size=MAX_UPLOAD_BYTES // (1024 * 1024),
        )
        if uploaded is not None:
            try:
                base = rubric_from_yaml(uploaded.getvalue().decode("utf-8-sig"), source=Path(uploaded.name).name)
            except UnicodeDecodeError:
                st.error(f"{plain(uploaded.name)}: not UTF-8 text")
            except GraderError as exc:
                st.error(plain(exc))
if base is None:
    st.info("Choose or build a rubric to start.")
    st.stop()

# Editing widgets keep their keys; when the starting rubric changes, their state is reset.
base_yaml = rubric_to_yaml(base)
tag = hashlib.sha256(f"{mode}\n{base_yaml}".encode()).hexdigest()[:EDIT_TAG_CHARS]
if st.session_state.get("studio_tag") != tag:
    for key in EDIT_KEYS:
        st.session_state.pop(key, None)
    st.session_state["studio_tag"] = tag

if mode != modes[0]:
    # A new question goes into its own new set unless a set already holds a rubric with its id.
    options = sets + ["(new set)"]
    home = next((name for name in sets if name in rubric_sets() and base.id in scorers_for(name)), "(new set)")
    s1, s2 = st.columns([1, 1])
    pick = s1.selectbox("Save into question set", options, index=options.index(home), key="studio_target_set")
    if pick == "(new set)":
        name = s2.text_input("New set name", base.id, key="studio_new_set").strip()
        if name and not SAFE_NAME.match(name):
            s2.error("Use letters, digits, '.', '_' or '-' only.")
        target_set = name if SAFE_NAME.match(name) else None
    else:
        target_set = pick


# --- 2. edit ------------------------------------------------------------------------------
st.subheader("Edit", anchor=False)
e1, e2, e3, e4 = st.columns([1, 2, 1, 1])
edit_id = e1.text_input("Rubric id", base.id, key="studio_id")
edit_title = e2.text_input("Title", base.title, key="studio_title")
edit_max = e3.number_input("Max score", *MAX_SCORE_BOX, float(base.max_score), MAX_SCORE_STEP, key="studio_max_score")
edit_after = e4.number_input(
    "Show model answer after N drafts (0 = never)", 0, 100, int(base.show_model_answer_after or 0), 1, key="studio_show_after"
)
edit_question = st.text_area("Question", base.question, key="studio_question", height=70)
edit_model = st.text_area("Model answer (never shown to students)", base.model_answer, key="studio_model_answer", height=120)

st.markdown("**Concepts** - separate phrases with `;`. Terms and synonyms are never shown to students; hints are.")
concepts_df = st.data_editor(
    pd.DataFrame(concept_rows(base), columns=list(CONCEPT_COLUMNS)),
    num_rows="dynamic",
    hide_index=True,
    width="stretch",
    key="studio_concepts",
    column_config={
        "id": st.column_config.TextColumn("id", required=True),
        "label": st.column_config.TextColumn("label", required=True),
        "hint": st.column_config.TextColumn("hint (students see this)", width="medium"),
        "weight": st.column_config.NumberColumn("weight", min_value=0.1, max_value=100.0, step=0.5, default=1.0),
        "required": st.column_config.CheckboxColumn("required", default=False),
        "terms": st.column_config.TextColumn("terms", width="large"),
        "synonyms": st.column_config.TextColumn("synonyms", width="large"),
    },
)
st.markdown("**Misconceptions** - phrases that signal a wrong claim, the share of the score it costs, feedback.")
misconceptions_df = st.data_editor(
    pd.DataFrame(misconception_rows(base), columns=list(MISCONCEPTION_COLUMNS)),
    num_rows="dynamic",
    hide_index=True,
    width="stretch",
    key="studio_misconceptions",
    column_config={
        "id": st.column_config.TextColumn("id", required=True),
        "phrases": st.column_config.TextColumn("phrases", width="large"),
        "penalty": st.column_config.NumberColumn("penalty", min_value=0.0, max_value=1.0, step=0.05, default=0.2),
        "feedback": st.column_config.TextColumn("feedback", width="large"),
    },
)

edited: Rubric | None = None
try:
    edited = rubric_from_tables(
        base,
        concepts_df.to_dict("records"),
        misconceptions_df.to_dict("records"),
        id=edit_id.strip(),
        title=edit_title.strip(),
        question=edit_question,
        model_answer=edit_model,
        max_score=edit_max,
        show_model_answer_after=int(edit_after) or None,
    )
except GraderError as exc:
    st.error(f"Not valid yet - {plain(exc)}")

# --- 3. try an answer -----------------------------------------------------------------------
st.subheader("Try an answer", anchor=False)
trial = st.text_area("Answer to try (scored with the edited rubric)", key="studio_try", height=110)
if edited is not None and trial.strip():
    # scored among the other rubrics of its set, as Practice and Batch will score it once saved
    result = edited_scorers(target_set, base.id, edited).score(edited.id, trial)
    t1, t2 = st.columns([1, 3])
    t1.metric("Score", f"{result.score:g} / {result.max_score:g}", border=True)
    t1.caption(f"coverage {result.coverage:.2f} - similarity {result.similarity:.2f}")
    with t2:
        answer_box(highlight_html(trial, marks_from_concepts(result.concepts)))
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "concept": c.concept_id,
                    "label": c.label,
                    "matched": c.matched,
                    "by phrase": c.phrase or "",
                    "evidence": " | ".join(s.text for s in c.evidence),
                    "negated": " | ".join(s.text for s in c.negated),
                }
                for c in result.concepts
            ]
        ),
        hide_index=True,
        width="stretch",
        key="studio_try_table",
    )
    for m in result.misconceptions:
        note(f"Misconception {m.misconception_id}: " + " | ".join(s.text for s in m.evidence), "misconception")
    for f in result.flags:
        note(f"Flag {f.code}: {f.message}", "warning")

# --- 4. agreement with graded samples ---------------------------------------------------------
st.subheader("Agreement with graded samples", anchor=False)
samples_upload = st.file_uploader(
    "Graded samples (CSV/XLSX with question_id, answer, score and optionally split); default: the bundled ones",
    type=["csv", "xlsx"],
    key="studio_samples",
    max_upload_size=MAX_UPLOAD_BYTES // (1024 * 1024),
)
sample_name = samples_upload.name if samples_upload is not None else SAMPLES_CSV.name
try:
    sample_path = upload_on_disk(samples_upload, "studio")[0] if samples_upload is not None else SAMPLES_CSV
    sample_rows, sample_lines = load_samples(str(sample_path), sample_name)
except GraderError as exc:
    st.error(plain(exc))
    sample_rows, sample_lines = [], []
has_split = any("split" in r for r in sample_rows)
if has_split:  # tuning happens on the tune split only; heldout answers stay unseen for the final check
    sample_rows, sample_lines = filter_split(sample_rows, sample_lines, TUNE_SPLIT)
has_questions = any("question_id" in r for r in sample_rows)
picked: list[tuple[dict[str, str], int]] = []
if edited is not None and sample_rows:
    # Only answers to THIS question: a rubric is never measured against another question's answers.
    qid = edited.id if any(r.get("question_id", "").strip() == edited.id for r in sample_rows) else base.id
    if has_questions:
        picked = [(r, n) for r, n in zip(sample_rows, sample_lines) if r.get("question_id", "").strip() == qid]
    else:
        picked = list(zip(sample_rows, sample_lines))
    split_note = " (tune split only; heldout answers are never used here)" if has_split else ""
    if not picked:
        st.info(
            f"{plain(sample_name)} has no graded answers to question '{plain(qid)}'{split_note}, so there is nothing to compare "
            "this rubric with. Upload graded answers to this question (question_id, answer, score) above."
        )
    elif has_questions:
        st.caption(f"Compared with the {len(picked)} graded answers to question '{plain(qid)}' in {plain(sample_name)}{split_note}.")
    else:
        st.caption(f"{plain(sample_name)} has no question_id column: all its {len(picked)} graded answers are taken as "
                   f"answers to '{plain(qid)}'{split_note}.")
if edited is not None and picked:
    try:
        comparison = compare(
            base_yaml, rubric_to_yaml(edited), [r for r, _ in picked], [n for _, n in picked],
            target_set, set_stamp(target_set) if target_set in rubric_sets() else (),
        )
    except GraderError as exc:
        st.error(plain(exc))
    else:
        metrics = pd.DataFrame({"before edit": comparison["before"], "after edit": comparison["after"]}).T
        metrics.loc["change"] = metrics.loc["after edit"] - metrics.loc["before edit"]
        st.dataframe(metrics.round(3), width="stretch", key="studio_agreement")
        st.markdown(
            f"**Per concept** - share of high-scored (>= {HIGH:.0%}) and low-scored (<= {LOW:.0%}) answers that match it."
        )
        st.dataframe(pd.DataFrame(comparison["concepts"]).round(2), hide_index=True, width="stretch", key="studio_concept_table")
        usable = [(r.get("answer", ""), r.get("score", "")) for r, _ in picked]
        usable = [(a, float(v)) for a, v in usable if a.strip() and v.strip().replace(".", "", 1).isdigit() and float(v) <= edited.max_score]
        learning_curve_panel(edited, [a for a, _ in usable], [v for _, v in usable])
        if comparison["problems"]:
            with st.expander(f"{len(comparison['problems'])} sample rows could not be used"):
                for p in comparison["problems"][:PROBLEMS_SHOWN]:
                    note(p, "warning")

# --- 4b. agreement with the teachers' concept marks (from batch review) -------------------------
if edited is not None:
    teacher_marks = latest_marks(get_store().concept_marks(base.id))
    if teacher_marks:
        st.markdown(f"**Teachers' concept marks** - {len(teacher_marks)} marks given while reviewing answers to "
                    f"'{base.id}': how often the rubric agrees, before and after the edit.")
        before_marks = {r["concept"]: r for r in agreement_with_marks(base, teacher_marks)}
        after_marks = {r["concept"]: r for r in agreement_with_marks(edited, teacher_marks)}
        st.dataframe(
            pd.DataFrame([
                {"concept": cid, "label": (after_marks.get(cid) or before_marks[cid])["label"],
                 "marks": (after_marks.get(cid) or before_marks[cid])["marks"],
                 "agree before": before_marks.get(cid, {}).get("agree"), "agree after": after_marks.get(cid, {}).get("agree"),
                 "present, rubric missed (after)": after_marks.get(cid, {}).get("teacher present, rubric missed"),
                 "absent, rubric matched (after)": after_marks.get(cid, {}).get("teacher absent, rubric matched")}
                for cid in dict.fromkeys([*before_marks, *after_marks])
            ]).pipe(plain_numbers),
            hide_index=True, width="stretch", placeholder="", key="studio_marks_table",
        )

# --- 5. save as draft, publish, change log, re-score -------------------------------------------
st.subheader("Save", anchor=False)
if edited is not None:
    yaml_text = rubric_to_yaml(edited)
    f1, f2 = st.columns([1, 1])
    f1.download_button(
        "Download YAML", yaml_text, file_name=f"{edited.id}.yaml", mime="application/x-yaml", key="studio_download"
    )
    author = f1.text_input("Your name (for the change log)", key="studio_author", max_chars=NAME_MAX_CHARS).strip() or "(no name)"
    if target_set is None:
        f2.warning("Choose the question set to save into.")
    else:
        root = rubric_root()
        set_dir = root / target_set
        target = published_path(set_dir, edited.id)
        exists = target.exists()
        replace = True
        if exists and (mode != modes[0] or edited.id != base.id):
            replace = f2.checkbox(
                f"Replace the existing rubric {target_set}/{target.name} (a .bak copy is kept)", key="studio_replace"
            )
        f2.caption("A draft is kept apart: students and batch scoring keep using the published version.")
        draft_clicked = f2.button(f"Save draft of {edited.id}", key="studio_save_draft")
        publish_clicked = f2.button(
            f"Publish to {target_set}/{target.name}", type="primary", disabled=not replace, key="studio_save"
        )
        if draft_clicked or publish_clicked:
            before = load_rubric(target) if exists else None
            try:
                if draft_clicked:
                    path = save_draft(edited, set_dir, root=root)
                    action = "draft saved"
                else:
                    path = publish(edited, set_dir, root=root).path
                    action = "published"
            except GraderError as exc:
                st.error(plain(exc))
            else:
                summary = describe_changes(before, edited)
                get_store().add_rubric_change(target_set, edited.id, action, author, summary)
                backup = " (previous version kept as .bak)" if exists and action == "published" else ""
                st.success(plain(f"{action.capitalize()}: {path.relative_to(root)}{backup}. Changes: {'; '.join(summary)}."))
                if action == "published":
                    st.session_state["studio_published"] = (target_set, edited.id)
        log = get_store().rubric_changes(target_set, edited.id)
        with st.expander(f"Change log of {edited.id} ({len(log)} entries)"):
            if log:
                st.dataframe(
                    pd.DataFrame([{"when": c.created_at, "who": c.author, "action": c.action,
                                   "what changed": c.summary.replace("\n", "; ")} for c in log]),
                    hide_index=True, width="stretch", key="studio_change_log",
                    column_config={"what changed": st.column_config.TextColumn(width="large")},
                )
            else:
                st.caption("No saves from the studio yet.")

# --- 6. re-score the runs a published change affects -----------------------------------------
published = st.session_state.get("studio_published")
if published is not None:
    pub_set, pub_id = published
    affected = get_store().runs_with_questions([pub_id])
    st.subheader("Re-score affected runs", anchor=False)
    if not affected:
        st.caption(f"No stored batch run has answers to {pub_id}.")
    else:
        n_rows = sum(affected.values())
        st.caption(f"{n_rows} answers to {pub_id} in {len(affected)} stored run(s) were scored with the previous "
                   "version. Re-scoring keeps every teacher override.")
        if st.button(f"Re-score {n_rows} answers in {len(affected)} run(s)", key="studio_rescore"):
            changes = rescore_runs(get_store(), scorers_for(pub_set), [pub_id])
            st.session_state["studio_rescored"] = changes
    changes = st.session_state.get("studio_rescored")
    if changes is not None:
        shifted = moved(changes)
        st.success(f"Re-scored {len(changes)} answers: {len(shifted)} automatic scores moved.")
        if shifted:
            st.dataframe(plain_numbers(pd.DataFrame([c.as_row() for c in shifted])), placeholder="",
                         hide_index=True, width="stretch", key="studio_rescore_table")
