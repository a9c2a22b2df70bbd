"""Untrusted text and names: HTML escaping, spreadsheet formulas, paths, size caps.

(The app's passcode, the Practice page's served HTML and the upload widget limits are
tested with the app, in tests/test_app.py and tests/e2e.)
"""

from __future__ import annotations

import csv
import html
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.batch import run_batch
from grader.cli import main
from grader.errors import RubricError
from grader.rubric import MAX_RUBRIC_BYTES, load_rubric, rubric_from_dict, save_rubric
from grader.tabular import safe_cell

from conftest import SEED_DIR, minimal_rubric_data

highlight = pytest.importorskip("grader.highlight")
POLITICS = SEED_DIR / "destal-politics.yaml"
HOSTILE = [
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "</mark><b>bold</b>",
    "&lt;already escaped&gt; & ampersand",
    "javascript:alert(1)",
    "line one\r\nline <two>\n",
]
FORMULAS = ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", "=HYPERLINK(\"http://x\",\"y\")", "=cmd|' /C calc'!A0"]


# ---------------------------------------------------------------- HTML


def _strip_our_tags(out: str) -> str:
    return re.sub(r'<mark class="grader-[a-z]+" title="[^"<>]*">|</mark>', "", out).replace("<br>", "\n")


@pytest.mark.parametrize("answer", HOSTILE)
def test_highlight_escapes_student_text(answer: str) -> None:
    marks = [highlight.Mark(0, min(5, len(answer)), ("<label> \"quoted\"",))]
    out = highlight.highlight_html(answer, marks)
    plain = _strip_our_tags(out)
    assert "<" not in plain and ">" not in plain
    assert html.unescape(plain) == answer.replace("\r\n", "\n")
    assert not re.search(r"<(script|img|b)\b", out)


def test_highlight_escapes_labels_in_the_title_attribute() -> None:
    out = highlight.highlight_html("abc", [highlight.Mark(0, 3, ('" onmouseover="alert(1)',))])
    assert 'title="&quot; onmouseover=&quot;alert(1)"' in out
    assert out.count('"') == 4  # class="..." and title="..." only


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=120), st.lists(st.tuples(st.integers(-5, 130), st.integers(-5, 130)), max_size=5))
def test_highlight_never_emits_unescaped_text(answer: str, spans: list[tuple[int, int]]) -> None:
    marks = [highlight.Mark(a, b, ("x<y",)) for a, b in spans]
    out = highlight.highlight_html(answer, marks)
    plain = _strip_our_tags(out)
    assert "<" not in plain and ">" not in plain
    assert html.unescape(plain) == answer.replace("\r\n", "\n")


# ---------------------------------------------------------------- CSV formulas


@pytest.mark.parametrize("cell", FORMULAS)
def test_safe_cell_neutralises_formulas(cell: str) -> None:
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-2.5", "+3", "10", "plain text", "", "e=mc2", "a-b"])
def test_safe_cell_leaves_numbers_and_text(cell: str) -> None:
    assert safe_cell(cell) == cell


def test_batch_output_has_no_live_formula(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    header = ["=question_id", "answer", "@note"]
    with src.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for f in FORMULAS:
            w.writerow([f, f + " Khrushchev denounced Stalin", f])
    out = tmp_path / "out.csv"
    run_batch(POLITICS, src, out, answer_col="answer")
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == len(FORMULAS) + 1
    for row in rows:
        for cell in row:
            assert not cell or cell[0] not in "=+@\t\r" or cell.startswith("'")
            assert not cell.startswith("-") or re.fullmatch(r"-\d+(\.\d+)?", cell)
    assert rows[0][0] == "'=question_id"
    assert rows[1][1].startswith("'=1+1 Khrushchev")


def test_gradebook_csv_is_formula_safe() -> None:
    gradebook = pytest.importorskip("grader.gradebook")
    text = gradebook.to_csv([["name", "answer"], *[["x", f] for f in FORMULAS]])
    rows = list(csv.reader(text.splitlines()))
    assert all(r[1].startswith("'") for r in rows[1:] if r)


# ---------------------------------------------------------------- paths


@pytest.fixture
def rubric():
    return rubric_from_dict(minimal_rubric_data())


@pytest.mark.parametrize(
    "name",
    ["../escape.yaml", "sub/../../escape.yaml", "../../../../tmp/escape.yaml"],
)
def test_save_rubric_refuses_to_climb_out_of_root(tmp_path: Path, rubric, name: str) -> None:
    root = tmp_path / "rubrics"
    root.mkdir()
    with pytest.raises(RubricError, match="refusing to write outside"):
        save_rubric(rubric, root / name, root=root)
    assert not (tmp_path / "escape.yaml").exists()


def test_save_rubric_refuses_an_absolute_path_elsewhere(tmp_path: Path, rubric) -> None:
    root = tmp_path / "rubrics"
    root.mkdir()
    with pytest.raises(RubricError, match="refusing to write outside"):
        save_rubric(rubric, tmp_path / "elsewhere.yaml", root=root)
    assert not (tmp_path / "elsewhere.yaml").exists()


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
def test_save_rubric_refuses_symlinks_leading_out(tmp_path: Path, rubric) -> None:
    root, outside = tmp_path / "rubrics", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "linked-dir").symlink_to(outside, target_is_directory=True)
    (outside / "victim.yaml").write_text("keep me", encoding="utf-8")
    (root / "file-link.yaml").symlink_to(outside / "victim.yaml")
    for target in (root / "linked-dir" / "x.yaml", root / "file-link.yaml"):
        with pytest.raises(RubricError, match="refusing to write outside"):
            save_rubric(rubric, target, root=root)
    assert (outside / "victim.yaml").read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in outside.iterdir()) == ["victim.yaml"]


def test_save_rubric_inside_root_keeps_a_backup(tmp_path: Path, rubric) -> None:
    root = tmp_path / "rubrics"
    path = save_rubric(rubric, root / "set" / "thaw.yaml", root=root)
    save_rubric(rubric.model_copy(update={"title": "Second"}), path, root=root)
    assert load_rubric(path).title == "Second"
    assert load_rubric(path.with_name("thaw.yaml.bak")).title == rubric.title


@pytest.mark.parametrize("bad_id", ["../evil", "a/b", "a\\b", ".hidden", "", "x" * 81, "é"])
def test_rubric_ids_cannot_carry_path_parts(bad_id: str) -> None:
    with pytest.raises(RubricError, match="id"):
        rubric_from_dict(minimal_rubric_data(id=bad_id))


def test_rubric_build_from_csv_keeps_hostile_ids_inside_out_dir(tmp_path: Path, capsys) -> None:
    src = tmp_path / "questions.csv"
    with src.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["question_id", "question", "reference_answer"])
        w.writerow(["../../evil", "Why did the Thaw matter?", "Prisoners were freed and censorship was relaxed."])
        w.writerow(["/etc/passwd", "Who spoke in 1956?", "Khrushchev denounced Stalin in the Secret Speech."])
    out_dir = tmp_path / "deep" / "out"
    code = main(["rubric", "build", "--from-csv", str(src), "--out-dir", str(out_dir), "--no-wordnet"])
    capsys.readouterr()
    assert code == 0
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.yaml"))
    assert written and all(w.startswith("deep/out/") and w.count("/") == 2 for w in written), written


# ---------------------------------------------------------------- size caps


def test_oversized_rubric_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("# " + "x" * MAX_RUBRIC_BYTES + "\n", encoding="utf-8")
    with pytest.raises(RubricError, match="huge.yaml: file is larger than"):
        load_rubric(path)


def test_yaml_alias_bomb_is_rejected(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    lines += ["id: x", "question: q", "model_answer: m", "concepts: *a8"]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(RubricError, match="bomb.yaml"):
        load_rubric(path)
