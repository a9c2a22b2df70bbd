"""The app under hostile input (issue 12): broken rubric files, markup in user strings, passcode guessing."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_app import GOOD_ANSWER, env, rendered_text, start  # noqa: F401  (env is a fixture)


def _break_one_rubric(rubrics: Path) -> None:
    (rubrics / "destalinization" / "destal-global-stance.yaml").write_text("id: [unclosed\n", encoding="utf-8")


def test_practice_serves_the_rest_of_a_set_with_one_broken_file(env) -> None:
    _break_one_rubric(env["rubrics"])
    at = start()
    assert not at.error, [e.value for e in at.error]
    options = at.selectbox(key="practice_question").options
    assert len(options) == 2
    assert "destal-global-stance" not in rendered_text(at)  # students are not shown the teacher's problem
    at.text_area(key="practice_answer").set_value(GOOD_ANSWER)
    at.button(key="practice_submit").click().run()
    assert not at.exception and at.metric[0].value


def test_practice_serves_a_set_with_a_duplicate_id(env) -> None:
    folder = env["rubrics"] / "destalinization"
    (folder / "zz-copy.yaml").write_bytes((folder / "destal-politics.yaml").read_bytes())
    at = start()
    assert not at.exception and not at.error
    assert len(at.selectbox(key="practice_question").options) == 3


@pytest.mark.parametrize("page", ["studio", "batch"])
def test_teacher_pages_warn_about_the_skipped_file(env, page: str) -> None:
    _break_one_rubric(env["rubrics"])
    at = start(page)
    if page == "batch":
        at.toggle(key="batch_use_sample").set_value(True).run()
    assert not at.exception, at.exception
    text = rendered_text(at)
    assert "Skipped: destal-global-stance.yaml" in text and "invalid YAML" in text
