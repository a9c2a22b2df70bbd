"""The app under many students: the cheap draft chart draws what st.line_chart draws, and the
classroom benchmark (benchmarks/app_load.py) still runs against a real server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO


def _draft_charts(scores: list[float]) -> list:
    """The chart protos of st.line_chart and of app_pages.common.line_chart for one draft history."""
    import sys
    from pathlib import Path

    import pandas as pd
    import streamlit as st

    sys.path.insert(0, str(Path.cwd()))  # the test runs it from the repository
    from app_pages.common import line_chart

    history = pd.DataFrame({"draft": range(1, len(scores) + 1), "score": scores, "words": 50}).set_index("draft")
    st.line_chart(history[["score"]], height=180, x_label="draft", y_label="score")
    line_chart(history[["score"]], height=180, x_label="draft", y_label="score")


@pytest.mark.parametrize("scores", [[3.0, 5.5], [1.0, 2.0, 7.5, 10.0], [4.5, 4.5, 4.5], [0.0, 9.25, 3.0, 3.0, 8.0]])
def test_draft_chart_is_the_line_chart_element(scores: list[float], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    at = AppTest.from_function(_draft_charts, args=(scores,), default_timeout=60).run()
    assert not at.exception, at.exception
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2
    expected, ours = charts[0].proto, charts[1].proto
    assert ours == expected
    assert json.loads(ours.spec)["height"] == 180 and len(ours.datasets) == 1


def test_draft_chart_reuses_the_spec_for_the_practice_history() -> None:
    """The shape Practice charts (score by draft) takes the cheap path, not the st.line_chart fallback."""
    from app_pages.common import _line_chart_template

    assert _line_chart_template((("score", "float64"),), ("draft", "int64"), 180, "draft", "score") is not None


def test_draft_chart_falls_back_when_streamlit_internals_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """A changed private helper (any exception, not only ImportError) means st.line_chart, never a broken page."""
    import app_pages.common as common

    def changed(*args: object) -> str:
        raise TypeError("generate_chart() got an unexpected keyword argument 'x_from_user'")

    monkeypatch.setattr(common, "_template_from_streamlit", changed)
    common._line_chart_template.cache_clear()
    try:
        assert common._line_chart_template((("score", "float64"),), ("draft", "int64"), 180, "draft", "score") is None
    finally:
        common._line_chart_template.cache_clear()


@pytest.mark.slow
@pytest.mark.subprocess
def test_app_load_benchmark_runs(tmp_path: Path) -> None:
    """Two students for five seconds against a real server: answers are scored, nothing fails."""
    out = tmp_path / "app_load.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "app_load.py"), "--students", "2", "--seconds", "5",
         "--timeout", "60", "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    figures = json.loads(out.read_text())
    assert figures["submissions"] > 0 and figures["errors"] == 0, figures
    assert "| students |" in proc.stdout
