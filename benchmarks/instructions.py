"""Instructions per scored answer, counted by valgrind's callgrind: this tree against a git revision.

This VM's speed drifts by a third over minutes, so timings cannot show a change of a few
percent (or even tell two runs of the same code apart). Callgrind counts the instructions the
CPU executes, which repeat exactly for the same code and input, whatever the machine is doing.

Both trees score the same answers with the same rubric files, each in its own process under
callgrind: the ASAP-SAS answers (rubrics built as in ``benchmarks/throughput.py``) and the
Mohler answers (rubrics built from each question's reference answer). Each process first
scores ``--warm`` answers per question (caches filled, as in a long batch), then counts only
the next ``--answers`` per question (``callgrind_control -i on/off`` around that loop, the
scores-only batch path, ``ScorerSet.score_many(..., detail=False)``).

Usage::

    .venv/bin/python benchmarks/instructions.py --base 5448cce     # this tree vs that commit
    .venv/bin/python benchmarks/instructions.py --answers 40       # this tree alone

Needs valgrind (Debian's ``valgrind`` package). About 40 s per tree at the defaults.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, datasets_dir, markdown_table  # noqa: E402

CHILD = r'''
import csv, os, subprocess, sys
from pathlib import Path
from grader.scorer_set import ScorerSet

folder, warm, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
work = []
for name in ("asap", "mohler"):
    by = {}
    with open(Path(folder) / f"{name}.csv", encoding="utf-8", newline="") as fh:
        for rid, answer in csv.reader(fh):
            by.setdefault(rid, []).append(answer)
    scorers = ScorerSet.from_folder(Path(folder) / name)
    for rid, answers in by.items():
        scorers.score_many(rid, answers[:warm], detail=False)
        work.append((scorers, rid, answers[warm : warm + count]))
subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], capture_output=True, check=True)
scored = 0
for scorers, rid, answers in work:
    scorers.score_many(rid, answers, detail=False)
    scored += len(answers)
subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], capture_output=True, check=True)
print(f"scored {scored}")
'''


def prepare(folder: Path) -> None:
    """Rubric folders and (rubric id, answer) CSVs of ASAP-SAS and Mohler in ``folder``."""
    from throughput import load_answers

    from _common import rubrics_by_question
    from grader.build import build_rubric
    from grader.ids import rubric_id_from
    from grader.rubric import save_rubric

    answers, prompts = load_answers()
    asap = folder / "asap"
    asap.mkdir()
    for q, (question, reference) in sorted(prompts.items()):
        save_rubric(build_rubric(question, reference, rubric_id=q, use_wordnet=False), asap / f"{q}.yaml", root=asap)
    _write(folder / "asap.csv", answers)

    with (datasets_dir() / "mohler" / "mohler.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    ids = [rubric_id_from(f"moh-{r['question_id']}") for r in rows]
    mohler = folder / "mohler"
    mohler.mkdir()
    built = rubrics_by_question(ids, [r["question"] for r in rows], [r["reference_answer"] for r in rows], use_wordnet=False)
    for rid, rubric in built.items():
        save_rubric(rubric, mohler / f"{rid}.yaml", root=mohler)
    _write(folder / "mohler.csv", list(zip(ids, (r["student_answer"] for r in rows))))


def _write(path: Path, pairs: list[tuple[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(pairs)


def count(source: Path, folder: Path, warm: int, answers: int) -> tuple[int, int]:
    """(answers scored, instructions counted) with the ``grader`` package of ``source``."""
    child = folder / "child.py"
    child.write_text(CHILD, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(source)}
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null",
         sys.executable, str(child), str(folder), str(warm), str(answers)],
        capture_output=True, text=True, env=env, cwd=folder,
    )
    scored = re.search(r"scored (\d+)", proc.stdout)
    collected = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or not scored or not collected:
        sys.exit(f"benchmark: callgrind run of {source} failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    return int(scored.group(1)), int(collected.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", metavar="REV", help="git revision to compare with (checked out in a temporary worktree)")
    parser.add_argument("--warm", type=int, default=20, help="answers per question scored before counting")
    parser.add_argument("--answers", type=int, default=20, help="answers per question counted")
    opts = parser.parse_args()
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        sys.exit("benchmark: valgrind is not installed (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="grader-instr-") as tmp:
        folder = Path(tmp)
        prepare(folder)
        trees = [("this tree", REPO)]
        if opts.base:
            base = folder / "base"
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(base), opts.base], check=True)
            trees.append((f"`{opts.base}`", base))
        try:
            results = [(name, *count(path, folder, opts.warm, opts.answers)) for name, path in trees]
        finally:
            if opts.base:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(folder / "base")], check=True)
    ours = results[0][2] / results[0][1]
    rows = [[name, f"{scored:,}", f"{total / scored / 1000:,.0f}K", f"{(total / scored) / ours:.2f}x"]
            for name, scored, total in results]
    print(markdown_table(["code", "answers counted", "instructions per answer", "vs this tree"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
