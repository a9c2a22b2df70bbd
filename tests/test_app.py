"""The Streamlit app through streamlit.testing.v1.AppTest: every page and its main paths.

Each test gets its own rubric folder (a copy of the seed set), database and no passcode
unless it sets one, so nothing in the repository is written.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from grader.rubric import load_rubrics
from grader.store import Store

from conftest import REPO

APP = str(REPO / "app.py")
GOOD_ANSWER = (
    "Khrushchev denounced Stalin in the Secret Speech of 1956. Political prisoners were released "
    "from the gulag, the terror ended and the secret police lost power, but the Communist Party "
    "kept its monopoly and the country did not become a democracy."
)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    rubrics = tmp_path / "rubrics"
    shutil.copytree(REPO / "rubrics" / "destalinization", rubrics / "destalinization", ignore=shutil.ignore_patterns("*.bak"))
    db = tmp_path / "grader.sqlite"
    monkeypatch.setenv("GRADER_RUBRICS_DIR", str(rubrics))
    monkeypatch.setenv("GRADER_DB_URL", f"sqlite:///{db}")
    monkeypatch.delenv("GRADER_TEACHER_PASSCODE", raising=False)
    return {"rubrics": rubrics, "db": db}


def start(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    if page is not None:
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, at.exception
    return at


def strings(message) -> Iterator[str]:
    """Every string field of a protobuf message, recursively (what is sent to the browser)."""
    for field, value in message.ListFields():
        single = isinstance(value, (str, bytes, int, float)) or hasattr(value, "ListFields")
        values = [value] if single else list(value)
        for v in values:
            if isinstance(v, str):
                yield v
            elif hasattr(v, "ListFields"):
                yield from strings(v)


def rendered_text(at: AppTest) -> str:
    """All text of the rendered page: element protos of the whole tree."""
    out: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ListFields"):
            out.extend(strings(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(out)


def table(at: AppTest, *, having: str, lacking: str = "\x00") -> pd.DataFrame:
    """The one dataframe on the page with column ``having`` (and without ``lacking``)."""
    found = [d.value for d in at.dataframe if having in d.value.columns and lacking not in d.value.columns]
    assert len(found) == 1, f"{len(found)} tables with column {having!r}"
    return found[0]


def html_blocks(at: AppTest) -> list[str]:
    """Bodies of the st.html elements (answer boxes and notes: HTML-escaped, never read as Markdown)."""
    return [e.proto.body for e in at.get("html")]


def shown(text: str) -> str:
    """``text`` as the reader sees it: the Markdown escapes of :func:`app_pages.common.plain` removed."""
    return re.sub(r"\\(.)", r"\1", text).replace("\u2060", "")


def errors(at: AppTest) -> list[str]:
    """Error messages as the reader sees them (Markdown escapes of user strings removed)."""
    return [shown(e.value) for e in at.error]


def successes(at: AppTest) -> list[str]:
    """Success messages as the reader sees them."""
    return [shown(e.value) for e in at.success]


def practise(at: AppTest, answer: str, rubric_id: str = "destal-politics") -> AppTest:
    at.selectbox(key="practice_question").set_value(rubric_id)
    at.text_area(key="practice_answer").set_value(answer)
    at.button(key="practice_submit").click().run()
    assert not at.exception, at.exception
    return at


# --- Practice -----------------------------------------------------------------------------


def test_practice_is_the_landing_page_and_scores_an_answer(env) -> None:
    at = start()
    assert at.title[0].value == "Practice"
    practise(at, GOOD_ANSWER)
    score = at.metric[0].value
    assert re.fullmatch(r"\d+(\.\d+)? / 10", score) and float(score.split(" / ")[0]) >= 5
    boxes = [b for b in html_blocks(at) if b.startswith('<div class="grader-answer"')]
    assert len(boxes) == 1 and '<mark class="grader-match"' in boxes[0]
    assert "Secret Speech" in boxes[0]


def test_practice_never_renders_model_answer_terms_or_synonyms(env) -> None:
    at = practise(start(), "The Thaw changed things a bit.")
    text = rendered_text(at)
    rubric = load_rubrics(env["rubrics"] / "destalinization")["destal-politics"]
    assert "Still missing" in text  # hints did render: the check below looks at a real page
    for sentence in re.split(r"(?<=[.!?])\s+", rubric.model_answer):
        assert sentence not in text
    shown = (text.replace(rubric.question, "") + "").lower()
    visible = " ".join([rubric.question, "The Thaw changed things a bit.", *(c.label for c in rubric.concepts),
                        *(c.hint for c in rubric.concepts)]).lower()
    leaked = [p for c in rubric.concepts for p in c.phrases if p.lower() in shown and p.lower() not in visible]
    assert leaked == []
    checked = [p for c in rubric.concepts for p in c.phrases if p.lower() not in visible]
    assert len(checked) > 20


def test_practice_answer_markup_is_escaped(env) -> None:
    at = practise(start(), "<script>alert(1)</script> Khrushchev denounced Stalin in the Secret Speech <b>bold</b>.")
    block = next(b for b in html_blocks(at) if "grader-answer" in b)
    assert "<script>" not in block and "&lt;script&gt;" in block and "&lt;b&gt;" in block


def test_practice_shows_warnings_for_a_keyword_list(env) -> None:
    at = practise(start(), "Stalin Khrushchev gulag thaw purges camps prisoners terror police")
    notes = [b for b in html_blocks(at) if "grader-note grader-warning" in b]
    assert any("list of keywords" in n for n in notes)


def test_practice_empty_answer_asks_for_text(env) -> None:
    at = practise(start(), "   ")
    assert "Write an answer first." in [w.value for w in at.warning]
    assert not at.metric


def test_practice_keeps_draft_history_with_trend(env) -> None:
    at = practise(start(), "Stalin died.")
    at = practise(at, GOOD_ANSWER)
    history = table(at, having="concepts covered")
    assert list(history.index) == [1, 2]
    assert history["score"].iloc[1] > history["score"].iloc[0]
    assert at.metric[0].delta.startswith("+")


def test_practice_offers_model_answer_only_after_n_drafts(env) -> None:
    data = yaml.safe_load((env["rubrics"] / "destalinization" / "destal-politics.yaml").read_text())
    data["show_model_answer_after"] = 2
    (env["rubrics"] / "revealing").mkdir()
    (env["rubrics"] / "revealing" / "r.yaml").write_text(yaml.safe_dump(data))
    at = start()
    at.selectbox(key="practice_set").set_value("revealing").run()
    at = practise(at, "Stalin died.")
    assert "after 2 drafts (you have 1)" in " ".join(c.value for c in at.caption)
    assert data["model_answer"][:60] not in rendered_text(at)
    at = practise(at, "Stalin died and things changed.")
    at.button(key="practice_show_model").click().run()
    assert data["model_answer"][:60] in rendered_text(at)


# --- Teacher passcode -------------------------------------------------------------------------


@pytest.mark.slow  # a long walk through the app (AppTest); make test runs it, make test-fast does not
@pytest.mark.parametrize("page", ["batch", "studio"])
def test_teacher_pages_open_with_a_notice_when_no_passcode(env, page: str) -> None:
    at = start(page)
    assert any("No teacher passcode is configured" in i.value for i in at.info)
    assert at.title[0].value in {"Batch scoring", "Rubric studio"}


@pytest.mark.parametrize("page", ["batch", "studio"])
def test_teacher_pages_need_the_passcode(env, monkeypatch: pytest.MonkeyPatch, page: str) -> None:
    monkeypatch.setenv("GRADER_TEACHER_PASSCODE", "s3cret-Pass")
    at = start(page)
    assert not at.title and at.text_input(key="teacher_passcode").proto.type == at.text_input(key="teacher_passcode").proto.PASSWORD
    at.text_input(key="teacher_passcode").set_value("s3cret-pass")
    at.button(key="teacher_unlock").click().run()
    assert [e.value for e in at.error] == ["That passcode is not right."] and not at.title
    at.text_input(key="teacher_passcode").set_value("s3cret-Pass")
    at.button(key="teacher_unlock").click().run()
    assert at.title[0].value in {"Batch scoring", "Rubric studio"}
    assert "s3cret-Pass" not in rendered_text(at)
    assert dict(at.query_params) == {}


def test_passcode_may_come_from_streamlit_secrets(env) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["GRADER_TEACHER_PASSCODE"] = "from-secrets"
    at.run()
    at.switch_page("app_pages/batch.py").run()
    assert not at.title and not at.info
    at.text_input(key="teacher_passcode").set_value("from-secrets")
    at.button(key="teacher_unlock").click().run()
    assert at.title[0].value == "Batch scoring"


@pytest.mark.parametrize(("given", "expected", "ok"), [("abc", "abc", True), ("abd", "abc", False), ("", "abc", False),
                                                       ("abcd", "abc", False), ("ünï", "ünï", True)])
def test_passcode_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch, given: str, expected: str, ok: bool) -> None:
    import app_pages.common as common

    calls: list[tuple[bytes, bytes]] = []
    real = common.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(common.hmac, "compare_digest", spy)
    assert common.passcode_ok(given, expected) is ok
    assert calls == [(given.encode(), expected.encode())]


# --- Batch scoring ----------------------------------------------------------------------------


def score_sample(at: AppTest) -> AppTest:
    at.toggle(key="batch_use_sample").set_value(True).run()
    assert at.selectbox(key="batch_col_answer").value == "answer"
    assert at.selectbox(key="batch_col_question").value == "question_id"
    at.button(key="batch_score").click().run()
    assert not at.exception, at.exception
    return at


@pytest.mark.slow  # a long walk through the app (AppTest); make test runs it, make test-fast does not
def test_batch_scores_the_bundled_samples_and_puts_review_first(env) -> None:
    at = score_sample(start("batch"))
    metrics = {m.label: m.value for m in at.metric}
    n = len(pd.read_csv(REPO / "samples" / "destalinization" / "graded.csv"))  # the bundled sample, every row scores
    assert n > 100 and metrics["Rows"] == str(n) and metrics["Scored"] == str(n)
    queue = table(at, having="why review")
    assert len(queue) == int(metrics["Needs review"]) > 0
    order = ["error", "flagged", "unsure", "near boundary"]
    ranks = [order.index(g) for g in queue["why review"]]
    assert ranks == sorted(ranks)
    assert len(table(at, having="override reason", lacking="why review")) == n
    assert {b.key for b in at.download_button} == {"batch_dl_csv", "batch_dl_gradebook", "batch_dl_canvas", "batch_dl_moodle",
                                                  "batch_dl_reports_html", "batch_dl_reports_pdf"}
    store = Store(f"sqlite:///{env['db']}")
    [run] = store.list_runs()
    assert run.n_rows == n


@pytest.mark.slow  # a long walk through the app (AppTest)
def test_batch_override_keeps_auto_score_and_survives_restart(env) -> None:
    at = score_sample(start("batch"))
    store = Store(f"sqlite:///{env['db']}")
    by_row = {r.row: r for r in store.load_results(store.list_runs()[0].id)}
    line = by_row[keyed(at.selectbox, "batch_override_row").value].line
    auto = table(at, having="override reason", lacking="why review").set_index("line").loc[line, "auto score"]
    keyed(at.number_input, "batch_override_score").set_value(9.5)
    keyed(at.text_input, "batch_override_reason").set_value("Answer is right, scorer missed the paraphrase")
    at.button(key="batch_override_save").click().run()
    assert not at.exception
    assert any("now scores 9.5" in s and f"line {line} " in s for s in successes(at))
    rows = table(at, having="override reason", lacking="why review").set_index("line")
    assert rows.loc[line, "override"] == 9.5 and rows.loc[line, "final score"] == 9.5 and rows.loc[line, "auto score"] == auto
    again = start("batch")  # a new session: the run and its override come from the database
    assert again.selectbox(key="batch_run_pick").value == store.list_runs()[0].id
    rows = table(again, having="override reason", lacking="why review").set_index("line")
    assert rows.loc[line, "final score"] == 9.5 and rows.loc[line, "override reason"].startswith("Answer is right")


@pytest.mark.slow  # a long walk through the app (AppTest); make test runs it, make test-fast does not
def test_batch_override_without_reason_is_refused(env) -> None:
    at = score_sample(start("batch"))
    keyed(at.number_input, "batch_override_score").set_value(1.0)
    at.button(key="batch_override_save").click().run()
    assert errors(at) == ["an override needs a reason"]
    assert at.metric[3].value == "0"


def test_batch_upload_cp1252_csv_with_one_rubric(env) -> None:
    text = "Name;Response\nJosé;Khrushchev freed political prisoners from the gulag and ended the terror.\n" \
           "=cmd;=HYPERLINK(\"http://x\")\nBo;\n"
    at = start("batch")
    at.file_uploader(key="batch_upload").set_value(("week1.csv", text.encode("cp1252"), "text/csv")).run()
    assert not at.exception and not at.error
    assert at.selectbox(key="batch_col_answer").value == "Response"
    assert at.selectbox(key="batch_col_student").value == "Name"
    assert at.radio(key="batch_mode").value == "One rubric for every row"
    at.selectbox(key="batch_rubric").set_value("destal-politics")
    at.button(key="batch_score").click().run()
    rows = table(at, having="override reason", lacking="why review")
    assert list(rows["student"]) == ["José", "=cmd", "Bo"]
    assert rows["auto score"].iloc[0] > 0 and rows["flags"].iloc[2] == "error_empty_answer"


def test_batch_refuses_an_upload_over_the_size_limit(env) -> None:
    from app_pages.common import MAX_UPLOAD_BYTES

    at = start("batch")
    big = b"answer\n" + b"x" * MAX_UPLOAD_BYTES
    at.file_uploader(key="batch_upload").set_value(("big.csv", big, "text/csv")).run()
    assert not at.exception
    assert errors(at) == ["big.csv: the file is larger than 20 MB."]
    assert not [b for b in at.button if b.key == "batch_score"]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.csv", b"", "empty.csv: file is empty"),
    ("bin.csv", b"\x00\x01\x02binary\x00", "bin.csv: looks like a binary file"),
    ("broken.csv", b'"question_id,answer\ndestal-politics,x\n', "broken.csv: line 1: cannot read the header row"),
])
def test_batch_bad_upload_shows_one_clear_error(env, name: str, content: bytes, message: str) -> None:
    at = start("batch")
    at.file_uploader(key="batch_upload").set_value((name, content, "text/csv")).run()
    assert not at.exception
    assert any(e.startswith(message) for e in errors(at)), errors(at)
    assert "tmp" not in " ".join(errors(at))


# --- Rubric studio ------------------------------------------------------------------------------


def test_studio_samples_upload_with_a_broken_row_names_the_upload(env) -> None:
    at = start("studio")
    content = b'"question_id,answer,score\ndestal-politics,x,1\n'
    at.file_uploader(key="studio_samples").set_value(("graded-week1.csv", content, "text/csv")).run()
    assert not at.exception
    assert any(e.startswith("graded-week1.csv: line 1: cannot read the header row") for e in errors(at)), errors(at)
    assert "tmp" not in " ".join(errors(at))  # the saved copy's path never shows


@pytest.mark.slow  # a long walk through the app (AppTest)
def test_studio_try_compare_and_save_with_backup(env) -> None:
    at = start("studio")
    at.selectbox(key="studio_rubric").set_value("destal-politics").run()
    agreement = table(at, having="qwk")
    assert list(agreement.index) == ["before edit", "after edit", "change"]
    assert agreement.loc["before edit", "n"] > 10 and agreement.loc["change", "qwk"] == 0
    concepts = table(at, having="high_rate_before")
    assert "high_rate_before" in concepts.columns and len(concepts) >= 3
    at.text_area(key="studio_try").set_value(GOOD_ANSWER).run()
    assert float(at.metric[0].value.split(" / ")[0]) >= 5
    assert table(at, having="by phrase")["matched"].any()
    at.text_input(key="studio_title").set_value("Edited in the studio").run()
    at.button(key="studio_save").click().run()
    assert not at.exception and any("previous version kept as .bak" in s for s in successes(at))
    folder = env["rubrics"] / "destalinization"
    assert load_rubrics(folder / "destal-politics.yaml")["destal-politics"].title == "Edited in the studio"
    assert (folder / "destal-politics.yaml.bak").exists()


def test_studio_invalid_edit_is_reported_and_cannot_be_saved(env) -> None:
    at = start("studio")
    at.text_input(key="studio_id").set_value("../../evil").run()
    assert any(e.startswith("Not valid yet - <studio>: id:") for e in errors(at))
    assert not [b for b in at.button if b.key == "studio_save"]
    assert not list(env["rubrics"].parent.glob("evil*"))


@pytest.mark.slow  # a long walk through the app (AppTest)
def test_studio_builds_a_rubric_and_saves_it_into_a_new_set(env) -> None:
    at = build_berlin(start("studio"))
    assert not at.exception and not at.error
    assert len(at.data_editor[0].value) >= 2  # one concept per claim of the model answer, ready to edit
    at.selectbox(key="studio_target_set").set_value("(new set)").run()
    at.text_input(key="studio_new_set").set_value("cold-war").run()
    at.button(key="studio_save").click().run()
    assert not at.exception
    saved = env["rubrics"] / "cold-war" / "berlin-wall.yaml"
    assert saved.exists() and load_rubrics(saved)["berlin-wall"].question.startswith("Why did the Berlin Wall")


@pytest.mark.slow  # a long walk through the app (AppTest); make test runs it, make test-fast does not
def test_studio_refuses_a_set_name_that_leaves_the_rubric_folder(env) -> None:
    at = start("studio")
    at.radio(key="studio_mode").set_value("Upload a rubric YAML").run()
    text = (env["rubrics"] / "destalinization" / "destal-politics.yaml").read_bytes()
    at.file_uploader(key="studio_yaml_upload").set_value(("x.yaml", text, "application/x-yaml")).run()
    at.selectbox(key="studio_target_set").set_value("(new set)").run()
    at.text_input(key="studio_new_set").set_value("../outside").run()
    assert any("letters, digits" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "studio_save"]


def test_studio_upload_of_broken_yaml_names_file_and_line(env) -> None:
    at = start("studio")
    at.radio(key="studio_mode").set_value("Upload a rubric YAML").run()
    at.file_uploader(key="studio_yaml_upload").set_value(("bad.yaml", b"id: x\nquestion: [unclosed\n", "application/x-yaml")).run()
    assert not at.exception
    assert any(re.match(r"bad\.yaml: line \d+: invalid YAML", e) for e in errors(at)), errors(at)


def test_server_upload_limit_matches_the_pages() -> None:
    import tomllib

    from app_pages.common import MAX_UPLOAD_BYTES

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 1024 * 1024 == MAX_UPLOAD_BYTES
    assert config["client"]["showErrorDetails"] in {"type", "none"}  # no tracebacks with server paths for users


@pytest.mark.slow  # a long walk through the app (AppTest)
def test_every_widget_has_a_key(env) -> None:
    from streamlit.testing.v1.element_tree import Widget

    def unkeyed(at: AppTest) -> list[str]:
        out: list[str] = []

        def walk(node) -> None:
            if isinstance(node, Widget) and not node.key:
                out.append(f"{node.type}: {getattr(node, 'label', '')}")
            for child in getattr(node, "children", {}).values():
                walk(child)

        walk(at._tree)
        return out

    pages = [practise(start(), GOOD_ANSWER), score_sample(start("batch")), start("studio")]
    pages[2].text_area(key="studio_try").set_value(GOOD_ANSWER).run()
    for at in pages:
        assert unkeyed(at) == []


# --- Batch: overrides always land on the row shown ------------------------------------------


def keyed(elements, prefix: str):
    """The one widget whose key starts with ``prefix`` (override widgets are keyed by run and row)."""
    found = [w for w in elements if (w.key or "").startswith(prefix)]
    assert len(found) == 1, f"{len(found)} widgets with a key starting {prefix!r}"
    return found[0]


CLASS_CSV = (
    "student_id,student,question_id,answer\n"
    "s1,Ann Lee,destal-politics,Khrushchev denounced Stalin in the Secret Speech of 1956 and freed political prisoners.\n"
    "s1,Ann Lee,destal-eastern-europe,The Soviet army crushed the Hungarian uprising in 1956.\n"
    "s2,Bo Ma,destal-politics,Stalin died.\n"
)


def upload_and_score(at: AppTest, name: str = "class.csv", text: str = CLASS_CSV) -> AppTest:
    at.file_uploader(key="batch_upload").set_value((name, text.encode(), "text/csv")).run()
    at.button(key="batch_score").click().run()
    assert not at.exception, at.exception
    return at


@pytest.mark.slow  # a long walk through the app (AppTest); make test runs it, make test-fast does not
def test_override_form_follows_the_run_and_row_shown(env) -> None:
    at = score_sample(start("batch"))
    first_run = at.selectbox(key="batch_run_pick").value
    keyed(at.number_input, "batch_override_score").set_value(9.5)  # typed, not saved
    at = upload_and_score(at)  # a new run is picked: the form must not keep run 1's row or number
    store = Store(f"sqlite:///{env['db']}")
    new_run = at.selectbox(key="batch_run_pick").value
    assert new_run != first_run
    records = {r.row: r for r in store.load_results(new_run)}
    row = keyed(at.selectbox, "batch_override_row").value
    assert row in records
    shown = keyed(at.number_input, "batch_override_score").value
    assert shown == (records[row].score or 0.0)
    keyed(at.text_input, "batch_override_reason").set_value("checked by hand")
    at.button(key="batch_override_save").click().run()
    saved = store.overrides(new_run)
    assert list(saved) == [row] and saved[row].score == shown and store.overrides(first_run) == {}
    assert any(f"line {records[row].line}" in s.value and records[row].student in s.value for s in at.success)


@pytest.mark.slow  # a long walk through the app (AppTest); make test runs it, make test-fast does not
def test_override_form_resets_when_the_run_picker_changes(env) -> None:
    at = upload_and_score(score_sample(start("batch")))
    store = Store(f"sqlite:///{env['db']}")
    newest, older = [r.id for r in store.list_runs()]
    keyed(at.number_input, "batch_override_score").set_value(1.5)
    at.selectbox(key="batch_run_pick").set_value(older).run()
    records = {r.row: r for r in store.load_results(older)}
    row = keyed(at.selectbox, "batch_override_row").value
    assert keyed(at.number_input, "batch_override_score").value == (records[row].score or 0.0)
    assert str(records[row].line) in keyed(at.selectbox, "batch_override_row").format_func(row)


def shown_cells(element) -> pd.DataFrame:
    """The table as the browser shows it (the Styler's display strings), not the raw values."""
    import pyarrow as pa

    return pa.ipc.open_stream(element.proto.arrow_data.styler.display_values).read_pandas()


def all_rows(at: AppTest):
    return next(d for d in at.dataframe if "override reason" in d.value.columns and "why review" not in d.value.columns)


@pytest.mark.slow  # a long walk through the app (AppTest); make test runs it, make test-fast does not
def test_batch_guesses_the_student_id_and_counts_rows_by_file_line(env) -> None:
    long_answer = "Khrushchev denounced Stalin in the Secret Speech of 1956. " * 12
    text = CLASS_CSV + f"s3,Cy Ro,destal-politics,{long_answer}\ns4,Di,destal-politics,\n"
    at = start("batch")
    at.file_uploader(key="batch_upload").set_value(("class.csv", text.encode(), "text/csv")).run()
    assert at.selectbox(key="batch_col_student_id").value == "student_id"
    assert at.selectbox(key="batch_col_student").value == "student"
    at.button(key="batch_score").click().run()
    element = all_rows(at)
    rows = element.value
    assert "row" not in rows.columns and list(rows["line"]) == [2, 3, 4, 5, 6]
    assert list(rows["student id"]) == ["s1", "s1", "s2", "s3", "s4"]
    assert rows["answer"].iloc[3].strip() == long_answer.strip()  # never cut off
    shown = shown_cells(element)
    assert "None" not in set(shown.astype(str).values.ravel()) and "nan" not in set(shown.astype(str).values.ravel())
    assert shown["auto score"].iloc[4] == "" and shown["override"].iloc[0] == ""
    assert shown["auto score"].iloc[0] == f"{rows['auto score'].iloc[0]:g}"  # 7.5, 10: no trailing zeros
    assert element.proto.HasField("placeholder") and element.proto.placeholder == ""  # the browser draws no "None"
    assert element.proto.row_height > 64  # above 4rem the browser wraps long text instead of cutting it
    labels = keyed(at.selectbox, "batch_override_row")
    assert labels.options and all(o.startswith("line ") for o in labels.options)


@pytest.mark.slow  # a long walk through the app (AppTest); make test runs it, make test-fast does not
def test_the_same_file_scored_twice_is_one_run_and_runs_can_be_deleted(env) -> None:
    at = upload_and_score(start("batch"))
    at.button(key="batch_score").click().run()
    store = Store(f"sqlite:///{env['db']}")
    assert store.count_runs() == 1
    assert any("already scored" in s for s in successes(at))
    run = store.list_runs()[0].id
    at.checkbox(key=f"batch_delete_sure_{run}").check().run()
    at.button(key="batch_delete_run").click().run()
    assert not at.exception and store.count_runs() == 0
    assert any(f"Deleted run #{run}" in s for s in successes(at))


@pytest.mark.slow  # a long walk through the app (AppTest); make test runs it, make test-fast does not
def test_batch_export_reports_two_answers_to_one_question(env) -> None:
    text = CLASS_CSV + "s2,Bo Ma,destal-politics,Khrushchev freed prisoners from the gulag.\ns2,Bo Ma,nope,x\n"
    at = upload_and_score(start("batch"), text=text)
    notes = [b for b in html_blocks(at) if "grader-note grader-warning" in b]
    assert any("answered a question more than once" in n and "2 answers to destal-politics (lines 4, 5)" in n for n in notes)
    assert any("unknown question are not exported: line 6 (nope)" in n for n in notes)
    assert any("One row per student: 2 students, 2 questions" in shown(c.value) for c in at.caption)


# --- Rubric studio: new questions, samples of the right question, comments kept ----------------


def build_berlin(at: AppTest) -> AppTest:
    at.radio(key="studio_mode").set_value("Build from a question and model answer").run()
    at.text_input(key="studio_build_id").set_value("berlin-wall")
    at.text_area(key="studio_build_question").set_value("Why did the Berlin Wall fall in 1989?")
    at.text_area(key="studio_build_model").set_value(
        "Mass protests in East Germany, the exodus through Hungary and Gorbachev's refusal to use force "
        "led the East German government to open the border on 9 November 1989."
    )
    at.checkbox(key="studio_build_wordnet").uncheck()
    at.button(key="studio_build").click().run()
    assert not at.exception
    return at


def test_studio_new_question_defaults_to_its_own_set_and_is_not_compared_with_other_answers(env) -> None:
    at = build_berlin(start("studio"))
    assert at.selectbox(key="studio_target_set").value == "(new set)"
    assert at.text_input(key="studio_new_set").value == "berlin-wall"
    assert not [d for d in at.dataframe if "qwk" in d.value.columns]  # no agreement with De-Stalinization answers
    assert any("no graded answers to question 'berlin-wall'" in shown(i.value) for i in at.info)
    at.button(key="studio_save").click().run()
    assert (env["rubrics"] / "berlin-wall" / "berlin-wall.yaml").exists()
    assert not (env["rubrics"] / "destalinization" / "berlin-wall.yaml").exists()


@pytest.mark.slow  # a long walk through the app (AppTest); make test runs it, make test-fast does not
def test_studio_agreement_names_the_question_and_file_it_compares_with(env) -> None:
    at = start("studio")
    at.selectbox(key="studio_rubric").set_value("destal-eastern-europe").run()
    n = table(at, having="qwk").loc["before edit", "n"]
    assert any(f"Compared with the {int(n)} graded answers to question 'destal-eastern-europe' in graded.csv" in shown(c.value)
               for c in at.caption)


@pytest.mark.slow  # a long walk through the app (AppTest); make test runs it, make test-fast does not
def test_studio_save_keeps_the_yaml_comments(env) -> None:
    path = env["rubrics"] / "destalinization" / "destal-politics.yaml"
    path.write_text(path.read_text().replace("weight: 2\n", "weight: 2  # the key idea, keep it heavy\n", 1))
    at = start("studio")
    at.selectbox(key="studio_rubric").set_value("destal-politics").run()
    at.text_input(key="studio_title").set_value("Edited, comments kept").run()
    at.button(key="studio_save").click().run()
    assert not at.exception
    text = path.read_text()
    assert text.startswith("# Built by `grader rubric build`") and "# the key idea, keep it heavy" in text
    assert "title: Edited, comments kept" in text
    assert load_rubrics(path)["destal-politics"].title == "Edited, comments kept"


# --- Rubric lifecycle: drafts, publishing, change log, re-score ----------------------------------


@pytest.mark.slow  # a long walk through the app (AppTest); make test runs it, make test-fast does not
def test_a_draft_is_hidden_from_practice_until_published(env) -> None:
    at = build_berlin(start("studio"))
    at.text_input(key="studio_author").set_value("Ms Rivera")
    at.button(key="studio_save_draft").click().run()
    assert not at.exception and any(s.value.startswith("Draft saved") for s in at.success)
    practice = start()
    assert "berlin-wall" not in practice.selectbox(key="practice_set").options
    at = start("studio")
    at.selectbox(key="studio_set").set_value("berlin-wall").run()
    assert "[draft]" in at.selectbox(key="studio_rubric").options[0]
    at.button(key="studio_save").click().run()
    assert any(s.value.startswith("Published") for s in at.success)
    practice = start()
    practice.selectbox(key="practice_set").set_value("berlin-wall").run()
    assert practice.selectbox(key="practice_question").value == "berlin-wall"
    log = table(at, having="what changed")
    assert list(log["action"]) == ["published", "draft saved"] and list(log["who"]) == ["(no name)", "Ms Rivera"]


@pytest.mark.slow  # a long walk through the app (AppTest); make test runs it, make test-fast does not
def test_publishing_a_change_rescores_runs_and_keeps_overrides(env) -> None:
    at = score_sample(start("batch"))
    store = Store(f"sqlite:///{env['db']}")
    run = store.list_runs()[0].id
    row = next(r.row for r in store.load_results(run) if r.question_id == "destal-politics")
    store.add_override(run, row, 7.0, "read it twice")
    before = {r.row: r.score for r in store.load_results(run)}
    at = start("studio")
    at.selectbox(key="studio_rubric").set_value("destal-politics").run()
    at.number_input(key="studio_max_score").set_value(20.0).run()
    at.text_input(key="studio_author").set_value("Mr Okafor")
    at.button(key="studio_save").click().run()
    assert any("max_score: 10 -> 20" in s for s in successes(at))
    at.button(key="studio_rescore").click().run()
    assert not at.exception
    moved_rows = table(at, having="override kept")
    assert len(moved_rows) > 10 and set(moved_rows["question"]) == {"destal-politics"}
    assert (moved_rows["after"] >= moved_rows["before"]).all()
    after = {r.row: r.score for r in store.load_results(run)}
    assert after[row] == pytest.approx(2 * before[row]) and store.overrides(run)[row].score == 7.0
    assert table(at, having="what changed")["who"].iloc[0] == "Mr Okafor"


# --- Grading with the rubric during review ---------------------------------------------------------


@pytest.mark.slow  # a long walk through the app (AppTest); make test runs it, make test-fast does not
def test_marking_a_concept_recomputes_and_saves_an_override_with_the_marks(env) -> None:
    at = upload_and_score(start("batch"))
    store = Store(f"sqlite:///{env['db']}")
    run = store.list_runs()[0].id
    records = {r.row: r for r in store.load_results(run)}
    row = keyed(at.selectbox, "batch_override_row").value
    rec = records[row]
    boxes = [c for c in at.checkbox if (c.key or "").startswith(f"batch_mark_{run}_{row}_")]
    assert boxes, "no concept checkboxes for the row under review"
    absent = next(c for c in boxes if not c.value)
    absent.check().run()
    caption = next(c.value for c in at.caption if c.value.startswith("Score with these marks"))
    new_score = float(caption.split(":")[1].split("/")[0])
    assert new_score > (rec.score or 0)
    keyed(at.text_input, f"batch_marks_note_{run}_{row}").set_value("names the uprising in other words")
    keyed(at.button, f"batch_marks_save_{run}_{row}").click().run()
    assert not at.exception
    saved = store.overrides(run)[row]
    assert saved.score == new_score and saved.reason.startswith("Concepts marked by the teacher: present: ")
    assert saved.reason.endswith(". names the uprising in other words")
    marks = store.concept_marks(rec.question_id)
    prefix = f"batch_mark_{run}_{row}_"
    assert {m.concept_id for m in marks} == {c.key[len(prefix):] for c in boxes}  # every mark kept for tuning
    assert [m.present for m in marks if m.concept_id == absent.key[len(prefix):]] == [True]
    assert any(f"line {rec.line} now scores {new_score:g}" in s.value for s in at.success)


# --- Per-student view, reports and class view ------------------------------------------------------


@pytest.mark.slow  # a long walk through the app (AppTest); make test runs it, make test-fast does not
def test_student_view_lists_a_students_answers_and_keeps_a_comment(env) -> None:
    at = upload_and_score(start("batch"))
    run = Store(f"sqlite:///{env['db']}").list_runs()[0].id
    picker = at.selectbox(key=f"batch_student_{run}")
    assert picker.value == "id:s1" and picker.options[0].startswith("Ann Lee (s1) - 2 answers")
    answers = table(at, having="to develop")
    assert list(answers["question"]) == ["destal-politics", "destal-eastern-europe"] and list(answers["line"]) == [2, 3]
    assert answers["covered"].iloc[0] and "Secret Speech" not in " ".join(answers["to develop"])  # hints, not terms
    at.text_area(key=f"batch_comment_{run}_id:s1").set_value("<b>Well argued</b>, add dates.")
    at.button(key="batch_comment_save").click().run()
    assert not at.exception
    assert Store(f"sqlite:///{env['db']}").comments(run) == {"id:s1": "<b>Well argued</b>, add dates."}
    assert at.text_area(key=f"batch_comment_{run}_id:s1").value == "<b>Well argued</b>, add dates."


@pytest.mark.slow  # a long walk through the app (AppTest); make test runs it, make test-fast does not
def test_class_view_shows_missed_concepts_spread_and_disagreements(env) -> None:
    at = score_sample(start("batch"))
    store = Store(f"sqlite:///{env['db']}")
    run = store.list_runs()[0].id
    records = store.load_results(run)
    scored = [r for r in records if r.score is not None]
    store.add_override(run, scored[0].row, float(scored[0].max_score), "far off")
    store.add_override(run, scored[1].row, scored[1].score, "agree")
    at = start("batch")
    missed = table(at, having="missed by")
    assert set(missed["question"]) == {"destal-politics", "destal-eastern-europe", "destal-global-stance"}
    assert ((missed["missed"] >= 0) & (missed["missed"] <= 1)).all()
    spread = table(at, having="median")
    assert spread["answers"].sum() == len(scored)
    gaps = table(at, having="gap")
    assert list(gaps["line"])[0] == scored[0].line and abs(gaps["gap"].iloc[0]) >= abs(gaps["gap"].iloc[-1])


def test_studio_shows_agreement_with_teachers_concept_marks(env) -> None:
    store = Store(f"sqlite:///{env['db']}")
    run = store.save_run("r", "r.csv", [])
    rubric = load_rubrics(env["rubrics"] / "destalinization")["destal-politics"]
    concept = rubric.concepts[0].id
    store.add_concept_marks(run, 0, "destal-politics", GOOD_ANSWER, {concept: True})
    store.add_concept_marks(run, 1, "destal-politics", "Stalin died.", {concept: True})
    at = start("studio")
    at.selectbox(key="studio_rubric").set_value("destal-politics").run()
    marks = table(at, having="agree before").set_index("concept")
    assert marks.loc[concept, "marks"] == 2 and marks.loc[concept, "present, rubric missed (after)"] >= 1


@pytest.mark.slow  # a long walk through the app (AppTest); make test runs it, make test-fast does not
def test_a_run_can_be_rescored_after_a_rubric_file_changes(env) -> None:
    at = upload_and_score(start("batch"))
    store = Store(f"sqlite:///{env['db']}")
    run = store.list_runs()[0].id
    before = {r.row: r.score for r in store.load_results(run)}
    path = env["rubrics"] / "destalinization" / "destal-politics.yaml"
    path.write_text(path.read_text().replace("max_score: 10\n", "max_score: 20\n", 1))  # edited outside the studio
    at.button(key="batch_rescore_run").click().run()
    assert not at.exception
    assert any(f"Re-scored 3 answers of run #{run}" in s.value for s in at.success)
    after = {r.row: r.score for r in store.load_results(run)}
    assert after[0] == 2 * before[0] and after[1] == before[1]  # row 1 answers another question
    assert set(table(at, having="override kept")["question"]) == {"destal-politics"}
