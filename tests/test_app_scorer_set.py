"""The app's pages score with the question set: an answer written for another question of the
set is flagged the same way on Practice and in the studio as by ``grader batch``.

(Before the ScorerSet, Practice and the studio built each scorer alone and never raised
``wrong_question``.)
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO

APP = str(REPO / "app.py")
SAMPLES = REPO / "samples" / "destalinization" / "graded.csv"
WRONG_QUESTION_MESSAGE = "This answer seems to answer a different question"


@pytest.fixture
def answer_to_another_question(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    rubrics = tmp_path / "rubrics"
    shutil.copytree(REPO / "rubrics" / "destalinization", rubrics / "destalinization", ignore=shutil.ignore_patterns("*.bak"))
    monkeypatch.setenv("GRADER_RUBRICS_DIR", str(rubrics))
    monkeypatch.setenv("GRADER_DB_URL", f"sqlite:///{tmp_path / 'grader.sqlite'}")
    monkeypatch.delenv("GRADER_TEACHER_PASSCODE", raising=False)
    with SAMPLES.open(encoding="utf-8", newline="") as fh:
        return next(r["answer"] for r in csv.DictReader(fh) if r["answer_id"] == "pol-018")  # a destal-politics row


def _notes(at: AppTest) -> str:
    return "\n".join(str(getattr(e, "value", "")) for e in [*at.markdown, *at.get("html")])


@pytest.mark.slow  # AppTest runs the page (the scoring function itself is in test_scorer_set.py)
def test_practice_flags_an_answer_to_another_question(answer_to_another_question: str) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.selectbox(key="practice_question").set_value("destal-politics")
    at.text_area(key="practice_answer").set_value(answer_to_another_question)
    at.button(key="practice_submit").click().run()
    assert not at.exception, at.exception
    assert WRONG_QUESTION_MESSAGE in _notes(at)


@pytest.mark.slow  # AppTest runs the page
def test_studio_try_flags_an_answer_to_another_question(answer_to_another_question: str) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("app_pages/studio.py").run()
    at.selectbox(key="studio_rubric").set_value("destal-politics").run()
    at.text_area(key="studio_try").set_value(answer_to_another_question).run()
    assert not at.exception, at.exception
    assert "Flag wrong_question" in _notes(at)
