"""End to end in a real headless browser: `streamlit run app.py`, Debian's Chromium via Playwright.

Types an answer on Practice, submits, checks the score and the highlight, checks that
neither the served DOM nor the websocket traffic carries the model answer or hidden rubric
phrases, scores the bundled samples on Batch scoring and downloads the CSV, opens the
Rubric studio, and saves a screenshot of each page to a temporary folder, or to
docs/screenshots/ (used by the README and docs/app.md) when GRADER_REFRESH_SCREENSHOTS=1:
`make test` never rewrites tracked files. Nothing is downloaded: the browser is /usr/bin/chromium.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.rubric import load_rubrics

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SHOTS = REPO / "docs" / "screenshots"
REFRESH_ENV = "GRADER_REFRESH_SCREENSHOTS"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ANSWER = (
    "Khrushchev denounced Stalin in the Secret Speech of 1956. Political prisoners were released "
    "from the gulag, the terror ended and the secret police lost power, so people feared arrest less. "
    "Censorship eased during the Thaw, but the Communist Party kept its monopoly and the Soviet Union "
    "did not become a democracy; after 1964 Brezhnev brought back repression."
)

FIRST_DRAFT = "Khrushchev denounced Stalin and freed prisoners."

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium; .ci/run does)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("e2e")
    shutil.copytree(REPO / "rubrics", tmp / "rubrics", ignore=shutil.ignore_patterns("*.bak"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "GRADER_TEACHER_PASSCODE"}
    env.update(GRADER_DB_URL=f"sqlite:///{tmp / 'grader.sqlite'}", GRADER_RUBRICS_DIR=str(tmp / "rubrics"))
    log = open(tmp / "streamlit.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start: {(tmp / 'streamlit.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    assert "Traceback" not in (tmp / "streamlit.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(45_000)
    yield pg
    context.close()


def wait_idle(page) -> None:
    """Wait until Streamlit has finished the current run (its status widget disappears)."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")


def download(page, name: str, *, exact: bool = False) -> Path:
    """Click a download button and return the file; a download cancelled by a rerun racing
    the click (seen under load) is tried again, up to three times."""
    button = page.get_by_role("button", name=name, exact=exact)
    button.wait_for()
    wait_idle(page)
    for attempt in range(3):
        with page.expect_download() as info:
            button.click()
        try:
            return Path(info.value.path())
        except Exception:
            if attempt == 2:
                raise
            wait_idle(page)
    raise AssertionError("unreachable")


def shots_dir() -> Path:
    """docs/screenshots/ only when asked (GRADER_REFRESH_SCREENSHOTS=1); otherwise a temporary folder."""
    if os.environ.get(REFRESH_ENV) == "1":
        return SHOTS
    return Path(tempfile.gettempdir()) / "grader-e2e-screenshots"


def shoot(page, name: str, height: int) -> Path:
    """Screenshot the whole page: Streamlit scrolls inside its own container, so grow the viewport."""
    folder = shots_dir()
    folder.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": height})
    page.wait_for_timeout(800)
    page.evaluate("document.querySelectorAll('*').forEach(e => { if (e.scrollTop) e.scrollTop = 0; })")
    page.wait_for_timeout(300)
    page.screenshot(path=str(folder / name))
    page.set_viewport_size({"width": 1400, "height": 1000})
    return folder / name


def test_practice_scores_highlights_and_leaks_nothing(server: str, page) -> None:
    frames: list[bytes] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(f if isinstance(f, bytes) else f.encode())))
    page.goto(server)
    page.get_by_role("heading", name="Practice").wait_for()
    page.get_by_role("combobox", name="Question", exact=True).click()
    page.get_by_role("option", name=re.compile("domestic politics")).click()
    wait_idle(page)
    page.get_by_label("Your answer").fill(FIRST_DRAFT)  # a thin draft first, so the history shows a trend
    page.get_by_role("button", name="Score my answer").click()
    page.locator("mark.grader-match").first.wait_for()
    wait_idle(page)
    page.get_by_label("Your answer").fill(ANSWER)
    page.get_by_role("button", name="Score my answer").click()
    page.get_by_text("since last draft").wait_for()
    wait_idle(page)

    score = page.locator('[data-testid="stMetricValue"]').first.inner_text()
    assert re.fullmatch(r"\d+(\.\d+)? / 10", score.strip()) and float(score.split("/")[0]) >= 6, score
    marks = page.locator("mark.grader-match").all_inner_texts()
    assert any("Secret Speech" in m for m in marks) and len(marks) >= 3
    assert "Still missing" in page.content() or "Covered" in page.content()

    rubric = load_rubrics(REPO / "rubrics" / "destalinization")["destal-politics"]
    dom = page.content()
    traffic = b"\n".join(frames)
    assert traffic  # the check below looks at real websocket traffic
    for sentence in re.split(r"(?<=[.!?])\s+", rubric.model_answer):
        assert sentence not in dom
        assert sentence.encode() not in traffic
    visible = " ".join([rubric.question, FIRST_DRAFT, ANSWER, *(c.label for c in rubric.concepts), *(c.hint for c in rubric.concepts)]).lower()
    hidden = [p for c in rubric.concepts for p in c.phrases if p.lower() not in visible]
    assert len(hidden) > 20
    dom_text = page.locator("body").inner_text().lower()
    assert [p for p in hidden if p.lower() in dom_text] == []
    assert [p for p in hidden if p.encode() in traffic] == []

    shoot(page, "practice.png", 1500)


def test_batch_scores_uploaded_samples_and_downloads_safe_csv(server: str, page, tmp_path: Path) -> None:
    hostile = tmp_path / "answers.csv"
    with hostile.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([
            ["student", "question_id", "answer"],
            ["=cmd|' /C calc'!A0", "destal-politics", "Khrushchev freed political prisoners and ended the terror."],
            ["s1", "destal-politics", ANSWER],
            ["s2", "destal-politics", "=HYPERLINK(\"http://evil\")"],
            ["s3", "destal-eastern-europe", "Hungary rose up in 1956."],
        ])
    page.goto(f"{server}/batch")
    page.get_by_role("heading", name="Batch scoring").wait_for()
    samples = REPO / "samples" / "destalinization" / "graded.csv"
    with samples.open(encoding="utf-8", newline="") as fh:
        n_samples = str(sum(1 for _ in csv.DictReader(fh)))
    page.locator('input[type="file"]').first.set_input_files(str(samples))
    page.get_by_role("button", name="Score answers").click()
    page.get_by_text("Needs review", exact=True).first.wait_for()
    wait_idle(page)
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    assert values[:2] == [n_samples, n_samples]  # rows, scored
    page.locator('[data-testid="stDataFrame"] canvas').first.wait_for()  # the review table is drawn
    shoot(page, "batch.png", 2000)

    page.locator('input[type="file"]').first.set_input_files(str(hostile))
    wait_idle(page)
    page.get_by_role("button", name="Score answers").click()
    page.get_by_text("Scored 4 rows").wait_for()
    wait_idle(page)
    page.get_by_role("tab", name="Download").click()
    rows = list(csv.reader(io.StringIO(download(page, "Results CSV").read_text(encoding="utf-8"))))
    assert rows[0][:4] == ["line", "student", "question", "auto score"]
    assert len(rows) == 5 and rows[1][1] == "'=cmd|' /C calc'!A0"
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)


def test_studio_shows_rubric_agreement(server: str, page) -> None:
    page.goto(f"{server}/studio")
    page.get_by_role("heading", name="Rubric studio").wait_for()
    page.get_by_role("heading", name="Agreement with graded samples").wait_for()
    model = page.get_by_label("Model answer (never shown to students)")
    model.fill(model.input_value() + " In Poland, protests in 1956 brought Gomulka to power.")  # an edit to compare
    page.keyboard.press("Control+Enter")
    wait_idle(page)
    page.get_by_label("Answer to try (scored with the edited rubric)").fill("Hungary rose up in 1956 and Soviet tanks crushed it.")
    page.keyboard.press("Control+Enter")
    page.locator("mark.grader-match").first.wait_for()
    wait_idle(page)
    assert page.locator('[data-testid="stDataFrame"]').count() >= 3  # try table, agreement, per concept
    save = page.get_by_role("button", name=re.compile(r"Publish to destalinization."))
    save.first.wait_for()  # the rerun after the edit may still be drawing the lower sections
    assert save.count() == 1
    shoot(page, "studio.png", 2850)


PAYLOAD = "\n\n![img](http://evil.example/p.png) [click](http://evil.example/) <script>window.pwned=1</script> <img src=x onerror=\"window.pwned=1\">"


def _assert_payload_inert(page) -> None:
    """The payload shows as text; no image, link or script came out of it (issue 12, item 5)."""
    assert page.locator('img[src*="evil.example"]').count() == 0
    links = page.locator('a[href*="evil.example"]')
    assert links.count() == 0, [links.nth(i).evaluate("e => e.parentElement.parentElement.outerHTML.slice(0, 600)") for i in range(links.count())]
    assert page.locator('img[src="x"]').count() == 0
    assert page.evaluate("window.pwned === undefined")
    assert "evil" in page.locator("body").inner_text()  # it was displayed, as text


def test_markup_in_answers_and_uploads_stays_text(server: str, page, tmp_path: Path) -> None:
    page.goto(server)
    page.get_by_role("heading", name="Practice").wait_for()
    page.get_by_label("Your answer").fill("Khrushchev denounced Stalin in the Secret Speech." + PAYLOAD)
    page.get_by_role("button", name="Score my answer").click()
    page.locator('[data-testid="stMetricValue"]').first.wait_for()
    wait_idle(page)
    _assert_payload_inert(page)

    upload = tmp_path / "answers.csv"
    with upload.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([
            ["student", "question_id", "answer", "note" + PAYLOAD],
            ["s1", "destal-politics", "Khrushchev denounced Stalin." + PAYLOAD, "x"],
        ])
    page.goto(f"{server}/batch")
    page.get_by_role("heading", name="Batch scoring").wait_for()
    page.locator('input[type="file"]').first.set_input_files(str(upload))
    wait_idle(page)
    page.get_by_role("button", name="Score answers").click()
    page.get_by_text("Scored 1 rows").wait_for()
    wait_idle(page)
    _assert_payload_inert(page)


def test_screenshots_go_to_a_temporary_folder_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REFRESH_ENV, raising=False)
    assert shots_dir() != SHOTS and SHOTS not in shots_dir().parents
    monkeypatch.setenv(REFRESH_ENV, "1")
    assert shots_dir() == SHOTS


def test_teacher_workflow_override_gradebook_and_reports(server: str, page, tmp_path: Path) -> None:
    """Score a class, override one score, export one gradebook row per student, download the reports."""
    answers = tmp_path / "class.csv"
    with answers.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([
            ["student_id", "student", "question_id", "answer"],
            ["s1", "Ann <b>Lee</b>", "destal-politics", ANSWER],
            ["s1", "Ann <b>Lee</b>", "destal-eastern-europe", "The Soviet army crushed the Hungarian uprising in 1956."],
            ["s2", "Bo Ma", "destal-politics", FIRST_DRAFT],
            ["s2", "Bo Ma", "destal-eastern-europe", "Poland got Gomulka in 1956 after protests."],
        ])
    page.goto(f"{server}/batch")
    page.get_by_role("heading", name="Batch scoring").wait_for()
    page.locator('input[type="file"]').first.set_input_files(str(answers))
    wait_idle(page)
    page.get_by_role("button", name="Score answers").click()
    page.get_by_text("Scored 4 rows").wait_for()
    wait_idle(page)

    save = page.get_by_role("button", name=re.compile(r"Save override for line \d+"))
    line = re.search(r"line (\d+)", save.inner_text()).group(1)
    page.get_by_label("New score").fill("9.5")
    page.get_by_label("Reason (required)").fill("checked by hand")
    save.click()
    page.get_by_text(re.compile(rf"Saved: line {line} .* now scores 9\.\u2060?5")).wait_for()  # plain() joins "9.5"
    wait_idle(page)

    page.get_by_role("tab", name="Download").click()
    rows = list(csv.reader(io.StringIO(download(page, "Gradebook CSV", exact=True).read_text(encoding="utf-8"))))
    assert rows[0] == ["student", "student id", "destal-politics", "destal-eastern-europe", "Total"]
    assert [r[1] for r in rows[1:]] == ["s1", "s2"]  # one row per student
    assert "9.5" in rows[1 if int(line) <= 3 else 2]  # lines 2-3 are Ann's, 4-5 Bo's
    report = download(page, "Student reports (HTML)").read_text(encoding="utf-8")
    assert "Ann &lt;b&gt;Lee&lt;/b&gt;" in report and "<b>Lee</b>" not in report and report.count("class='student'") == 2
    assert download(page, "Student reports (PDF)").read_bytes().startswith(b"%PDF-")

    page.get_by_role("tab", name="Class view").click()
    page.get_by_text("Concepts the class missed").wait_for()
    page.get_by_text("Where the teacher and the scorer disagree most").wait_for()
    shoot(page, "class-view.png", 2200)


def test_studio_draft_publish_and_rescore(server: str, page) -> None:
    page.goto(f"{server}/studio")
    page.get_by_role("heading", name="Rubric studio").wait_for()
    page.get_by_role("heading", name="Agreement with graded samples").wait_for()
    wait_idle(page)
    page.get_by_label("Your name (for the change log)").fill("Ms Rivera")
    page.keyboard.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name=re.compile("Save draft of")).click()
    page.get_by_text(re.compile("Draft saved: destalinization/drafts/")).wait_for()
    wait_idle(page)
    page.get_by_role("button", name=re.compile(r"Publish to destalinization.")).click()
    page.get_by_text(re.compile("Published: destalinization/")).wait_for()
    page.get_by_role("heading", name="Re-score affected runs").wait_for()
    wait_idle(page)
