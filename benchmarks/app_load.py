"""A classroom on the Practice page: N students submitting answers at once to a real app server.

Usage::

    .venv/bin/python benchmarks/app_load.py                         # 30 students, 60 s
    .venv/bin/python benchmarks/app_load.py --students 20 --seconds 30
    .venv/bin/python benchmarks/app_load.py --students 2 --seconds 5 --json out.json   # the test's smoke run

Starts the app itself (``streamlit run app.py --server.headless true`` on 127.0.0.1 and a
free port, waits for ``/_stcore/health``), then drives it with N simultaneous students, each
a real Streamlit websocket session (``/_stcore/stream``, the ``BackMsg``/``ForwardMsg``
protobufs of the installed streamlit, as the browser sends and receives them). Each student:

1. opens a session and runs the app (the landing page), reads the page list from the
   ``navigation`` message and the widgets from the deltas;
2. navigates to Practice (a rerun with Practice's ``page_script_hash``) and picks a question
   (students are spread over the questions of the set);
3. until the time is up: types an answer (graded sample answers to that question from
   ``samples/``, each student starting elsewhere in the list) and presses "Score my answer"
   (a rerun carrying the widget states and the submit button's trigger), and times from
   sending that rerun to receiving the delta that carries the score (the "Score" metric).
   The score counts only if it is this draft's: from the second draft on, the metric's
   sparkline must hold one point per draft submitted. Then it waits for ``script_finished``
   and submits again (``--think`` seconds later; 0 by default: the worst case).

Errors: exceptions drawn in the app, a run that ends without a score, closed sockets,
timeouts (``--timeout`` per run), and tracebacks in the server's log. The server is killed at
the end; the whole run is bounded (setup + ``--seconds`` + ``--timeout`` + a margin).

Prints one Markdown table (students, submissions, p50/p95/max submit-to-score, p95 from submit
to the end of the page's run, errors, answers/s, the server's CPU milliseconds per answer in the
submitting window, the 1-minute load average before and after) and, with ``--json PATH``, writes
the same figures as JSON. Exits 1 when there were errors.

The server runs with the repository's ``.streamlit/config.toml``, as ``make run`` starts it.
With ``--think 0`` every student submits again as soon as the page is complete, so each
draws far more drafts than a real student would (a longer draft table and chart each time).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "destalinization" / "graded.csv"
RUBRICS = REPO / "rubrics" / "destalinization"
FINISHED = ForwardMsg.ScriptFinishedStatus
WIDGET_LABELS = {"set": "Question set", "question": "Question", "answer": "Your answer", "submit": "Score my answer"}


class StudentError(Exception):
    """Something a student would have seen go wrong (the run is counted as an error)."""


@dataclass
class RunResult:
    """What one script run sent back: widgets by label, the score metric, exceptions, timings."""

    widgets: dict[str, tuple[str, str, list[str], str]] = field(default_factory=dict)  # label -> (kind, id, options, fragment)
    pages: dict[str, str] = field(default_factory=dict)  # page name / url path -> page_script_hash
    score: str | None = None
    score_points: int = 0
    score_at: float | None = None
    finished_at: float | None = None
    exceptions: list[str] = field(default_factory=list)
    status: str | None = None


@dataclass
class Figures:
    """The figures one benchmark run reports."""

    students: int
    seconds: float
    submissions: int = 0
    p50: float = float("nan")
    p95: float = float("nan")
    max: float = float("nan")
    p95_finished: float = float("nan")
    errors: int = 0
    answers_per_s: float = 0.0
    server_cpu_per_answer_ms: float = float("nan")
    load_before: float = 0.0
    load_after: float = 0.0
    setup_s: float = 0.0
    error_kinds: dict[str, int] = field(default_factory=dict)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, log_path: Path, db_path: Path) -> subprocess.Popen[bytes]:
    """``streamlit run app.py`` headless on 127.0.0.1:port, its output going to ``log_path``."""
    env = {**os.environ, "GRADER_DB_URL": f"sqlite:///{db_path}", "PYTHONUNBUFFERED": "1"}
    env.pop("GRADER_TEACHER_PASSCODE", None)
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port),
           "--browser.gatherUsageStats", "false"]
    with log_path.open("wb") as log:
        return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_healthy(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Return once ``/_stcore/health`` answers ok; raise if the server died or took too long."""
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/_stcore/health"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with code {proc.returncode} before it was healthy")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the app was not healthy after {timeout:.0f} s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the server's process group, then kill it if it lingers."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (from /proc; 0.0 where unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def sample_answers() -> dict[str, list[str]]:
    """Graded sample answers by the question's title as Practice lists it (the answers students "type")."""
    titles = {}
    for path in sorted(RUBRICS.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        titles[data["id"]] = data.get("title") or data["question"]
    answers: dict[str, list[str]] = defaultdict(list)
    with SAMPLES.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["answer"].strip() and row["question_id"] in titles:
                answers[titles[row["question_id"]]].append(row["answer"])
    return dict(answers)


def widget_of(element: Element) -> tuple[str, str, str, list[str]] | None:
    """(kind, label, id, options) of an element that is one of the widgets a student uses."""
    kind = element.WhichOneof("type")
    if kind not in {"selectbox", "text_area", "button"}:
        return None
    proto = getattr(element, kind)
    options = list(proto.options) if kind == "selectbox" else []
    return kind, proto.label, proto.id, options


def read_delta(msg: ForwardMsg, result: RunResult, started: float) -> None:
    """Record what a delta message carries that a student looks at."""
    delta = msg.delta
    if delta.WhichOneof("type") != "new_element":
        return
    element = delta.new_element
    kind = element.WhichOneof("type")
    if kind == "exception":
        result.exceptions.append(f"{element.exception.type}: {element.exception.message}"[:300])
    elif kind == "metric" and element.metric.label == "Score" and result.score is None:
        result.score = element.metric.body
        result.score_points = len(element.metric.chart_data)
        result.score_at = time.perf_counter() - started
    else:
        widget = widget_of(element)
        if widget is not None:
            result.widgets[widget[1]] = (widget[0], widget[2], widget[3], delta.fragment_id)


async def run_script(ws: ClientConnection, state: ClientState, timeout: float) -> RunResult:
    """Send one rerun and read the ForwardMsgs until the script finishes (or raise StudentError)."""
    result = RunResult()
    started = time.perf_counter()
    await ws.send(BackMsg(rerun_script=state).SerializeToString())
    try:
        async with asyncio.timeout(timeout):
            while True:
                msg = ForwardMsg()
                msg.ParseFromString(await ws.recv())
                kind = msg.WhichOneof("type")
                if kind == "delta":
                    read_delta(msg, result, started)
                elif kind == "navigation":
                    for page in msg.navigation.app_pages:
                        result.pages[page.page_name] = page.page_script_hash
                        result.pages[page.url_pathname] = page.page_script_hash
                elif kind == "page_not_found":
                    raise StudentError("page not found")
                elif kind == "script_finished":
                    status = msg.script_finished
                    if status == FINISHED.FINISHED_EARLY_FOR_RERUN:
                        continue  # a rerun of ours replaced this one; its own messages follow
                    result.status = FINISHED.Name(status)
                    result.finished_at = time.perf_counter() - started
                    return result
    except TimeoutError as exc:
        raise StudentError(f"timeout: no script_finished within {timeout:.0f} s") from exc
    except ConnectionClosed as exc:
        raise StudentError(f"socket closed: {exc}") from exc


def client_state(page_hash: str, states: dict[str, WidgetState], fragment_id: str = "") -> ClientState:
    """A rerun request for a page with these widget states (what the browser sends); a widget
    inside an ``st.fragment`` reruns only its fragment, so the browser names the fragment."""
    state = ClientState(page_script_hash=page_hash, query_string="", fragment_id=fragment_id)
    state.widget_states.widgets.extend(states.values())
    state.context_info.timezone = "UTC"
    state.context_info.locale = "en-US"
    return state


def widget_id(result: RunResult, name: str) -> str:
    """The id of a Practice widget by its role (see WIDGET_LABELS); StudentError if it was not drawn."""
    label = WIDGET_LABELS[name]
    if label not in result.widgets:
        raise StudentError(f"widget {label!r} not on the page")
    return result.widgets[label][1]


@dataclass
class Desk:
    """A student's Practice page, ready to submit: the page, the chosen question, the widgets."""

    practice: str  # page_script_hash
    states: dict[str, WidgetState]  # the question set and question pickers
    answer_id: str
    submit_id: str
    fragment: str  # the fragment the submit button belongs to ("" when none)
    question: str


async def open_practice(ws: ClientConnection, number: int, timeout: float) -> Desk:
    """Open the app, go to Practice and pick a question (students are spread over the questions)."""
    first = await run_script(ws, client_state("", {}), timeout)
    practice = first.pages.get("Practice") or first.pages.get("practice")
    if practice is None:
        raise StudentError(f"no Practice page in the navigation: {sorted(first.pages)}")
    landing = await run_script(ws, client_state(practice, {}), timeout)  # navigate to Practice
    set_id, question_id = widget_id(landing, "set"), widget_id(landing, "question")
    sets, questions = landing.widgets[WIDGET_LABELS["set"]][2], landing.widgets[WIDGET_LABELS["question"]][2]
    title = questions[number % len(questions)]
    states = {set_id: WidgetState(id=set_id, string_value=RUBRICS.name if RUBRICS.name in sets else sets[0]),
              question_id: WidgetState(id=question_id, string_value=title)}
    picked = await run_script(ws, client_state(practice, states), timeout)
    if picked.exceptions:
        raise StudentError(f"exception in the app: {picked.exceptions[0]}")
    fragment = picked.widgets[WIDGET_LABELS["submit"]][3] if WIDGET_LABELS["submit"] in picked.widgets else ""
    return Desk(practice, states, widget_id(picked, "answer"), widget_id(picked, "submit"), fragment, title)


async def submit(ws: ClientConnection, desk: Desk, text: str, drafts: int, timeout: float) -> RunResult:
    """Type ``text`` and press "Score my answer"; the run, checked to show the score of draft ``drafts``."""
    states = {**desk.states, desk.answer_id: WidgetState(id=desk.answer_id, string_value=text),
              desk.submit_id: WidgetState(id=desk.submit_id, trigger_value=True)}
    run = await run_script(ws, client_state(desk.practice, states, desk.fragment), timeout)
    if run.exceptions:
        raise StudentError(f"exception in the app: {run.exceptions[0]}")
    if run.score is None or run.score_at is None:
        raise StudentError(f"no score in the run ({run.status})")
    if drafts >= 2 and run.score_points != drafts:  # the metric's sparkline has a point per draft
        raise StudentError(f"the score shown is not this draft's ({run.score_points} points, {drafts} drafts)")
    return run


async def student(number: int, port: int, answers: dict[str, list[str]], start_at: float, end_at: float,
                  think: float, timeout: float, latencies: list[tuple[float, float]], errors: list[str]) -> None:
    """One student: open a session, go to Practice, pick a question, submit answers until ``end_at``
    (a student stops at the first error, which is recorded)."""
    url = f"ws://127.0.0.1:{port}/_stcore/stream"
    try:
        async with connect(url, subprotocols=[Subprotocol("streamlit")], max_size=None, open_timeout=timeout) as ws:
            desk = await open_practice(ws, number, timeout)
            pool = answers.get(desk.question) or [a for group in answers.values() for a in group]
            await asyncio.sleep(max(0.0, start_at - time.monotonic()))
            drafts = 0
            while time.monotonic() < end_at:
                drafts += 1
                run = await submit(ws, desk, pool[(number * 7 + drafts) % len(pool)], drafts, timeout)
                latencies.append((run.score_at or 0.0, run.finished_at or 0.0))
                if think:
                    await asyncio.sleep(think)
    except StudentError as exc:
        errors.append(str(exc))
    except ConnectionClosed as exc:
        errors.append(f"socket closed: {exc}")
    except (OSError, TimeoutError) as exc:
        errors.append(f"connection failed: {type(exc).__name__}: {exc}")


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of values, nearest rank; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


async def cpu_in_window(pid: int, start_at: float, end_at: float) -> float:
    """CPU seconds the server uses between two monotonic times (the submitting window)."""
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    before = cpu_seconds(pid)
    await asyncio.sleep(max(0.0, end_at - time.monotonic()))
    return cpu_seconds(pid) - before


async def drive(port: int, pid: int, students: int, seconds: float, think: float,
                timeout: float) -> tuple[list[tuple[float, float]], list[str], float, float]:
    """Run all students at once; (latencies to score and to script end, errors, setup s, server CPU s in the window)."""
    answers = sample_answers()
    setup_started = time.monotonic()
    start_at = setup_started + min(timeout, 5.0 + 0.3 * students)  # every student connects and picks first
    end_at = start_at + seconds
    latencies: list[tuple[float, float]] = []
    errors: list[str] = []
    cpu = asyncio.create_task(cpu_in_window(pid, start_at, end_at))
    tasks = [student(n, port, answers, start_at, end_at, think, timeout, latencies, errors) for n in range(students)]
    await asyncio.gather(*tasks)
    return latencies, errors, start_at - setup_started, await cpu


def server_errors(log_path: Path) -> list[str]:
    """Tracebacks in the server's log (each one an error)."""
    text = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
    return [f"server traceback: {chunk.strip().splitlines()[-1][:200] if chunk.strip() else '?'}"
            for chunk in text.split("Traceback (most recent call last):")[1:]]


def run(students: int, seconds: float, think: float, timeout: float) -> Figures:
    """Start the app, drive it, stop it; the figures of the run."""
    figures = Figures(students=students, seconds=seconds, load_before=os.getloadavg()[0])
    with tempfile.TemporaryDirectory(prefix="app-load-") as tmp:
        port, log_path = free_port(), Path(tmp) / "server.log"
        proc = start_server(port, log_path, Path(tmp) / "grader.sqlite")
        try:
            wait_healthy(port, proc, timeout=60)
            budget = 5.0 + 0.3 * students + seconds + 2 * timeout + 30
            latencies, errors, setup, cpu_used = asyncio.run(
                asyncio.wait_for(drive(port, proc.pid, students, seconds, think, timeout), budget))
            if proc.poll() is not None:
                errors.append(f"the app exited with code {proc.returncode}")
        except (TimeoutError, RuntimeError) as exc:
            latencies, errors, setup, cpu_used = [], [f"benchmark aborted: {exc or type(exc).__name__}"], 0.0, 0.0
        finally:
            stop_server(proc)
        errors += server_errors(log_path)
        if errors and os.environ.get("APP_LOAD_SHOW_LOG"):
            sys.stderr.write(log_path.read_text(encoding="utf-8", errors="replace")[-4000:])
    kinds: dict[str, int] = defaultdict(int)
    for e in errors:
        kinds[e.split(":")[0]] += 1
    figures.submissions, figures.errors, figures.setup_s, figures.error_kinds = len(latencies), len(errors), setup, dict(kinds)
    if latencies:
        to_score = [s for s, _ in latencies]
        figures.p50, figures.p95, figures.max = statistics.median(to_score), percentile(to_score, 0.95), max(to_score)
        figures.p95_finished = percentile([f for _, f in latencies], 0.95)
        figures.answers_per_s = len(latencies) / seconds
        figures.server_cpu_per_answer_ms = 1000 * cpu_used / len(latencies)
    figures.load_after = os.getloadavg()[0]
    for e in errors[:5]:
        print(f"error: {e}", file=sys.stderr)
    return figures


def table(f: Figures) -> str:
    """The run's figures as a Markdown table."""
    header = ["students", "seconds", "submissions", "p50 s", "p95 s", "max s", "p95 to page end s", "errors",
              "answers/s", "server CPU ms/answer", "load avg 1 min (before -> after)"]
    row = [f.students, f"{f.seconds:g}", f.submissions, f"{f.p50:.3f}", f"{f.p95:.3f}", f"{f.max:.3f}",
           f"{f.p95_finished:.3f}", f.errors,
           f"{f.answers_per_s:.1f}", f"{f.server_cpu_per_answer_ms:.0f}", f"{f.load_before:.2f} -> {f.load_after:.2f}"]
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
                      "| " + " | ".join(map(str, row)) + " |"])


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the benchmark, print the table (exit 1 when there were errors)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--students", type=int, default=30, help="simultaneous students (default 30)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long they submit (default 60)")
    parser.add_argument("--think", type=float, default=0.0, help="pause between a score and the next submit (default 0)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds one script run may take (default 30)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    figures = run(args.students, args.seconds, args.think, args.timeout)
    print(f"App load: {args.students} students on Practice for {args.seconds:g} s, think time {args.think:g} s, "
          f"{os.cpu_count()} cores (setup {figures.setup_s:.1f} s)\n")
    print(table(figures))
    if figures.error_kinds:
        print("\nerrors: " + ", ".join(f"{k} x{n}" for k, n in sorted(figures.error_kinds.items())))
    if args.json:
        args.json.write_text(json.dumps(asdict(figures), indent=2), encoding="utf-8")
    return 1 if figures.errors else 0


if __name__ == "__main__":
    sys.exit(main())
