"""`grader score` on one answer starts without the heavy libraries (issue 14, cold start).

Scoring one answer needs neither scikit-learn nor NLTK's package root (their imports cost
seconds): the stemmer and stop words are copied into grader, the TF-IDF is computed in
grader.similarity, and learned scoring is imported only for a rubric with learned data.
These tests look at what a fresh ``python -X importtime -m grader score`` imports; the
timing itself is measured by ``benchmarks/cold_start.py``, not asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REPO, SEED_DIR
from grader.cli import main
from grader.scorer_set import ScorerSet

POLITICS = SEED_DIR / "destal-politics.yaml"
ANSWER = "Khrushchev released prisoners from the gulag and denounced Stalin's cult of personality in 1956."
HEAVY = ("nltk", "sklearn", "scipy", "numpy", "pandas", "sqlalchemy", "streamlit", "grader.learned_scoring", "grader.exemplars",
         "grader.words")
"""Packages (and their submodules) one answer must not import (numpy: only a calibrated rubric needs it)."""


def imported_modules(importtime_stderr: str) -> set[str]:
    """Names of the modules a ``python -X importtime`` run imported, from its stderr.

    >>> sorted(imported_modules("import time: self [us] | cumulative | imported package\\n"
    ...                         "import time:       258 |      88775 |     joblib\\n"))
    ['joblib']
    """
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and "imported package" not in line:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


def heavy_imports(modules: set[str]) -> list[str]:
    """The modules of :data:`HEAVY` (packages or their submodules) among ``modules``.

    >>> heavy_imports({"nltk.stem", "numbers", "grader.scoring", "grader.wordsmith"})
    ['nltk.stem']
    """
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def _run_cold(*args: str) -> tuple[str, set[str]]:
    """stdout and imported modules of a fresh ``python -X importtime -m grader score ...``."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "grader", "score", *args],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = imported_modules(proc.stderr)
    assert "grader.scoring" in modules  # the run was measured
    return proc.stdout, modules


@pytest.mark.subprocess
def test_one_answer_json_imports_neither_nltk_nor_sklearn_and_equals_the_scorer() -> None:
    out, modules = _run_cold(str(POLITICS), "--text", ANSWER, "--json")
    assert "nltk" not in modules and not any(m.startswith("sklearn") for m in modules)
    assert heavy_imports(modules) == []
    expected = ScorerSet.from_path(POLITICS, learned=True).score("destal-politics", ANSWER).to_dict()
    assert json.loads(out) == expected


@pytest.mark.subprocess
def test_one_answer_text_output_imports_nothing_heavy_and_equals_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    out, modules = _run_cold(str(SEED_DIR), "--question", "destal-eastern-europe", "--text", ANSWER)
    assert heavy_imports(modules) == []
    assert main(["score", str(SEED_DIR), "--question", "destal-eastern-europe", "--text", ANSWER]) == 0
    assert out == capsys.readouterr().out


@pytest.mark.subprocess
def test_answer_from_stdin_imports_nothing_heavy() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "grader", "score", str(POLITICS), "-", "--json"],
        input=ANSWER, capture_output=True, text=True, timeout=120, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert heavy_imports(imported_modules(proc.stderr)) == []
    assert json.loads(proc.stdout)["score"] == ScorerSet.from_path(POLITICS).score("destal-politics", ANSWER).score


@pytest.mark.subprocess
def test_learned_data_beside_the_rubric_is_still_used(tmp_path) -> None:
    import yaml

    from conftest import minimal_rubric_data
    from grader.learn import graded_questions, learn_questions
    from grader.learned import save_learned
    from grader.rubric import load_rubric

    rubric_path = tmp_path / "thaw.yaml"
    rubric_path.write_text(yaml.safe_dump(minimal_rubric_data()), encoding="utf-8")
    answers = [f"{a} (version {k})" for k in range(3) for a in (
        "Khrushchev denounced Stalin in the Secret Speech; political prisoners were released.",
        "Prisoners came home from the gulag and censorship relaxed.",
        "Nothing changed at all.", "Stalin lived until 1980.")]
    scores = [10.0, 6.0, 0.0, 0.0] * 3
    questions = graded_questions({"thaw": load_rubric(rubric_path)}, ["thaw"] * len(answers), answers, scores)
    save_learned(learn_questions(questions)["thaw"], rubric_path)

    out, modules = _run_cold(str(rubric_path), "--text", ANSWER, "--json")
    assert "grader.learned_scoring" in modules  # imported because the learned file is there
    expected = ScorerSet.from_path(rubric_path, learned=True).score("thaw", ANSWER).to_dict()
    assert "learned" in expected and json.loads(out) == expected
