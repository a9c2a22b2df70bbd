"""Streamlit entry point (a minimal practice page until the full app lands)."""

from __future__ import annotations

import html
from pathlib import Path

import streamlit as st

from grader.rubric import load_rubrics
from grader.scoring import Scorer

RUBRIC_ROOT = Path(__file__).parent / "rubrics"


@st.cache_resource
def _scorers(folder: str) -> dict[str, Scorer]:
    return {rid: Scorer(r) for rid, r in load_rubrics(folder).items()}


st.set_page_config(page_title="grader", layout="wide")
st.title("Practice")
sets = sorted(p.name for p in RUBRIC_ROOT.iterdir() if p.is_dir())
chosen_set = st.selectbox("Question set", sets, key="set")
scorers = _scorers(str(RUBRIC_ROOT / chosen_set))
rid = st.selectbox("Question", list(scorers), format_func=lambda r: scorers[r].rubric.question, key="question")
with st.form("answer_form"):
    answer = st.text_area("Your answer", key="answer", height=200)
    submitted = st.form_submit_button("Score my answer")
if submitted:
    result = scorers[rid].score(answer)
    st.metric("Score", f"{result.score:g} / {result.max_score:g}")
    for line in result.feedback:
        st.write(html.escape(line))
