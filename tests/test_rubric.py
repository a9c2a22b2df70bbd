"""Rubric schema: located one-line errors, loading files and folders, atomic saving."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest

from grader.errors import RubricError
from grader.rubric import (
    Calibration,
    Concept,
    Misconception,
    Rubric,
    Scoring,
    load_rubric,
    load_rubric_set,
    load_rubrics,
    rubric_from_dict,
    rubric_from_yaml,
    rubric_to_yaml,
    save_rubric,
)

from conftest import minimal_rubric_data


def _with(path: str, value: object) -> dict:
    """Minimal rubric data with the value at a dotted/indexed path replaced (``None`` deletes)."""
    data = copy.deepcopy(minimal_rubric_data())
    node = data
    parts = path.replace("]", "").replace("[", ".").split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    last = parts[-1]
    key = int(last) if last.isdigit() else last
    if value is None:
        del node[key]
    else:
        node[key] = value
    return data


def test_minimal_rubric_is_valid(rubric_data: dict) -> None:
    rubric = rubric_from_dict(rubric_data)
    assert rubric.id == "thaw"
    assert rubric.total_weight == pytest.approx(4.5)
    assert rubric.concepts[1].phrases == ["political prisoners released", "freed from the gulag"]
    assert rubric.scoring == Scoring()  # defaults apply


@pytest.mark.parametrize(
    ("path", "value", "location", "message"),
    [
        ("colour", "red", "colour", "unknown key"),
        ("concepts[1].wieght", 2, r"concepts\[1\]\.wieght", "unknown key"),
        ("scoring.coverage_targt", 0.5, r"scoring\.coverage_targt", "unknown key"),
        ("question", None, "question", "required field is missing"),
        ("concepts[0].terms", None, r"concepts\[0\]\.terms", "required field is missing"),
        ("misconceptions[0].feedback", None, r"misconceptions\[0\]\.feedback", "required field is missing"),
        ("concepts[2].weight", -1, r"concepts\[2\]\.weight", "must be > 0. Got -1"),
        ("concepts[2].weight", 0, r"concepts\[2\]\.weight", "must be > 0"),
        ("concepts[0].terms", [], r"concepts\[0\]\.terms", "at least 1"),
        ("concepts[0].terms", ["ok", "  "], r"concepts\[0\]\.terms", "must not be empty"),
        ("concepts[0].id", "has space", r"concepts\[0\]\.id", "letters, digits"),
        ("concepts", [], "concepts", "at least 1"),
        ("model_answer", "   ", "model_answer", "must not be empty"),
        ("question", "", "question", "must not be empty"),
        ("max_score", 0, "max_score", "greater than 0"),
        ("misconceptions[0].penalty", 1.5, r"misconceptions\[0\]\.penalty", "less than or equal to 1"),
        ("scoring.similarity_floor", 0.6, "scoring", "similarity_floor must be below similarity_ceiling"),
        ("scoring.calibration", {"points": [[0, 0], [0.5, 0.8], [0.4, 1]]}, r"scoring\.calibration\.points",
         "strictly increasing"),
        ("scoring.calibration", {"points": [[0, 0.5], [1, 0.2]]}, r"scoring\.calibration\.points", "monotone"),
        ("scoring.calibration", {"points": [[0, 0], [1.5, 1]]}, r"scoring\.calibration\.points", r"\[0, 1\]"),
        ("show_model_answer_after", 0, "show_model_answer_after", "greater than or equal to 1"),
    ],
)
def test_schema_errors_name_file_field_and_problem(path: str, value: object, location: str, message: str) -> None:
    with pytest.raises(RubricError, match=rf"^bad\.yaml: {location}: .*{message}") as info:
        rubric_from_dict(_with(path, value), source="bad.yaml")
    assert "\n" not in str(info.value)


def test_duplicate_concept_ids(rubric_data: dict) -> None:
    rubric_data["concepts"][2]["id"] = "speech"
    with pytest.raises(RubricError, match=r"concepts\[2\]\.id: duplicate id 'speech'"):
        rubric_from_dict(rubric_data, source="dup.yaml")


def test_several_problems_are_counted(rubric_data: dict) -> None:
    rubric_data["colour"] = "red"
    del rubric_data["question"]
    with pytest.raises(RubricError, match=r"\(and 1 more problem\)$"):
        rubric_from_dict(rubric_data)


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "list"), ("just words", "str"), ("42", "int")])
def test_not_a_mapping(text: str, kind: str) -> None:
    with pytest.raises(RubricError, match=rf"^x\.yaml: expected a mapping at the top level, got {kind}$"):
        rubric_from_yaml(text, source="x.yaml")


def test_empty_file_reports_missing_fields(write_rubric) -> None:
    path = write_rubric("")
    with pytest.raises(RubricError, match=rf"^{path}: id: required field is missing"):
        load_rubric(path)


def test_malformed_yaml_names_file_and_line(write_rubric) -> None:
    path = write_rubric("id: thaw\nquestion: What?\nconcepts:\n  - id: a\n   label: broken indent\n")
    with pytest.raises(RubricError, match=rf"^{path}: line 5: invalid YAML") as info:
        load_rubric(path)
    assert "\n" not in str(info.value)


def test_unknown_key_in_file_names_the_file(write_rubric) -> None:
    data = minimal_rubric_data()
    data["concepts"][0]["synonym"] = ["typo for synonyms"]
    path = write_rubric(data)
    with pytest.raises(RubricError, match=rf"^{path}: concepts\[0\]\.synonym: unknown key"):
        load_rubric(path)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "nope.yaml", "file not found"),
        (lambda p: p, "is a directory"),
        (lambda p: (p / "bin.yaml").write_bytes(b"id: \xff\xfe\xfa") and p / "bin.yaml", "not UTF-8"),
    ],
)
def test_load_rubric_file_problems(tmp_path: Path, make, message: str) -> None:
    path = make(tmp_path)
    with pytest.raises(RubricError, match=message):
        load_rubric(path)


def test_a_rubric_set_names_broken_files_within_the_folder(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(rubric_to_yaml(rubric_from_dict(minimal_rubric_data())), encoding="utf-8")
    (tmp_path / "copy.yaml").write_text((tmp_path / "good.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("id: x\nquestion: [unclosed\n", encoding="utf-8")
    rubrics, problems = load_rubric_set(tmp_path)
    assert list(rubrics) == ["thaw"]
    assert [str(p).split(": ")[0] for p in problems] == ["broken.yaml", "good.yaml"]  # never the folder's path
    assert str(tmp_path) not in " ".join(map(str, problems))


def test_load_rubric_accepts_bom(write_rubric) -> None:
    path = write_rubric(None)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_rubric(path).id == "thaw"


def test_load_rubrics_dir_and_file(seed_dir: Path) -> None:
    rubrics = load_rubrics(seed_dir)
    assert sorted(rubrics) == ["destal-eastern-europe", "destal-global-stance", "destal-politics"]
    one = load_rubrics(seed_dir / "destal-politics.yaml")
    assert list(one) == ["destal-politics"]


def test_load_rubrics_rejects_duplicate_ids_and_empty_dir(write_rubric, tmp_path: Path) -> None:
    with pytest.raises(RubricError, match="holds no .yaml"):
        load_rubrics(tmp_path)
    write_rubric(None, "a.yaml")
    write_rubric(None, "b.yml")
    with pytest.raises(RubricError, match=r"b\.yml: id: duplicate rubric id 'thaw'"):
        load_rubrics(tmp_path)


def test_yaml_round_trip(seed_dir: Path) -> None:
    for path in sorted(seed_dir.glob("*.yaml")):
        rubric = load_rubric(path)
        assert rubric_from_yaml(rubric_to_yaml(rubric)) == rubric


def test_round_trip_keeps_calibration(rubric_data: dict) -> None:
    rubric_data["scoring"] = {"calibration": {"points": [[0, 0], [0.5, 0.7], [1, 1]], "source": "tune"}}
    rubric = rubric_from_dict(rubric_data)
    assert rubric.scoring.calibration == Calibration(points=[(0, 0), (0.5, 0.7), (1, 1)], source="tune")
    assert rubric_from_yaml(rubric_to_yaml(rubric)).scoring.calibration == rubric.scoring.calibration


def test_save_rubric_keeps_backup_and_leaves_no_temp_files(tmp_path: Path, rubric_data: dict) -> None:
    target = tmp_path / "r" / "thaw.yaml"
    first = rubric_from_dict(rubric_data)
    save_rubric(first, target, root=tmp_path)
    assert load_rubric(target) == first
    assert not target.with_name("thaw.yaml.bak").exists()
    rubric_data["title"] = "Edited"
    save_rubric(rubric_from_dict(rubric_data), target, root=tmp_path)
    assert load_rubric(target).title == "Edited"
    assert load_rubric(target.with_name("thaw.yaml.bak")).title == "The Thaw"
    assert sorted(p.name for p in target.parent.iterdir()) == ["thaw.yaml", "thaw.yaml.bak"]


def test_save_rubric_failure_keeps_old_file(tmp_path: Path, rubric_data: dict, monkeypatch) -> None:
    target = tmp_path / "thaw.yaml"
    save_rubric(rubric_from_dict(rubric_data), target)
    before = target.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    rubric_data["title"] = "Never written"
    with pytest.raises(RubricError, match=rf"^{target}: cannot write file \(disk full\)$"):
        save_rubric(rubric_from_dict(rubric_data), target)
    assert target.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_save_rubric_to_a_directory_or_unwritable_place(tmp_path: Path, rubric_data: dict) -> None:
    rubric = rubric_from_dict(rubric_data)
    with pytest.raises(RubricError, match="is a directory"):
        save_rubric(rubric, tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(RubricError, match=r"cannot write file"):
        save_rubric(rubric, blocker / "sub" / "r.yaml")  # parent "folder" is a file


@pytest.mark.parametrize("name", ["../outside.yaml", "../../etc/x.yaml", "/tmp/grader-abs.yaml"])
def test_save_rubric_refuses_paths_outside_root(tmp_path: Path, rubric_data: dict, name: str) -> None:
    root = tmp_path / "rubrics"
    root.mkdir()
    with pytest.raises(RubricError, match="refusing to write outside"):
        save_rubric(rubric_from_dict(rubric_data), root / name if not name.startswith("/") else name, root=root)
    assert not (tmp_path / "outside.yaml").exists()


def test_save_rubric_refuses_symlink_escape(tmp_path: Path, rubric_data: dict) -> None:
    root = tmp_path / "rubrics"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(RubricError, match="refusing to write outside"):
        save_rubric(rubric_from_dict(rubric_data), root / "link" / "x.yaml", root=root)


def _rubric_format_doc() -> str:
    from conftest import REPO

    return (REPO / "docs" / "rubric-format.md").read_text(encoding="utf-8")


def test_documented_rubric_example_is_valid() -> None:
    example = _rubric_format_doc().split("```yaml\n", 1)[1].split("```", 1)[0]
    rubric = rubric_from_yaml(example, source="docs/rubric-format.md")
    assert rubric.id == "destal-politics"
    assert rubric.scoring.calibration is not None and rubric.show_model_answer_after == 3


@pytest.mark.parametrize("model", [Rubric, Concept, Misconception, Scoring, Calibration], ids=lambda m: m.__name__)
def test_docs_document_every_rubric_field(model) -> None:
    doc = _rubric_format_doc()
    missing = [name for name in model.model_fields if f"`{name}`" not in doc]
    assert missing == [], f"docs/rubric-format.md does not document {model.__name__} fields {missing}"
