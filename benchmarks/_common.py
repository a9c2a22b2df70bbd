"""Shared helpers of the agreement benchmarks: data location, table printing, timing.

The benchmarks are scripts, not tests: they read the public data sets in
``../shared/datasets`` (or ``$GRADER_DATASETS``), print a Markdown table and exit 0.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Sequence
from typing import Any
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def datasets_dir() -> Path:
    """Folder of the public data sets: $GRADER_DATASETS, else ../shared/datasets beside the repo."""
    env = os.environ.get("GRADER_DATASETS")
    candidates = [Path(env)] if env else []
    candidates += [REPO.parent / "shared" / "datasets", Path("/work/shared/datasets")]
    for c in candidates:
        if c.is_dir():
            return c
    sys.exit(f"benchmark: data sets not found (tried {', '.join(map(str, candidates))}); set GRADER_DATASETS")


def fmt(value: object, digits: int = 3) -> str:
    """A table cell: floats to ``digits`` places, NaN as an en dash."""
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table from a header and rows of cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def rubrics_by_question(ids: Sequence[str], questions: Sequence[str], references: Sequence[str], **build: Any) -> dict[str, Any]:
    """One rubric per question id, built by ``grader.build.build_rubric`` from the first row of each
    question (``build``: its keyword arguments, e.g. ``max_score=5``)."""
    from grader.build import build_rubric

    rubrics: dict[str, Any] = {}
    for rid, question, reference in zip(ids, questions, references):
        if rid not in rubrics:
            rubrics[rid] = build_rubric(question, reference, rubric_id=rid, **build)
    return rubrics


class Timer:
    """Context manager that records elapsed wall time in ``seconds``."""

    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
