"""docs/architecture.md matches the code: every module listed once, imports point down the layers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from conftest import REPO

DOC = REPO / "docs" / "architecture.md"
MODULES = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "grader").glob("*.py"))


def _layers() -> dict[str, int]:
    """Module path -> index of its section in the doc (sections run from the bottom layer up)."""
    layer, out = -1, {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            layer += 1
        match = re.match(r"\| `([\w/]+\.py)` \|", line)
        if match:
            assert match.group(1) not in out, f"{match.group(1)} is listed twice"
            out[match.group(1)] = layer
    return out


def test_every_grader_module_is_listed_and_every_listed_module_exists() -> None:
    listed = _layers()
    assert [m for m in MODULES if m not in listed] == []
    assert [m for m in listed if not (REPO / m).is_file()] == []


def _grader_imports(path: Path) -> set[str]:
    """grader modules imported at run time (imports under ``if TYPE_CHECKING:`` are types only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(n) for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("grader."):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("grader."))
    return found


@pytest.mark.parametrize("module", MODULES)
def test_imports_point_down_the_layers(module: str) -> None:
    layers = _layers()
    if module in {"grader/__init__.py", "grader/__main__.py", "grader/cli.py"}:
        return  # the shells may import anything
    upward = [m for m in _grader_imports(REPO / module) if layers[m.replace(".", "/") + ".py"] > layers[module]]
    assert upward == [], f"{module} imports a higher layer: {upward}"
