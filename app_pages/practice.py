"""Practice (students): write an answer, get a score, see your own evidence and what to develop.

Only the question, concept labels, hints and warnings reach the browser: never the model
answer (unless the rubric allows it after N attempts and the student asks), terms or synonyms.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.common import answer_box, drop_session_uploads, line_chart, note, plain, rubric_sets, scorers_for
from grader.highlight import highlight_html, marks_from_concepts
from grader.text import MAX_ANSWER_CHARS

drop_session_uploads()  # students upload nothing; free whatever this session sent anyway
st.session_state.setdefault("drafts", {})
st.session_state.setdefault("practice_last", {})
st.session_state.setdefault("model_answer_shown", set())

st.title("Practice")
st.caption("Write your answer, score it, revise it. Each draft is kept for this session so you can see your progress.")

sets = rubric_sets()
if not sets:
    st.error("No question sets were found in the rubrics folder.")
    st.stop()
left, right = st.columns([1, 3])
chosen_set = left.selectbox("Question set", sets, key="practice_set")
scorers = scorers_for(chosen_set)  # a broken rubric file is left out; teachers see why in their pages
if not scorers:
    st.error("This question set has no questions available right now.")
    st.stop()
rid = right.selectbox(
    "Question",
    list(scorers),
    format_func=lambda r: scorers[r].rubric.title or scorers[r].rubric.question,
    key="practice_question",
)


@st.fragment
def answer_and_feedback(set_name: str, rid: str) -> None:
    """The question, the answer form and all that a submit changes (score, highlights, feedback,
    drafts, model answer): a fragment, so a submit reruns only this part of the page, not the
    router, the header and the question pickers (a class of students submitting at once).

    The scorer is looked up on each run (cached until a rubric file changes), as before.
    """
    drop_session_uploads()  # on fragment runs too
    scorers = scorers_for(set_name)
    if rid not in scorers:  # the question left the set since the page was drawn
        st.rerun()
    scorer = scorers[rid]
    rubric = scorer.rubric
    st.subheader(plain(rubric.question), anchor=False)

    with st.form("practice_form"):
        answer = st.text_area(
            "Your answer",
            key="practice_answer",
            height=220,
            max_chars=MAX_ANSWER_CHARS,
            placeholder="Explain in full sentences...",
        )
        submitted = st.form_submit_button("Score my answer", type="primary", key="practice_submit")

    drafts: list[dict] = st.session_state["drafts"].setdefault(rid, [])
    if submitted:
        if not answer.strip():
            st.warning("Write an answer first.")
        else:
            result = scorer.score(answer)
            drafts.append(
                {
                    "draft": len(drafts) + 1,
                    "score": result.score,
                    "percent": result.percent,
                    "words": len(answer.split()),
                    "concepts covered": sum(c.matched for c in result.concepts),
                }
            )
            st.session_state["practice_last"][rid] = (answer, result)

    last = st.session_state["practice_last"].get(rid)
    if last is not None:
        text, result = last
        col_score, col_bar = st.columns([1, 3])
        previous = drafts[-2]["score"] if len(drafts) >= 2 else None
        col_score.metric(
            "Score",
            f"{result.score:g} / {result.max_score:g}",
            delta=None if previous is None else f"{result.score - previous:+g} since last draft",
            chart_data=[d["score"] for d in drafts] if len(drafts) >= 2 else None,
            chart_type="line",
            border=True,
        )
        col_bar.progress(min(1.0, result.percent / 100), text=f"{result.percent:g}% of the points")
        covered = sum(c.matched for c in result.concepts)
        col_bar.caption(f"Key points covered: {covered} of {len(result.concepts)}")

        st.markdown("**Your answer** - highlighted words earned credit; hover to see for which point.")
        answer_box(highlight_html(text, marks_from_concepts(result.concepts)))

        for item in result.feedback:
            note(item.text, item.kind)

    if drafts:
        st.divider()
        st.markdown("**Your drafts this session**")
        history = pd.DataFrame(drafts).set_index("draft")
        if len(drafts) >= 2:
            line_chart(history[["score"]], height=180, x_label="draft", y_label="score")
        st.dataframe(history, width="stretch", key="practice_history")

    after = rubric.show_model_answer_after
    if after is not None:
        if len(drafts) >= after:
            if st.button("Show the model answer", key="practice_show_model"):
                st.session_state["model_answer_shown"].add(rid)
            if rid in st.session_state["model_answer_shown"]:
                with st.container(border=True):
                    st.markdown("**Model answer**")
                    note(rubric.model_answer, "model")
        else:
            st.caption(f"A model answer becomes available after {after} drafts (you have {len(drafts)}).")


answer_and_feedback(chosen_set, rid)
