"""The app under hostile input (issue 12): broken rubric files, markup in user strings, passcode guessing."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from conftest import minimal_rubric_data
from test_app import APP, GOOD_ANSWER, env, rendered_text, start  # noqa: F401  (env is a fixture)


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


@pytest.mark.slow  # waits out the passcode throttle / a long AppTest walk
@pytest.mark.parametrize("page", ["studio", "batch"])
def test_teacher_pages_warn_about_the_skipped_file(env, page: str) -> None:
    _break_one_rubric(env["rubrics"])
    at = start(page)
    if page == "batch":
        at.toggle(key="batch_use_sample").set_value(True).run()
    assert not at.exception, at.exception
    text = rendered_text(at)
    assert "Skipped: destal-global-stance.yaml" in text and "invalid YAML" in text


# --- item 5: no user- or file-derived string can produce Markdown or HTML ---------------------

PAYLOAD = "\n\n![img](http://evil.example/p.png) [click](http://evil.example/) <script>alert(1)</script> <img src=x onerror=alert(1)>"
_LIVE_MARKDOWN = re.compile(r"(?<!\\)(\]\(|<[A-Za-z/!])")


def _assert_inert(at) -> None:
    """Markdown elements hold no live link, image or tag; st.html elements no raw tag from the payload."""
    assert not at.exception, at.exception
    markdown = [e.value for kind in ("markdown", "caption", "subheader", "title", "error", "warning", "success", "info")
                for e in at.get(kind)]
    live = [m for m in markdown if _LIVE_MARKDOWN.search(m) and "evil" in m]
    assert live == [], live
    bare = [m for m in markdown if "evil" in m and re.search(r"(https?:|www\.|@)(?!\u2060)", m.replace("\\", ""))]
    assert bare == [], bare  # a bare URL or address would be autolinked even when escaped
    blocks = [e.proto.body for e in at.get("html")]
    assert not [b for b in blocks if "<script" in b or "<img" in b], blocks
    shown = " ".join(markdown + blocks)
    assert "evil" in shown  # the payload was displayed (as text), so the check looked at real output


def test_practice_payload_in_answer_question_and_misconception_feedback(env) -> None:
    data = minimal_rubric_data(question="What changed after Stalin died?" + PAYLOAD)
    data["misconceptions"][0]["feedback"] = "The USSR stayed a one-party state." + PAYLOAD
    folder = env["rubrics"] / "hostile"
    folder.mkdir()
    (folder / "thaw.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    at = start()
    at.selectbox(key="practice_set").set_value("hostile").run()
    at.text_area(key="practice_answer").set_value(
        "Khrushchev denounced Stalin in the Secret Speech and the country became a democracy." + PAYLOAD)
    at.button(key="practice_submit").click().run()
    _assert_inert(at)
    assert any("grader-misconception" in e.proto.body and "evil.example" in e.proto.body for e in at.get("html"))


@pytest.mark.slow  # waits out the passcode throttle / a long AppTest walk
def test_batch_payload_in_file_name_header_and_answer(env) -> None:
    at = start("batch")
    header = 'question_id,answer,"note' + PAYLOAD.replace('"', '""') + '"\n'
    body = 'destal-politics,"Khrushchev denounced Stalin.' + PAYLOAD.replace('"', '""') + '",x\n'
    name = "answers" + PAYLOAD.replace("\n", " ") + ".csv"
    at.file_uploader(key="batch_upload").set_value((name, (header + body).encode(), "text/csv")).run()
    _assert_inert(at)
    at.button(key="batch_score").click().run()
    _assert_inert(at)
    assert any("grader-answer" in e.proto.body or "grader-note" in e.proto.body for e in at.get("html"))


# --- item 6: passcode guessing ------------------------------------------------------------------


def _guess(at, passcode: str):
    at.text_input(key="teacher_passcode").set_value(passcode)
    at.button(key="teacher_unlock").click().run()
    assert not at.exception, at.exception
    return [e.value for e in at.error]


def test_short_passcode_refuses_to_start(env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_TEACHER_PASSCODE", "1234567")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert any("at least 8 characters" in e.value for e in at.error)
    assert not at.title and not at.text_area  # not even Practice is served


@pytest.mark.slow  # waits out the passcode throttle / a long AppTest walk
def test_wrong_passcodes_slow_down_and_are_logged(env, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    monkeypatch.setenv("GRADER_TEACHER_PASSCODE", "s3cret-Pass")
    at = start("batch")
    with caplog.at_level(logging.WARNING, logger="grader.app"):
        for _ in range(4):
            assert _guess(at, "wrong-guess") == ["That passcode is not right."]
    assert len([r for r in caplog.records if "teacher passcode: failed attempt" in r.getMessage()]) == 4
    refused = _guess(at, "s3cret-Pass")  # right, but sent before the wait is over: not even checked
    assert refused and refused[0].startswith("Too many wrong passcodes") and not at.title
    time.sleep(1.1)  # the 4th failure imposed 1 s; the 5th would impose 2 s, the 6th 4 s...
    _guess(at, "s3cret-Pass")
    assert at.title[0].value == "Batch scoring"


@pytest.mark.slow  # waits out the passcode throttle / a long AppTest walk
def test_wait_is_shared_by_sessions_from_one_address(env, monkeypatch: pytest.MonkeyPatch) -> None:
    import app_pages.common as common

    monkeypatch.setenv("GRADER_TEACHER_PASSCODE", "s3cret-Pass")
    monkeypatch.setattr(common, "client_address", lambda: "203.0.113.77")
    at = start("studio")
    for _ in range(5):
        _guess(at, "wrong-guess")
    fresh = start("studio")  # a new browser session from the same address
    refused = _guess(fresh, "s3cret-Pass")
    assert refused and refused[0].startswith("Too many wrong passcodes") and not fresh.title


# --- items 7 and 8: uploads ---------------------------------------------------------------------


def test_practice_offers_no_file_upload(env) -> None:
    at = start()
    assert not at.get("file_uploader")
    at.text_area(key="practice_answer").set_value(GOOD_ANSWER)
    at.button(key="practice_submit").click().run()
    assert not at.get("file_uploader")


@pytest.mark.slow  # waits out the passcode throttle / a long AppTest walk
def test_batch_upload_is_parsed_from_disk_and_mixed_encoding_is_flagged(env, tmp_path: Path, monkeypatch) -> None:
    import app_pages.common as common

    uploads = tmp_path / "uploads"
    monkeypatch.setattr(common, "UPLOADS_DIR", uploads)
    data = ("student,question_id,answer\nJos\u00e9 N\u00fa\u00f1ez,destal-politics," + GOOD_ANSWER + "\n").encode()
    data += ("Ren\u00e9e,destal-politics," + GOOD_ANSWER + "\n").encode("cp1252")
    at = start("batch")
    at.file_uploader(key="batch_upload").set_value(("roster.csv", data, "text/csv")).run()
    assert not at.exception, at.exception
    assert [p.read_bytes() for p in uploads.iterdir()] == [data]  # one copy on disk, named by its digest
    assert any("decoded on their own (lines 3)" in w.value for w in at.warning)
    at.button(key="batch_score").click().run()
    assert not at.exception, at.exception
    from grader.store import Store

    store = Store(f"sqlite:///{env['db']}")
    records = store.load_results(store.list_runs()[0].id)
    assert [r.student for r in records] == ["Jos\u00e9 N\u00fa\u00f1ez", "Ren\u00e9e"]
    assert "mixed_encoding" not in records[0].flags
    assert "mixed_encoding" in records[1].flags and records[1].needs_review


def test_practice_frees_files_a_session_uploaded_anyway(env, monkeypatch: pytest.MonkeyPatch) -> None:
    """Streamlit's upload endpoint accepts files from any active session; Practice drops them each run."""
    from types import SimpleNamespace

    import streamlit.runtime.scriptrunner as scriptrunner
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
    from streamlit.runtime.uploaded_file_manager import UploadedFileRec

    import app_pages.common as common

    manager = MemoryUploadedFileManager("/upload")
    manager.add_file("s1", UploadedFileRec(file_id="parked", name="big.bin", type="application/octet-stream",
                                           data=b"x" * 1_000_000))
    with monkeypatch.context() as m:
        m.setattr(scriptrunner, "get_script_run_ctx", lambda: SimpleNamespace(session_id="s1", uploaded_file_mgr=manager))
        common.drop_session_uploads()
    assert manager.get_files("s1", ["parked"]) == []

    calls: list[int] = []
    monkeypatch.setattr(common, "drop_session_uploads", lambda: calls.append(1))
    at = start()
    assert not at.exception and calls  # Practice calls it on every run
