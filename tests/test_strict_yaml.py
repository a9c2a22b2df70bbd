"""Strict rubric YAML (issue 12, items 9 and 12): each hostile rubric is one line naming the file."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from grader.cli import main
from grader.errors import RubricError
from grader.rubric import load_rubric, rubric_from_dict

from conftest import minimal_rubric_data


def _score_error(capsys: pytest.CaptureFixture[str], rubric: str) -> str:
    code = main(["score", rubric, "--text", "Khrushchev denounced Stalin."])
    _, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert rubric in lines[0]
    return lines[0]


def _yaml(**overrides) -> str:
    return yaml.safe_dump(minimal_rubric_data(**overrides), sort_keys=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_yaml().replace("max_score: 10\n", "max_score: 10\nmax_score: 5\n"), "invalid YAML: duplicate key 'max_score'"),
        (_yaml().replace("max_score: 10", "max_score: .inf"), "is not a finite number"),
        (_yaml().replace("max_score: 10", "max_score: .nan"), "is not a finite number"),
        (_yaml().replace("max_score: 10", "max_score: 1:30"), "base-60 number"),
        (_yaml().replace("max_score: 10", "max_score: " + "9" * 5000), "more than 15 digits"),
        (_yaml().replace("weight: 2", "weight: .inf"), "is not a finite number"),
        (_yaml() + "x: " + "[" * 50_000 + "]" * 50_000 + "\n", "nested deeper than"),
        ("a: &a [x, x]\nb: &b [*a, *a]\n", "anchors and aliases"),
    ],
    ids=["duplicate-key", "inf", "nan", "sexagesimal", "huge-int", "weight-inf", "deep", "alias"],
)
def test_hostile_rubric_is_one_line(capsys, write_rubric: Callable[..., Path], text: str, expected: str) -> None:
    path = write_rubric(text)
    assert expected in _score_error(capsys, str(path))


def test_duplicate_concepts_key_is_refused(write_rubric: Callable[..., Path]) -> None:
    text = _yaml() + "concepts:\n- {id: other, label: Other, terms: [x]}\n"
    with pytest.raises(RubricError, match=r"duplicate key 'concepts'"):
        load_rubric(write_rubric(text))


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/urandom"])
def test_special_file_as_rubric_is_refused(capsys, special: str) -> None:
    if not Path(special).exists():
        pytest.skip(f"{special} missing")
    assert "not a regular file" in _score_error(capsys, special)


def test_fifo_as_rubric_is_refused_without_hanging(capsys, tmp_path: Path) -> None:
    fifo = tmp_path / "rubric.yaml"
    os.mkfifo(fifo)
    assert "not a regular file" in _score_error(capsys, str(fifo))


def test_oversized_rubric_is_refused(capsys, write_rubric: Callable[..., Path]) -> None:
    path = write_rubric(_yaml() + "#" + "x" * 1_100_000 + "\n")
    assert "larger than" in _score_error(capsys, str(path))


@pytest.mark.parametrize("field", ["id", "concepts"])
def test_id_with_trailing_newline_is_refused(rubric_data: dict, field: str) -> None:
    if field == "id":
        rubric_data["id"] = "thaw\n"
    else:
        rubric_data["concepts"][0]["id"] = "speech\n"
    with pytest.raises(RubricError, match="must be letters"):
        rubric_from_dict(rubric_data)


def test_infinite_weight_from_data_is_refused(rubric_data: dict) -> None:
    rubric_data["concepts"][0]["weight"] = float("inf")
    with pytest.raises(RubricError, match=r"concepts\[0\]\.weight"):
        rubric_from_dict(rubric_data)
