"""The examples in the core modules' docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

CORE = [
    "grader.text", "grader.rubric", "grader.concepts", "grader.similarity", "grader.scoring",
    "grader.feedback", "grader.build", "grader.tabular", "grader.files", "grader.strict_yaml", "grader.throttle",
    "grader.gradebook", "grader.review", "grader.ids", "grader.yaml_edit", "grader.lifecycle", "grader.marking",
    "grader.reports", "grader.classview",
]


@pytest.mark.filterwarnings("ignore:The multilingual functions:UserWarning")
@pytest.mark.parametrize("name", CORE)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) in {name} failed (run pytest --doctest-modules {name.replace('.', '/')}.py)"
    assert result.attempted > 0
