"""Cold start of `grader score` on one answer, against the import of scikit-learn's text module.

Usage::

    .venv/bin/python benchmarks/cold_start.py              # 11 runs of each command
    .venv/bin/python benchmarks/cold_start.py --runs 21 --before /tmp/old-grader   # and an older checkout

Each run is a fresh process, timed from start to exit (wall clock, CPU and peak RSS of the child):

* ``python -m grader score RUBRIC --text ...`` (the printed report),
* the same with ``--json``,
* ``python -c "import sklearn.feature_extraction.text"``: the import floor of a scorer built
  on scikit-learn, measured in the same run, so the ratio holds on a busy machine too.

The commands take turns within every round (one warm-up round is not counted), and the
table gives the median, the fastest and the slowest of ``--runs`` rounds. The targets of
issue 14: one answer under 1.0 s on an idle machine, and at most half the import floor.
Run it when the machine is quiet (the load average is printed before and after).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, markdown_table  # noqa: E402

PY = sys.executable
SEED_RUBRIC = REPO / "rubrics" / "destalinization" / "destal-politics.yaml"
ANSWER = (
    "After Stalin died Khrushchev denounced him in the Secret Speech of 1956, released political "
    "prisoners from the gulag and relaxed censorship during the Thaw, but the Party kept its monopoly."
)
FLOOR = "import sklearn.feature_extraction.text"


def run_child(args: Sequence[str], *, cwd: Path) -> tuple[float, float, float]:
    """Run a process to completion: (wall seconds, CPU seconds, peak RSS in MiB); exits the benchmark if it fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(list(args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"benchmark: {' '.join(args[:5])} ... failed: {err.strip()[-400:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # Linux reports KiB


def commands(rubric: Path, text: str, before: Path | None) -> dict[str, tuple[list[str], Path]]:
    """The timed commands by table label: (argv, working directory)."""
    score = [PY, "-m", "grader", "score", str(rubric), "--text", text]
    out = {
        "`grader score RUBRIC --text ...`": (score, REPO),
        "`grader score RUBRIC --text ... --json`": ([*score, "--json"], REPO),
    }
    if before is not None:  # `python -m grader` finds the package of its working directory first
        out[f"same, code of `{before}`"] = (score, before)
        out[f"same with `--json`, code of `{before}`"] = ([*score, "--json"], before)
    out[f'`python -c "{FLOOR}"`'] = ([PY, "-c", FLOOR], REPO)
    return out


def measure(cmds: dict[str, tuple[list[str], Path]], runs: int) -> dict[str, list[tuple[float, float, float]]]:
    """``runs`` timings of every command, the commands taking turns in each round (after one warm-up round)."""
    timings: dict[str, list[tuple[float, float, float]]] = {label: [] for label in cmds}
    for round_ in range(runs + 1):
        for label, (argv, cwd) in cmds.items():
            result = run_child(argv, cwd=cwd)
            if round_ > 0:
                timings[label].append(result)
    return timings


def table(timings: dict[str, list[tuple[float, float, float]]], floor_label: str) -> str:
    """Markdown table: median, fastest and slowest wall, median CPU and RSS, and the ratio to the import floor."""
    floor = statistics.median(w for w, _, _ in timings[floor_label])
    rows = []
    for label, runs in timings.items():
        walls = [w for w, _, _ in runs]
        median = statistics.median(walls)
        rows.append([label, f"{median:.3f}", f"{min(walls):.3f}", f"{max(walls):.3f}",
                     f"{statistics.median(c for _, c, _ in runs):.3f}", f"{statistics.median(r for _, _, r in runs):.0f}",
                     f"{median / floor:.2f}"])
    return markdown_table(["command (fresh process)", "median wall (s)", "fastest (s)", "slowest (s)",
                           "median CPU (s)", "peak RSS (MiB)", "median wall / sklearn import"], rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="timed runs of each command (default: 11)")
    parser.add_argument("--rubric", type=Path, default=SEED_RUBRIC, help="rubric to score with (default: destal-politics)")
    parser.add_argument("--text", default=ANSWER, help="the answer to score")
    parser.add_argument("--before", type=Path, help="another checkout of grader (e.g. the code before a change) to time too")
    opts = parser.parse_args(argv)
    cmds = commands(opts.rubric.resolve(), opts.text, opts.before.resolve() if opts.before else None)
    load_start = os.getloadavg()[0]
    timings = measure(cmds, opts.runs)
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores; {opts.runs} timed runs per command "
          f"(after one warm-up round), commands taking turns\n")
    print(table(timings, next(label for label in cmds if FLOOR in label)))
    print(f"\nload average (1 min): {load_start:.2f} at start, {os.getloadavg()[0]:.2f} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
