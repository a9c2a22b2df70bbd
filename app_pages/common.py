"""Shared UI helpers: rubric folders, cached scorer sets, the teacher passcode gate, safe HTML."""

from __future__ import annotations

import functools
import hmac
import html
import json
import logging
import math
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from grader.errors import ConfigError
from grader.files import prune_old_files, save_stream
from grader.learned import load_learned_all
from grader.rubric import Rubric, load_rubric_set, rubric_from_yaml, rubric_to_yaml
from grader.scorer_set import ScorerSet
from grader.store import Store, default_url
from grader.throttle import AttemptThrottle, check_passcode_strength

_log = logging.getLogger("grader.app")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PASSCODE_ENV = "GRADER_TEACHER_PASSCODE"
RUBRICS_ENV = "GRADER_RUBRICS_DIR"
SAMPLES_CSV = PROJECT_ROOT / "samples" / "destalinization" / "graded.csv"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # matches server.maxUploadSize in .streamlit/config.toml
UPLOADS_ENV = "GRADER_UPLOADS_DIR"
UPLOADS_DIR = Path(os.environ.get(UPLOADS_ENV) or Path(tempfile.gettempdir()) / "grader-uploads")
"""Teacher uploads are copied here (by digest) and parsed from disk, not from a bytes copy in memory."""
UPLOADS_KEPT_SECONDS = 24 * 3600
"""Uploads untouched for a day are deleted when the next one arrives."""
FALLBACK_MAX_SCORE = 10.0
"""Top of a teacher's score box for a stored row without a max score."""
GRADE_STEP = 0.5
"""Step of a teacher's score box (override, group grade)."""
REASON_MAX_CHARS = 1000
"""Longest reason a teacher may give for an override or a group grade."""
NAME_MAX_CHARS = 100
"""Longest short name a teacher types (gradebook item, author in the change log)."""

HIGHLIGHT_CSS = """<style>
.grader-answer {line-height: 1.7; padding: .75rem 1rem; border: 1px solid rgba(128,128,128,.3);
  border-radius: .5rem; white-space: normal; overflow-wrap: anywhere;}
.grader-answer mark.grader-match {background: #c8f0c8; padding: 0 .15em; border-radius: .2em;}
.grader-answer mark.grader-negated {background: #ffd9a8; padding: 0 .15em; border-radius: .2em;
  text-decoration: underline wavy #c60;}
.grader-note {margin: .3rem 0; padding: .2rem .6rem; border-left: 4px solid rgba(128,128,128,.4); white-space: pre-wrap; overflow-wrap: anywhere;}
.grader-note.grader-covered {border-left-color: #2E6F40;}
.grader-note.grader-missing {border-left-color: #2b6cb0;}
.grader-note.grader-warning, .grader-note.grader-misconception {border-left-color: #c05621;}
</style>"""


def drop_session_uploads() -> None:
    """Free every file this browser session has uploaded (pages without an uploader call it).

    Streamlit keeps the bytes of any upload of an active session in server memory until the
    session ends, whether or not a page offers an uploader; Practice and locked teacher
    pages drop them on each run so an anonymous session cannot park files there.
    """
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    manager = getattr(ctx, "uploaded_file_mgr", None)
    if ctx is not None and manager is not None:
        manager.remove_session_files(ctx.session_id)


def upload_on_disk(upload: Any, purpose: str) -> tuple[Path, str]:
    """A teacher's upload copied to :data:`UPLOADS_DIR` 1 MB at a time, once per file: (path, sha256).

    Pages parse the copy from disk instead of holding more copies of the bytes in memory;
    files are named by their digest, so the same upload is stored once.
    """
    known = st.session_state.setdefault(f"{purpose}_upload_file", {})
    if upload.file_id not in known or not Path(known[upload.file_id][0]).exists():
        suffix = Path(upload.name).suffix.lower()
        upload.seek(0)
        path, digest = save_stream(upload, UPLOADS_DIR, suffix=suffix if suffix in {".csv", ".xlsx"} else ".csv",
                                   max_bytes=MAX_UPLOAD_BYTES, name=upload.name)
        known.clear()
        known[upload.file_id] = (str(path), digest)
        prune_old_files(UPLOADS_DIR, max_age_seconds=UPLOADS_KEPT_SECONDS)
    path, digest = known[upload.file_id]
    return Path(path), digest


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
    files = [*folder.glob("*.y*ml"), *folder.glob("*.learned.json")]  # learned data changes scores too
    return tuple((p.name, p.stat().st_mtime_ns) for p in sorted(files))


def set_stamp(set_name: str) -> tuple[tuple[str, int], ...]:
    """Names and modification times of a set's rubric files: part of every cache key that depends on them."""
    return _stamp(rubric_root() / set_name)


@st.cache_resource(show_spinner=False, max_entries=32)
def _load_scorers(folder: str, stamp: tuple[tuple[str, int], ...]) -> tuple[ScorerSet, tuple[str, ...]]:
    rubrics, problems = load_rubric_set(folder)
    learned = load_learned_all(folder, rubrics)  # grader learn: scores follow the teacher's grades
    scorers = ScorerSet(dict(sorted(rubrics.items())), learned=learned)
    return scorers, tuple(str(p) for p in problems)  # each names its file within the folder


def learned_for(set_name: str) -> dict[str, Any]:
    """Learned data (``grader learn``) of a set's rubrics, by rubric id (what its scorer set scores with)."""
    return dict(scorers_for(set_name).learned)


def scorers_for(set_name: str) -> ScorerSet:
    """The scorer set of a question set (one scorer per valid rubric, each knowing the others),
    cached until a rubric file changes; every page scores with it.

    A broken file is left out (see :func:`set_problems`), so the other questions still work.
    """
    folder = rubric_root() / set_name
    return _load_scorers(str(folder), _stamp(folder))[0]


def set_problems(set_name: str) -> tuple[str, ...]:
    """One line per rubric file of a set that was left out (for teachers' eyes)."""
    folder = rubric_root() / set_name
    return _load_scorers(str(folder), _stamp(folder))[1]


def warn_set_problems(set_name: str) -> None:
    """Tell teachers which rubric files of a set were skipped and why."""
    for problem in set_problems(set_name):
        note(f"Skipped: {problem}", "warning")


@st.cache_resource(show_spinner=False, max_entries=16)
def _edited_scorers(set_name: str | None, stamp: tuple[tuple[str, int], ...], replaces: str | None, text: str) -> ScorerSet:
    rubric = rubric_from_yaml(text)
    if set_name is None:
        return ScorerSet({rubric.id: rubric})
    return scorers_for(set_name).replacing(replaces, rubric)


def edited_scorers(set_name: str | None, replaces: str | None, rubric: Rubric) -> ScorerSet:
    """A set scoring an edited rubric among the other rubrics of ``set_name`` (without the
    rubric ``replaces``), as every other screen scores it; cached by the rubric's YAML."""
    if set_name is not None and not (rubric_root() / set_name).is_dir():
        set_name = None  # a set that does not exist yet has no other rubrics
    stamp = set_stamp(set_name) if set_name is not None else ()
    return _edited_scorers(set_name, stamp, replaces, rubric_to_yaml(rubric))


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


@st.cache_resource(show_spinner=False)
def passcode_throttle() -> AttemptThrottle:
    """One throttle for the whole server: failed attempts count per session and per client address."""
    return AttemptThrottle()


def _attempt_keys() -> list[str]:
    """The keys a passcode attempt is counted under: its browser session and, when known, its address."""
    keys = [f"session:{st.session_state.setdefault('passcode_attempt_key', secrets.token_hex(8))}"]
    address = client_address()
    if address:  # None on localhost and in tests
        keys.append(f"address:{address}")
    return keys


def client_address() -> str | None:
    """The client's IP address as Streamlit sees it (None on localhost)."""
    try:
        address = st.context.ip_address
    except Exception:  # older Streamlit or no request context
        return None
    return address if isinstance(address, str) and address else None


def check_passcode_config() -> None:
    """Refuse to serve any page when a teacher passcode is set but too short (called by the router)."""
    expected = configured_passcode()
    if expected is None:
        return
    try:
        check_passcode_strength(expected)
    except ConfigError as exc:
        st.error(f"This app is not started: {exc} Set a longer `{PASSCODE_ENV}`.")
        st.stop()


def teacher_gate() -> bool:
    """True when the teacher pages may show; otherwise draws the passcode form.

    The passcode travels in the form's websocket message, never in the URL; only a
    boolean is kept in the session. After 3 failures each failure doubles the wait before
    the next attempt is checked (per session and per client address), and each failure
    is logged with the address.
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
    drop_session_uploads()  # nothing may be parked in memory before the passcode
    st.subheader("Teachers only")
    with st.form("teacher_gate_form"):
        given = st.text_input("Teacher passcode", type="password", key="teacher_passcode")
        submitted = st.form_submit_button("Unlock", key="teacher_unlock")
    if submitted:
        throttle, keys = passcode_throttle(), _attempt_keys()
        wait = throttle.wait(keys)
        if wait > 0:
            st.error(f"Too many wrong passcodes. Try again in {math.ceil(wait)} seconds.")
            return False
        if passcode_ok(given, expected):
            throttle.succeed(keys)
            st.session_state["teacher_unlocked"] = True
            st.session_state.pop("teacher_passcode", None)
            st.rerun()
        delay = throttle.fail(keys)
        _log.warning(
            "teacher passcode: failed attempt from %s (%s); %d failures, next attempt in %.0f s",
            client_address() or "localhost", keys[0], throttle.failures(keys[0]), delay,
        )
        st.error("That passcode is not right.")
    return False


_MARKUP = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation mark
_BREAKS = re.compile(r"\s+")
_LINK_JOINTS = re.compile(r"([:@.])(?=\S)")
"""Where the renderer would turn a bare URL, ``www.`` name or e-mail address into a link,
even backslash-escaped: an invisible word joiner (U+2060) goes after these characters."""


def plain(text: object) -> str:
    """``text`` made inert for any Streamlit call that renders Markdown (caption, error, subheader...).

    THE escaping helper for user- or file-derived strings (answers, CSV headers, file names,
    rubric text, feedback, error messages quoting them): every ASCII punctuation mark is
    backslash-escaped, whitespace runs (line breaks included) become one space, and an
    invisible word joiner follows ``:``, ``@`` and ``.`` inside a word (the renderer links bare
    URLs and e-mail addresses even when escaped), so no Markdown (links, images, emphasis,
    lists, headings, code), autolink, HTML tag, entity or math can form. Strings shown
    through :func:`note` or :func:`answer_box` go through :func:`html.escape` into
    ``st.html`` instead, which never reads Markdown.

    >>> print(plain("ok\\n\\n![x](http://e.example/a.png) <b>").replace("\\u2060", "|"))
    ok \\!\\[x\\]\\(http\\:|\\/\\/e\\.|example\\/a\\.|png\\) \\<b\\>
    """
    text = _LINK_JOINTS.sub("\\1\u2060", _BREAKS.sub(" ", str(text)).strip())
    return _MARKUP.sub(r"\\\1", text)


def note(text: str, kind: str = "info") -> None:
    """Text that may contain user words, as a styled block: HTML-escaped in ``st.html`` (no Markdown at all)."""
    st.html(f'<div class="grader-note grader-{html.escape(kind)}">{html.escape(text)}</div>')


def answer_box(highlighted_html: str) -> None:
    """Show an already-escaped highlighted answer (from grader.highlight) in ``st.html`` (no Markdown)."""
    st.html(f'<div class="grader-answer">{highlighted_html}</div>')


_DATASET_PLACEHOLDER = "grader-line-chart-dataset"
"""Stands for the dataset's name in a cached line-chart spec."""
_LINE_CHART_MAX_ROWS = 200
"""Longer frames go through ``st.line_chart`` itself (Altair lays out large data differently)."""


def _arrow_bytes(frame: pd.DataFrame) -> bytes:
    """A frame as Streamlit serializes chart data (Arrow IPC)."""
    from streamlit import dataframe_util

    return dataframe_util.convert_anything_to_arrow_bytes(frame)


@functools.lru_cache(maxsize=16)
def _line_chart_template(dtypes: tuple[tuple[str, str], ...], index: tuple[str, str], height: int,
                         x_label: str, y_label: str) -> str | None:
    """``st.line_chart``'s Vega-Lite spec for a frame of this shape, as JSON with the dataset's name
    replaced by a placeholder; built once per shape in Altair, as Streamlit builds it.

    None when the spec cannot be reused: the data Streamlit charts is not the frame with its
    index as a column (several columns are melted), or the private helpers moved.
    """
    try:  # Streamlit's private helpers: any change in them (not only a move) falls back to st.line_chart
        return _template_from_streamlit(dtypes, index, height, x_label, y_label)
    except Exception as exc:  # noqa: BLE001 - cached as None: logged once per shape, never breaks the page
        _log.warning("draft chart: st.line_chart used (%s: %s)", type(exc).__name__, exc)
        return None


def _template_from_streamlit(dtypes: tuple[tuple[str, str], ...], index: tuple[str, str], height: int,
                             x_label: str, y_label: str) -> str | None:
    from streamlit.elements.lib.built_in_chart_utils import ChartType, generate_chart
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec
    from streamlit.util import calc_hash  # noqa: F401 - line_chart names the dataset with it

    sample = pd.DataFrame({name: pd.Series([1, 2], dtype=dtype) for name, dtype in dtypes},
                          index=pd.Index([1, 2], dtype=index[1], name=index[0]))
    chart = generate_chart(chart_type=ChartType.LINE, data=sample, x_from_user=None, y_from_user=None,
                           x_axis_label=x_label, y_axis_label=y_label, color_from_user=None,
                           size_from_user=None, width="stretch", height=height)
    spec = _convert_altair_to_vega_lite_spec(chart)
    datasets = spec.pop("datasets", {})
    if list(datasets.values()) != [_arrow_bytes(sample.reset_index())]:
        return None
    (name,) = datasets
    return json.dumps(spec).replace(name, _DATASET_PLACEHOLDER)


def line_chart(frame: pd.DataFrame, *, height: int, x_label: str, y_label: str) -> None:
    """``st.line_chart(frame, height=..., x_label=..., y_label=...)`` (the index on x, each column
    a line), sending the same element without building an Altair chart on every run.

    Building and validating the Altair chart took ~100 ms of server CPU per run, most of a
    Practice submit; the spec depends only on the frame's shape, so it is built once per
    shape and only the data (a content-named Arrow dataset, as Streamlit names it) changes.
    """
    dtypes = tuple((str(c), str(t)) for c, t in frame.dtypes.items())
    index = (str(frame.index.name or "index"), str(frame.index.dtype))
    template = None
    if len(frame) <= _LINE_CHART_MAX_ROWS and frame.index.name is not None and len(dtypes) == 1:
        template = _line_chart_template(dtypes, index, height, x_label, y_label)
    if template is None:
        st.line_chart(frame, height=height, x_label=x_label, y_label=y_label)
        return
    from streamlit.util import calc_hash  # available whenever the template could be built

    data = _arrow_bytes(frame.reset_index())
    name = calc_hash(data)
    spec = json.loads(template.replace(_DATASET_PLACEHOLDER, name))
    spec["datasets"] = {name: data}
    st.vega_lite_chart(spec=spec, width="stretch", height=height, theme="streamlit")


def page_style() -> None:
    """The app's few CSS rules (highlight marks, feedback notes); called once per run by the router."""
    st.html(HIGHLIGHT_CSS)
