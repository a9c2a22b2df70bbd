"""Learning from the teacher's grades in the app (UI only): grade groups, grade next, learn, curve.

Called from the Batch scoring page (:func:`learn_panel`) and the Rubric studio
(:func:`learning_curve_panel`); everything that decides lives in ``grader.learn`` and
``grader.pick``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import streamlit as st

from app_pages.common import FALLBACK_MAX_SCORE, GRADE_STEP, REASON_MAX_CHARS
from grader.errors import GraderError
from grader.learn import Graded, format_learning, learn, learning_curve
from grader.learned import save_learned
from grader.pick import answer_groups, pick_next
from grader.rubric import Rubric
from grader.store import ResultRecord, Store

ANSWER_PREVIEW_CHARS = 300
"""Characters of an answer shown in a table cell."""
GROUP_LABEL_CHARS = 80
"""Characters of a group's first answer shown to name the group."""
NEXT_PICKS = 5
"""Answers per question suggested by "Grade these next"."""
CURVE_SIZES = (5, 10, 20, 30, 50)
"""Numbers of graded answers at which the learning curve is measured."""
MIN_CURVE_SAMPLES = 10
"""Fewest graded samples for which a learning curve is drawn."""


def _group_grading(records: Sequence[ResultRecord], overrides: dict, store: Store, run_id: int) -> None:
    st.markdown("**Grade a group at once** - answers with the same or near-same wording; untick exceptions.")
    by_question: dict[str, list[ResultRecord]] = {}
    for rec in records:
        if rec.score is not None:
            by_question.setdefault(rec.question_id, []).append(rec)
    if not by_question:
        st.info("No scored rows.")
        return
    qid = st.selectbox("Question", sorted(by_question), key="learn_group_question")
    recs = by_question[qid]
    groups = answer_groups([r.answer for r in recs])
    if not groups:
        st.info("No two answers to this question are worded alike.")
        return
    labels = [f"{len(g)} answers like: {recs[g[0]].answer[:GROUP_LABEL_CHARS]}" for g in groups]
    pick = st.selectbox("Group", range(len(groups)), format_func=lambda k: labels[k], key="learn_group_pick")
    members = [recs[i] for i in groups[pick]]
    table = pd.DataFrame({
        "grade": [True] * len(members),
        "row": [r.row for r in members],
        "auto score": [r.score for r in members],
        "override": [overrides[r.row].score if r.row in overrides else None for r in members],
        "answer": [r.answer[:ANSWER_PREVIEW_CHARS] for r in members],
    })
    edited = st.data_editor(table, hide_index=True, disabled=["row", "auto score", "override", "answer"], key="learn_group_table")
    top = float(members[0].max_score or FALLBACK_MAX_SCORE)
    with st.form("learn_group_form"):
        g1, g2 = st.columns([1, 3])
        score = g1.number_input("Score for the ticked answers", 0.0, top, float(members[0].score or 0.0), GRADE_STEP,
                                 key="learn_group_score")
        reason = g2.text_input("Reason (required)", key="learn_group_reason", max_chars=REASON_MAX_CHARS)
        save = st.form_submit_button("Grade the group", key="learn_group_save")
    if save:
        rows = [int(r) for r, keep in zip(edited["row"], edited["grade"]) if keep]
        try:
            for row in rows:
                store.add_override(run_id, row, score, f"group grade: {reason}")
        except GraderError as exc:
            st.error(str(exc))
        else:
            st.session_state["batch_flash"] = f"Graded {len(rows)} answers {score:g} as a group."
            st.rerun()


def _grade_next(records: Sequence[ResultRecord], overrides: dict) -> None:
    st.markdown("**Grade these next** - one answer per group of similar answers nothing graded covers yet, "
                "then the least certain.")
    by_question: dict[str, list[ResultRecord]] = {}
    for rec in records:
        if rec.score is not None:
            by_question.setdefault(rec.question_id, []).append(rec)
    out = []
    for qid, recs in sorted(by_question.items()):
        todo = [r for r in recs if r.row not in overrides]
        done = [r.answer for r in recs if r.row in overrides]
        if not todo:
            continue
        confidence = [_confidence(r) for r in todo]
        picks = pick_next([r.answer for r in todo], graded=done, n=NEXT_PICKS,
                          confidence=confidence if all(c is not None for c in confidence) else None)
        out += [{"question": qid, "row": todo[p.index].row, "auto score": todo[p.index].score, "why": p.reason,
                 "answer": todo[p.index].answer[:ANSWER_PREVIEW_CHARS]} for p in picks]
    if out:
        st.dataframe(pd.DataFrame(out), hide_index=True, width="stretch", key="learn_next_table")
    else:
        st.success("Every scored answer has a teacher's grade.")


def _confidence(rec: ResultRecord) -> float | None:
    """The confidence recorded in a row's reasons ("low confidence (0.31): ..."), 1.0 if none is low."""
    for reason in (rec.reasons or "").split(";"):
        if reason.startswith("low confidence ("):
            try:
                return float(reason[len("low confidence (") :].split(")")[0])
            except ValueError:
                return None
    return 1.0


def _learn_button(records: Sequence[ResultRecord], overrides: dict, rubrics: dict[str, Rubric], folder: Path) -> None:
    st.markdown("**Learn from your grades** - overrides and group grades teach the scorer how you grade; "
                "the next scoring run uses what was learned.")
    graded = [(r.question_id, r.answer, overrides[r.row].score) for r in records if r.row in overrides and r.question_id in rubrics]
    st.caption(f"{len(graded)} answers graded by you in this run.")
    if st.button("Learn from my grades", disabled=not graded, key="learn_run"):
        try:
            result = learn(rubrics, [q for q, _, _ in graded], [a for _, a, _ in graded], [s for _, _, s in graded],
                           source="teacher grades in the app")
            for rid, learned in result.learned.items():
                save_learned(learned, folder)
        except GraderError as exc:
            st.error(str(exc))
        else:
            for reason in result.refused.values():
                st.warning(f"Not learned: {reason}")
            if result.report is not None:
                st.code(format_learning(result.report), language=None)
            st.success(f"Learned for {len(result.learned)} question(s); score the answers again to use it.")


def learn_panel(records: Sequence[ResultRecord], overrides: dict, store: Store, run_id: int,
                rubrics: dict[str, Rubric], folder: Path) -> None:
    """The Batch scoring page's "Group, grade, learn" tab."""
    _group_grading(records, overrides, store, run_id)
    st.divider()
    _grade_next(records, overrides)
    st.divider()
    _learn_button(records, overrides, rubrics, folder)


@st.cache_data(show_spinner=False, max_entries=8)
def _curve(rubric_json: str, answers: tuple[str, ...], scores: tuple[float, ...]) -> list[dict[str, float]]:
    from grader.learn import graded_questions

    rubric = Rubric.model_validate_json(rubric_json)
    questions: dict[str, Graded] = graded_questions({rubric.id: rubric}, [rubric.id] * len(answers), list(answers), list(scores))
    return learning_curve(questions, sizes=CURVE_SIZES)


def learning_curve_panel(rubric: Rubric, answers: Sequence[str], scores: Sequence[float]) -> None:
    """The Rubric studio's learning curve: agreement against the number of graded answers."""
    st.markdown("**Learning curve** - agreement with your grades on the rest of the samples after learning "
                "from the first N graded answers (shuffled).")
    if len(answers) < MIN_CURVE_SAMPLES:
        st.info(f"At least {MIN_CURVE_SAMPLES} graded samples are needed for a learning curve.")
        return
    try:
        curve = _curve(rubric.model_dump_json(), tuple(answers), tuple(float(s) for s in scores))
    except GraderError as exc:
        st.error(str(exc))
        return
    if not curve:
        st.info("Too few graded samples for a learning curve.")
        return
    frame = pd.DataFrame(curve).set_index("graded")[["pearson", "qwk", "exact"]]
    st.line_chart(frame)
