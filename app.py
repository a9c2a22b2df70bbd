"""Streamlit entry point: a router over the three pages in ``app_pages/`` (UI only).

Run with ``make run`` (``streamlit run app.py``). Students land on Practice; Batch scoring
and Rubric studio are for teachers and ask for the deployment's passcode when one is set.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:  # app_pages must import however streamlit was started
    sys.path.insert(0, str(_HERE))

from app_pages.common import check_passcode_config, page_style  # noqa: E402  (needs the path set above)

st.set_page_config(page_title="grader", page_icon=":material/edit_note:", layout="wide")
page_style()
check_passcode_config()

pages = [
    st.Page("app_pages/practice.py", title="Practice", icon=":material/edit:", default=True),
    st.Page("app_pages/batch.py", title="Batch scoring", icon=":material/table_view:"),
    st.Page("app_pages/studio.py", title="Rubric studio", icon=":material/tune:"),
]
st.navigation(pages).run()
