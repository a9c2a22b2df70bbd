"""Project contracts: every imported library is declared, the core needs no app or test library,
and the docstring examples of grader/ run with the suite."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import pytest

from conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
IMPORT_TO_DIST = {
    "sklearn": "scikit-learn", "yaml": "PyYAML", "charset_normalizer": "charset-normalizer", "sqlalchemy": "SQLAlchemy",
    "fpdf": "fpdf2", "ruamel": "ruamel.yaml",
}
LOCAL = {"grader", "app_pages", *(p.stem for folder in ("tests", "benchmarks") for p in (REPO / folder).glob("*.py"))}
"""Our own packages and modules (tests may import each other's helpers)."""
EXTRA_ONLY = {"grader/store.py": {"SQLAlchemy"}, "grader/dask_engine.py": {"dask", "distributed", "pandas"}}
"""Library modules that need an extra (the run store: app; the Dask engine: dask)."""


def _dist(requirement: str) -> str:
    for sep in "[<>=!~ ;":
        requirement = requirement.split(sep)[0]
    return requirement.strip()


CORE = {_dist(r) for r in PYPROJECT["project"]["dependencies"]}
DECLARED = CORE | {_dist(r) for reqs in PYPROJECT["project"]["optional-dependencies"].values() for r in reqs}


def _third_party(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return {IMPORT_TO_DIST.get(n, n) for n in names if n not in sys.stdlib_module_names and n not in LOCAL and n != "__future__"}


SOURCES = sorted(
    p for folder in ("grader", "app_pages", "tests", "benchmarks", "scripts") for p in (REPO / folder).rglob("*.py")
) + [REPO / "app.py"]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_imported_library_is_declared(path: Path) -> None:
    assert _third_party(path) - DECLARED == set()


@pytest.mark.parametrize("path", sorted((REPO / "grader").glob("*.py")), ids=lambda p: p.name)
def test_the_library_needs_only_core_dependencies(path: Path) -> None:
    allowed = CORE | EXTRA_ONLY.get(path.relative_to(REPO).as_posix(), set())
    assert _third_party(path) - allowed == set()


def test_doctests_of_grader_run_with_the_suite() -> None:
    options = PYPROJECT["tool"]["pytest"]["ini_options"]
    assert "--doctest-modules" in options["addopts"].split() and "grader" in options["testpaths"]


@pytest.mark.parametrize("name", ["cli.md", "flags.md"])
def test_generated_reference_pages_match_the_code(name: str) -> None:
    from grader import reference

    expected = getattr(reference, reference.PAGES[name])() + "\n"
    assert (REPO / "docs" / name).read_text(encoding="utf-8") == expected, "run `make docs`"


def test_every_flag_code_is_described() -> None:
    from grader.reference import RAISED_WHEN
    from grader.rubric import FLAG_CODES

    assert set(RAISED_WHEN) == set(FLAG_CODES)


def test_every_command_and_argument_has_help() -> None:
    import argparse

    from grader.cli import build_parser
    from grader.reference import _commands

    commands = _commands(build_parser(), "grader")
    assert {"grader score", "grader batch", "grader rubric build", "grader evaluate"} <= {name for name, _, _ in commands}
    for name, help_text, parser in commands:
        assert help_text, name
        assert all(a.help for a in parser._actions if not isinstance(a, argparse._HelpAction)), name
