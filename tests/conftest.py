"""Shared fixtures: the seed rubrics, and a factory for small valid rubrics on disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SEED_DIR = REPO / "rubrics" / "destalinization"
SEED_IDS = ("destal-politics", "destal-eastern-europe", "destal-global-stance")


def minimal_rubric_data(**overrides: Any) -> dict[str, Any]:
    """A small valid rubric as plain data; keyword arguments replace top-level keys."""
    data: dict[str, Any] = {
        "id": "thaw",
        "title": "The Thaw",
        "question": "What changed in the Soviet Union after Stalin died?",
        "model_answer": (
            "Khrushchev denounced Stalin in the Secret Speech of 1956. Political prisoners were "
            "released from the gulag and censorship was relaxed during the Thaw."
        ),
        "max_score": 10,
        "concepts": [
            {
                "id": "speech",
                "label": "Stalin denounced",
                "hint": "Who broke with the past, and how?",
                "weight": 2,
                "terms": ["Secret Speech", "denounced Stalin"],
            },
            {
                "id": "prisoners",
                "label": "Prisoners released",
                "hint": "What happened in the camps?",
                "weight": 1.5,
                "terms": ["political prisoners released"],
                "synonyms": ["freed from the gulag"],
            },
            {
                "id": "censorship",
                "label": "Censorship relaxed",
                "hint": "What about writers?",
                "terms": ["censorship relaxed"],
            },
        ],
        "misconceptions": [
            {
                "id": "democracy",
                "phrases": ["became a democracy"],
                "penalty": 0.3,
                "feedback": "The USSR stayed a one-party state.",
            }
        ],
    }
    data.update(overrides)
    return data


@pytest.fixture
def seed_dir() -> Path:
    """Folder of the bundled De-Stalinization rubrics."""
    return SEED_DIR


@pytest.fixture
def rubric_data() -> dict[str, Any]:
    """A fresh copy of the minimal valid rubric data (safe to mutate)."""
    return minimal_rubric_data()


@pytest.fixture
def write_rubric(tmp_path: Path) -> Callable[..., Path]:
    """Write rubric data (dict, dumped as YAML) or raw YAML text to a file under tmp_path."""

    def write(data: dict[str, Any] | str | None = None, name: str = "rubric.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if data is None:
            data = minimal_rubric_data()
        text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    return write


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Call ``grader.cli.main`` like the console script does (SystemExit becomes a code): (code, stdout, stderr)."""
    from grader.cli import main

    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err
