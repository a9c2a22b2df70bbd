"""grader: essay-answer grading with explainable concept matching and TF-IDF similarity.

The public API is re-exported here lazily, so importing ``grader`` (and running the CLI)
pays only for what is used: scoring answers imports neither scikit-learn nor NLTK (numpy
only for a calibrated rubric, scikit-learn for learned data; ``tests/test_cold_start.py``).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "GraderError": "grader.errors",
    "RubricError": "grader.errors",
    "InputError": "grader.errors",
    "OutputError": "grader.errors",
    "StoreBusyError": "grader.errors",
    "ConfigError": "grader.errors",
    "Rubric": "grader.rubric",
    "Concept": "grader.rubric",
    "Misconception": "grader.rubric",
    "Scoring": "grader.rubric",
    "Calibration": "grader.rubric",
    "load_rubric": "grader.rubric",
    "load_rubrics": "grader.rubric",
    "save_rubric": "grader.rubric",
    "rubric_from_dict": "grader.rubric",
    "rubric_from_yaml": "grader.rubric",
    "rubric_to_yaml": "grader.rubric",
    "load_rubric_set": "grader.rubric",
    "read_table": "grader.tabular",
    "BadRow": "grader.tabular",
    "atomic_write": "grader.files",
    "Scorer": "grader.scoring",
    "ScorerSet": "grader.scorer_set",
    "FeedbackItem": "grader.feedback",
    "ScoreResult": "grader.scoring",
    "score_answer": "grader.scoring",
    "match_concepts": "grader.concepts",
    "build_rubric": "grader.build",
    "run_batch": "grader.batch",
    "tfidf_cosine": "grader.similarity",
    "Flag": "grader.integrity",
    "check_answer": "grader.integrity",
    "rubric_vocabulary": "grader.signals",
    "LearnedScorer": "grader.learned_scoring",
    "Learned": "grader.learned",
    "load_learned": "grader.learned",
    "save_learned": "grader.learned",
    "pick_next": "grader.pick",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
