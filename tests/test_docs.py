"""The README and docs/ stay true: the README's examples run and print what it says, it stays
short, and every relative link of README.md and docs/*.md points to a file (and heading) that exists."""

from __future__ import annotations

import re
import shlex
import unicodedata
from pathlib import Path

import pytest

from conftest import REPO
from grader.cli import main

README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def _block(lang: str) -> str:
    """The README's one fenced block of this language."""
    blocks = re.findall(rf"^```{lang}\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)
    assert len(blocks) == 1, f"README.md should hold exactly one ```{lang} block, found {len(blocks)}"
    return blocks[0]


def test_readme_is_at_most_8_kb() -> None:
    assert README.stat().st_size <= 8 * 1024


def test_readme_starts_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "make run    # " in _block("bash") and "make test   # " in _block("bash")
    assert text.index("make run") < text.index("## ") and "make test-fast" in text


def test_readme_python_example_runs_and_prints_what_the_readme_says(capsys, monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    exec(compile(_block("python"), "README.md", "exec"), {"__name__": "__readme__"})
    lines = capsys.readouterr().out.splitlines()
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert lines and f"`{lines[0]}`" in text, f"README should quote the first line printed: {lines[:1]}"
    assert "[x] Political prisoners released" in lines and "[ ] Less repression and terror" in lines
    assert any(line.startswith("Still missing: What happened to terror") for line in lines)


def _console_examples() -> list[tuple[str, list[str]]]:
    """(command line, lines shown after it) for each `$ grader ...` of the README's console block."""
    examples: list[tuple[str, list[str]]] = []
    lines = iter(_block("console").splitlines())
    for line in lines:
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\"):
                command = command[:-1] + next(lines).strip()
            examples.append((command, []))
        else:
            examples[-1][1].append(line)
    return examples


EXAMPLES = _console_examples()


def test_readme_shows_the_three_contract_commands() -> None:
    assert [shlex.split(c)[1] for c, _ in EXAMPLES] == ["score", "batch", "rubric"]


@pytest.mark.parametrize(("command", "shown"), EXAMPLES, ids=[shlex.split(c)[1] for c, _ in EXAMPLES])
def test_readme_command_line_examples_print_what_the_readme_shows(
    capsys, monkeypatch, tmp_path: Path, command: str, shown: list[str]
) -> None:
    (tmp_path / "rubrics").mkdir()  # the bundled set and samples, read-only; outputs land in tmp_path
    (tmp_path / "rubrics" / "destalinization").symlink_to(REPO / "rubrics" / "destalinization")
    (tmp_path / "samples").symlink_to(REPO / "samples")
    (tmp_path / "answer.txt").write_text(
        "Photosynthesis is how plants use light energy to turn carbon dioxide and water into glucose "
        "and oxygen. It happens in the chloroplasts.\n", encoding="utf-8")
    argv = shlex.split(command)
    assert argv[0] == "grader"
    monkeypatch.chdir(tmp_path)
    code = main(argv[1:])
    out, err = capsys.readouterr()
    assert code == 0, err
    printed = (out + err).splitlines()
    expected = [line for line in shown if line.strip() != "..."]
    assert expected, command
    position = 0
    for line in expected:  # the lines shown appear in this order in what the command prints
        assert line in printed[position:], f"{line!r} not printed by {command!r}:\n" + "\n".join(printed)
        position = printed.index(line, position) + 1


def _slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = unicodedata.normalize("NFKC", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {_slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, re.M)}


def _links(path: Path) -> list[str]:
    return LINK.findall(FENCE.sub("", path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_points_to_an_existing_file_and_heading(page: Path) -> None:
    broken = []
    for target in _links(page):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        path = (page.parent / file_part).resolve() if file_part else page
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"{target}: no heading #{anchor} in {path.name}")
    assert broken == []


def test_the_link_check_sees_links_and_would_catch_a_broken_one(tmp_path: Path) -> None:
    assert any(link.startswith("docs/") for link in _links(README))
    assert "docs/screenshots/practice.png" in _links(README)
    page = tmp_path / "x.md"
    page.write_text("# Top\nSee [a](missing.md) and [b](#top).\n```\n[c](in-code.md)\n```\n", encoding="utf-8")
    assert _links(page) == ["missing.md", "#top"] and _anchors(page) == {"top"}


def test_readme_links_every_docs_page() -> None:
    linked = {Path(t.partition("#")[0]).name for t in _links(README) if t.startswith("docs/") and t.endswith(".md")}
    assert linked == {p.name for p in (REPO / "docs").glob("*.md")}
