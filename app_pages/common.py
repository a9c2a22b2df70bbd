"""Shared UI helpers: rubric folders, cached scorers, the teacher passcode gate, safe HTML."""

from __future__ import annotations

import hmac
import html
import os
from pathlib import Path

import pandas as pd
import streamlit as st

from grader.rubric import Rubric
from grader.scoring import Scorer
from grader.store import Store, default_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PASSCODE_ENV = "GRADER_TEACHER_PASSCODE"
RUBRICS_ENV = "GRADER_RUBRICS_DIR"
SAMPLES_CSV = PROJECT_ROOT / "samples" / "destalinization" / "graded.csv"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # matches server.maxUploadSize in .streamlit/config.toml

HIGHLIGHT_CSS = """<style>
.grader-answer {line-height: 1.7; padding: .75rem 1rem; border: 1px solid rgba(128,128,128,.3);
  border-radius: .5rem; white-space: normal; overflow-wrap: anywhere;}
.grader-answer mark.grader-match {background: #c8f0c8; padding: 0 .15em; border-radius: .2em;}
.grader-answer mark.grader-negated {background: #ffd9a8; padding: 0 .15em; border-radius: .2em;
  text-decoration: underline wavy #c60;}
.grader-note {margin: .3rem 0; padding: .2rem .6rem; border-left: 4px solid rgba(128,128,128,.4);}
.grader-note.grader-covered {border-left-color: #2E6F40;}
.grader-note.grader-missing {border-left-color: #2b6cb0;}
.grader-note.grader-warning, .grader-note.grader-misconception {border-left-color: #c05621;}
</style>"""


def rubric_root() -> Path:
    """The rubrics folder: ``GRADER_RUBRICS_DIR`` or the project's ``rubrics/``."""
    return Path(os.environ.get(RUBRICS_ENV) or PROJECT_ROOT / "rubrics").resolve()


def rubric_sets() -> list[str]:
    """Names of the question sets (sub-folders of the rubrics folder holding YAML files)."""
    root = rubric_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*.y*ml")))


def _stamp(folder: Path) -> tuple[tuple[str, int], ...]:
    return tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.y*ml")))


@st.cache_resource(show_spinner=False, max_entries=32)
def _load_scorers(folder: str, stamp: tuple[tuple[str, int], ...]) -> dict[str, Scorer]:
    from grader.rubric import load_rubrics

    return {rid: Scorer(r) for rid, r in sorted(load_rubrics(folder).items())}


def scorers_for(set_name: str) -> dict[str, Scorer]:
    """One fitted scorer per rubric of a set, cached until a rubric file changes."""
    folder = rubric_root() / set_name
    return _load_scorers(str(folder), _stamp(folder))


@st.cache_resource(show_spinner=False, max_entries=16)
def scorer_for_yaml(text: str) -> Scorer:
    """A scorer for an edited rubric, cached by its YAML text (the studio's live view)."""
    from grader.rubric import rubric_from_yaml

    return Scorer(rubric_from_yaml(text))


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    return Store(url)


def get_store() -> Store:
    """One store (engine + connection pool) per database URL (``GRADER_DB_URL``)."""
    return _store(default_url())


def plain_numbers(df):  # -> pandas Styler
    """A table's look: numbers without trailing zeros (7.5, 10) and empty cells left empty.

    Pass ``placeholder=""`` to ``st.dataframe`` too: the browser draws missing numbers itself.
    """
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    other = [c for c in df.columns if c not in numeric]
    return df.style.format(lambda v: f"{v:g}", subset=numeric, na_rep="").format(na_rep="", subset=other)


def rubrics_of(scorers: dict[str, Scorer]) -> dict[str, Rubric]:
    """The rubrics behind a dict of scorers."""
    return {rid: s.rubric for rid, s in scorers.items()}


def configured_passcode() -> str | None:
    """The teacher passcode from ``GRADER_TEACHER_PASSCODE`` or Streamlit secrets, or None."""
    value = os.environ.get(PASSCODE_ENV)
    if not value:
        try:
            value = st.secrets.get(PASSCODE_ENV)
        except Exception:  # no secrets.toml at all: that is "not configured"
            value = None
    return str(value) if value else None


def passcode_ok(given: str, expected: str) -> bool:
    """Compare in constant time (no timing hint about how much of the passcode was right)."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def teacher_gate() -> bool:
    """True when the teacher pages may show; otherwise draws the passcode form.

    The passcode travels in the form's websocket message, never in the URL; only a
    boolean is kept in the session.
    """
    expected = configured_passcode()
    if expected is None:
        st.info(
            f"No teacher passcode is configured, so teacher pages are open to anyone who can reach "
            f"this app. Set the `{PASSCODE_ENV}` environment variable or Streamlit secret before sharing it.",
            icon=":material/lock_open:",
        )
        return True
    if st.session_state.get("teacher_unlocked"):
        return True
    st.subheader("Teachers only")
    with st.form("teacher_gate_form"):
        given = st.text_input("Teacher passcode", type="password", key="teacher_passcode")
        submitted = st.form_submit_button("Unlock", key="teacher_unlock")
    if submitted:
        if passcode_ok(given, expected):
            st.session_state["teacher_unlocked"] = True
            st.session_state.pop("teacher_passcode", None)
            st.rerun()
        st.error("That passcode is not right.")
    return False


def note(text: str, kind: str = "info") -> None:
    """One line of text that may contain user words: escaped, never read as Markdown or HTML."""
    st.markdown(f'<div class="grader-note grader-{kind}">{html.escape(text)}</div>', unsafe_allow_html=True)


def answer_box(highlighted_html: str) -> None:
    """Show an already-escaped highlighted answer (from grader.highlight)."""
    st.markdown(f'<div class="grader-answer">{highlighted_html}</div>', unsafe_allow_html=True)


def page_style() -> None:
    """The app's few CSS rules (highlight marks, feedback notes); called once per run by the router."""
    st.html(HIGHLIGHT_CSS)
