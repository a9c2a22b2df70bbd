"""The command line through its real entry point, in-process and as the installed script."""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from grader.cli import build_parser
from grader.rubric import load_rubric

from conftest import REPO, SEED_DIR, minimal_rubric_data, run_main

POLITICS = str(SEED_DIR / "destal-politics.yaml")
GOOD = (
    "Khrushchev denounced Stalin in the Secret Speech of 1956. Political prisoners were released from the "
    "gulag, censorship was relaxed during the Thaw, and yet the Soviet Union remained a one-party state."
)
JSON_KEYS = {"rubric_id", "score", "max_score", "percent", "concepts", "flags", "feedback"}



def _assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("grader")
    for fragment in fragments:
        assert fragment in lines[0]


def _check_contract(data: dict, rubric_id: str) -> None:
    assert JSON_KEYS <= set(data)
    assert data["rubric_id"] == rubric_id
    assert 0 <= data["score"] <= data["max_score"] and 0 <= data["percent"] <= 100
    for c in data["concepts"]:
        assert {"id", "label", "matched", "evidence"} <= set(c)
        assert isinstance(c["matched"], bool) and all(isinstance(e, str) for e in c["evidence"])
    assert all({"code", "message"} <= set(f) for f in data["flags"])
    assert all(isinstance(line, str) for line in data["feedback"])


# --- score -------------------------------------------------------------------------------

def test_score_text_json(capsys) -> None:
    code, out, err = run_main(capsys, "score", POLITICS, "--text", GOOD, "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    _check_contract(data, "destal-politics")
    assert data["percent"] >= 60
    matched = {c["id"]: c["evidence"] for c in data["concepts"] if c["matched"]}
    assert any("Secret Speech" in e for e in matched["denounced-stalin"])
    assert all(e in GOOD for ev in matched.values() for e in ev)


def test_score_text_report(capsys) -> None:
    code, out, _ = run_main(capsys, "score", POLITICS, "--text", GOOD)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "De-Stalinization and Soviet domestic politics"
    assert lines[1].startswith("Score: ") and "/ 10 (" in lines[1]
    assert any(line.startswith("  [x] ") for line in lines) and any(line.startswith("  [ ] ") for line in lines)
    assert load_rubric(POLITICS).model_answer not in out


def test_score_file_equals_text(capsys, tmp_path: Path) -> None:
    answer = tmp_path / "answer.txt"
    answer.write_text(GOOD, encoding="cp1252")
    code, out, _ = run_main(capsys, "score", POLITICS, "--file", str(answer), "--json")
    assert code == 0
    _, text_out, _ = run_main(capsys, "score", POLITICS, "--text", GOOD, "--json")
    assert json.loads(out) == json.loads(text_out)


def test_score_stdin(capsys, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(GOOD.encode("utf-8"))))
    code, out, _ = run_main(capsys, "score", POLITICS, "-", "--json")
    assert code == 0
    _check_contract(json.loads(out), "destal-politics")
    assert json.loads(out)["percent"] >= 60


def test_score_is_deterministic(capsys) -> None:
    outs = [run_main(capsys, "score", POLITICS, "--text", GOOD, "--json")[1] for _ in range(2)]
    assert outs[0] == outs[1]


# --- errors: exit 2, one line, no traceback ------------------------------------------------

def test_missing_rubric(capsys, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    code, out, err = run_main(capsys, "score", str(missing), "--text", "x")
    _assert_one_line_error(code, err, str(missing), "file not found")
    assert out == ""


def test_bad_rubric(capsys, tmp_path: Path) -> None:
    data = minimal_rubric_data()
    data["concepts"][1]["weight"] = -2
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    code, _, err = run_main(capsys, "score", str(path), "--text", "x")
    _assert_one_line_error(code, err, str(path), "concepts[1].weight", "must be > 0")


def test_malformed_yaml_rubric(capsys, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: a\nconcepts: [\n", encoding="utf-8")
    code, _, err = run_main(capsys, "score", str(path), "--text", "x")
    _assert_one_line_error(code, err, str(path), "line", "invalid YAML")


def test_missing_answer_file(capsys, tmp_path: Path) -> None:
    code, _, err = run_main(capsys, "score", POLITICS, "--file", str(tmp_path / "none.txt"))
    _assert_one_line_error(code, err, "none.txt", "cannot read")


def test_binary_answer_file(capsys, tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"\x00\x01\x02binary")
    code, _, err = run_main(capsys, "score", POLITICS, "--file", str(path))
    _assert_one_line_error(code, err, "binary")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["score", POLITICS],  # no answer source
        ["score", POLITICS, "--text", "a", "--file", "b"],  # two answer sources
        ["batch", POLITICS, "in.csv"],  # no -o
        ["rubric"],
        ["rubric", "build"],  # neither form complete
        ["rubric", "build", "--from-csv", "q.csv"],  # no --out-dir
        ["score", POLITICS, "--text", "a", "--bogus"],
    ],
)
def test_bad_usage(capsys, argv: list[str]) -> None:
    code, _, err = run_main(capsys, *argv)
    _assert_one_line_error(code, err)


# --- rubric build -------------------------------------------------------------------------

def test_rubric_build_from_question(capsys, tmp_path: Path) -> None:
    model = tmp_path / "model.txt"
    model.write_text(
        "Photosynthesis is the process by which green plants use chlorophyll to capture energy from sunlight "
        "and convert carbon dioxide and water into glucose, releasing oxygen.",
        encoding="utf-8",
    )
    out_path = tmp_path / "out" / "photo.yaml"
    code, out, err = run_main(
        capsys, "rubric", "build", "--question", "What is photosynthesis?", "--model-answer-file", str(model),
        "--id", "photo", "-o", str(out_path), "--no-wordnet",
    )
    assert code == 0, err
    assert str(out_path) in out
    rubric = load_rubric(out_path)
    assert rubric.id == "photo" and rubric.question == "What is photosynthesis?"
    code, out, _ = run_main(capsys, "score", str(out_path), "--text", rubric.model_answer, "--json")
    assert code == 0 and json.loads(out)["percent"] >= 90


def test_rubric_build_id_defaults_to_file_name(capsys, tmp_path: Path) -> None:
    model = tmp_path / "m.txt"
    model.write_text("The heart pumps blood through the arteries and veins of the body.", encoding="utf-8")
    out_path = tmp_path / "heart-q1.yaml"
    code, _, _ = run_main(capsys, "rubric", "build", "--question", "What does the heart do?",
                      "--model-answer-file", str(model), "-o", str(out_path), "--no-wordnet")
    assert code == 0 and load_rubric(out_path).id == "heart-q1"


def test_rubric_build_empty_model_answer(capsys, tmp_path: Path) -> None:
    model = tmp_path / "empty.txt"
    model.write_text("  \n", encoding="utf-8")
    code, _, err = run_main(capsys, "rubric", "build", "--question", "Q?", "--model-answer-file", str(model),
                        "-o", str(tmp_path / "x.yaml"), "--no-wordnet")
    _assert_one_line_error(code, err, "empty")


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_rubric_build_from_csv(capsys, tmp_path: Path) -> None:
    questions = _write_csv(
        tmp_path / "questions.csv",
        ["question_id", "question", "reference_answer"],
        [
            ["bio-1", "What is osmosis?", "Osmosis is the movement of water across a semi-permeable membrane "
             "from a dilute solution to a concentrated one."],
            ["cs 2", "What is a hash table?", "A hash table stores key-value pairs in an array and uses a hash "
             "function to compute the bucket index, giving average constant-time lookups."],
            ["empty", "What?", ""],
        ],
    )
    out_dir = tmp_path / "built"
    code, out, err = run_main(capsys, "rubric", "build", "--from-csv", str(questions), "--out-dir", str(out_dir),
                          "--no-wordnet")
    assert code == 0
    assert "wrote 2 rubrics" in out
    assert "line 4" in err and "Traceback" not in err  # the empty row is reported, the rest built
    assert sorted(p.name for p in out_dir.iterdir()) == ["bio-1.yaml", "cs-2.yaml"]
    assert load_rubric(out_dir / "bio-1.yaml").id == "bio-1"


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--id", "bad id!", "-o", "{tmp}/x.yaml"], "id: must be letters, digits"),
        (["-o", "{tmp}"], "is a directory"),
        (["-o", "{tmp}/model.txt/x.yaml"], "cannot write file"),
    ],
)
def test_rubric_build_bad_output_or_id(capsys, tmp_path: Path, extra: list[str], fragment: str) -> None:
    model = tmp_path / "model.txt"
    model.write_text("Plants turn light, water and carbon dioxide into sugar and oxygen.", encoding="utf-8")
    args = [a.format(tmp=tmp_path) for a in extra]
    code, _, err = run_main(capsys, "rubric", "build", "--question", "What is photosynthesis?",
                        "--model-answer-file", str(model), "--no-wordnet", *args)
    _assert_one_line_error(code, err, fragment)


def test_rubric_build_blank_question(capsys, tmp_path: Path) -> None:
    model = tmp_path / "model.txt"
    model.write_text("Plants make sugar.", encoding="utf-8")
    code, _, err = run_main(capsys, "rubric", "build", "--question", "   ", "--model-answer-file", str(model),
                        "-o", str(tmp_path / "x.yaml"), "--no-wordnet")
    _assert_one_line_error(code, err, "question")


def test_rubric_build_from_csv_reports_unusable_rows(capsys, tmp_path: Path) -> None:
    questions = _write_csv(
        tmp_path / "q.csv", ["question_id", "question", "reference_answer"],
        [["_odd id", "What is osmosis?", "Water moves across a membrane."], ["blank", "   ", "Some answer."]],
    )
    code, out, err = run_main(capsys, "rubric", "build", "--from-csv", str(questions), "--out-dir", str(tmp_path / "o"),
                          "--no-wordnet")
    assert code == 0 and "wrote 1 rubrics" in out
    assert "line 3" in err and "Traceback" not in err
    assert load_rubric(tmp_path / "o" / "odd-id.yaml").id == "odd-id"


def test_rubric_build_from_csv_missing_column(capsys, tmp_path: Path) -> None:
    questions = _write_csv(tmp_path / "q.csv", ["question_id", "question"], [["a", "Why?"]])
    code, _, err = run_main(capsys, "rubric", "build", "--from-csv", str(questions), "--out-dir", str(tmp_path / "o"))
    _assert_one_line_error(code, err, "reference_answer")


# --- batch --------------------------------------------------------------------------------

def _batch_input(tmp_path: Path) -> Path:
    return _write_csv(
        tmp_path / "answers.csv",
        ["student", "question_id", "answer"],
        [
            ["ann", "destal-politics", GOOD],
            ["bob", "destal-global-stance", "Khrushchev promoted peaceful coexistence, yet the Cuban Missile "
             "Crisis of 1962 showed how risky his foreign policy was."],
            ["cy", "no-such-question", "Anything"],
            ["dee", "destal-eastern-europe", ""],
            ["eve", "destal-eastern-europe", "=HYPERLINK(\"http://x\") Hungary rose up in 1956 and Soviet tanks "
             "crushed the revolt."],
        ],
    )


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_batch_with_rubric_dir(capsys, tmp_path: Path) -> None:
    out_path = tmp_path / "scored.csv"
    code, _, err = run_main(capsys, "batch", str(SEED_DIR), str(_batch_input(tmp_path)), "-o", str(out_path))
    assert code == 0
    assert "scored 3 of 5 rows" in err and "line 4" in err and "line 5" in err
    rows = _read_csv(out_path)
    assert list(rows[0]) == ["student", "question_id", "answer", "score", "max_score", "percent", "flags",
                             "needs_review"]
    assert [r["student"] for r in rows] == ["ann", "bob", "cy", "dee", "eve"]
    assert float(rows[0]["percent"]) >= 60 and rows[0]["max_score"] == "10"
    assert rows[0]["needs_review"] in {"true", "false"}
    assert rows[2]["score"] == "" and rows[2]["flags"] == "error_unknown_question"
    assert rows[3]["score"] == "" and rows[3]["flags"] == "error_empty_answer"
    assert rows[4]["answer"].startswith("'=")  # formula neutralised
    assert float(rows[4]["score"]) > 0


def test_batch_with_single_rubric_file(capsys, tmp_path: Path) -> None:
    answers = _write_csv(tmp_path / "a.csv", ["text"], [[GOOD], ["I don't know"]])
    out_path = tmp_path / "o.csv"
    code, _, err = run_main(capsys, "batch", POLITICS, str(answers), "-o", str(out_path), "--answer-col", "text")
    assert code == 0 and "scored 2 of 2 rows" in err
    rows = _read_csv(out_path)
    assert float(rows[0]["percent"]) >= 60 and float(rows[1]["percent"]) <= 10


def test_batch_question_col_option(capsys, tmp_path: Path) -> None:
    answers = _write_csv(tmp_path / "a.csv", ["qid", "answer"], [["destal-politics", GOOD]])
    out_path = tmp_path / "o.csv"
    code, _, _ = run_main(capsys, "batch", str(SEED_DIR), str(answers), "-o", str(out_path), "--question-col", "qid")
    assert code == 0 and float(_read_csv(out_path)[0]["percent"]) >= 60


def test_batch_missing_answer_column(capsys, tmp_path: Path) -> None:
    answers = _write_csv(tmp_path / "a.csv", ["question_id", "response"], [["destal-politics", GOOD]])
    out_path = tmp_path / "o.csv"
    code, _, err = run_main(capsys, "batch", str(SEED_DIR), str(answers), "-o", str(out_path))
    _assert_one_line_error(code, err, "a.csv", "'answer'", "--answer-col")
    assert not out_path.exists()


@pytest.mark.parametrize(
    ("make_args", "fragment"),
    [
        (lambda t: ["batch", str(t / "none"), str(SEED_DIR / "x.csv"), "-o", str(t / "o.csv")], "not found"),
        (lambda t: ["batch", POLITICS, str(t / "missing.csv"), "-o", str(t / "o.csv")], "missing.csv"),
        (lambda t: ["batch", POLITICS, str(t), "-o", str(t / "o.csv")], "directory"),
        (lambda t: ["batch", POLITICS, str(SEED_DIR / "destal-politics.yaml"), "-o", str(t / "no" / "dir" / "o.csv")],
         "does not exist"),
        (lambda t: ["batch", POLITICS, str(SEED_DIR / "destal-politics.yaml"), "-o", str(t)], "is a directory"),
    ],
)
def test_batch_bad_input(capsys, tmp_path: Path, make_args, fragment: str) -> None:
    code, _, err = run_main(capsys, *make_args(tmp_path))
    _assert_one_line_error(code, err, fragment)


# --- help and docs --------------------------------------------------------------------------

GENERATED_DOCS = {"cli.md", "flags.md"}
"""Pages written by ``make docs`` from the code: they list every command whether or not it is documented."""


def _documented_commands() -> set[str]:
    """Commands with a heading of their own (``## grader X``) in a hand-written page of docs/."""
    found = set()
    for page in (REPO / "docs").glob("*.md"):
        if page.name not in GENERATED_DOCS:
            found.update(re.findall(r"^#+ (grader [a-z ]+?)\s*$", page.read_text(encoding="utf-8"), re.M))
    return found


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    """Every leaf command as (words, help text), walking nested subparsers."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                children = _commands(sub, (*prefix, name))
                found.extend(children or [((*prefix, name), helps.get(name) or "")])
    return found


COMMANDS = _commands(build_parser())


def test_contract_commands_exist() -> None:
    names = {" ".join(words) for words, _ in COMMANDS}
    assert {"score", "rubric build", "batch"} <= names


@pytest.mark.parametrize(("words", "help_text"), COMMANDS, ids=[" ".join(w) for w, _ in COMMANDS])
def test_every_command_has_help_and_a_section_in_the_docs(capsys, words: tuple[str, ...], help_text: str) -> None:
    assert help_text.strip(), f"grader {' '.join(words)} has no help text"
    code, out, _ = run_main(capsys, *words, "--help")
    assert code == 0 and out.startswith(f"usage: grader {' '.join(words)}")
    assert f"grader {' '.join(words)}" in _documented_commands(), "no '## grader ...' section in docs/*.md"


def _leaf_parsers(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _leaf_parsers(sub, (*prefix, name))
                if not any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
                    yield (*prefix, name), sub


@pytest.mark.parametrize(("words", "sub"), list(_leaf_parsers(build_parser())),
                         ids=[" ".join(w) for w, _ in _leaf_parsers(build_parser())])
def test_every_argument_has_help(words: tuple[str, ...], sub: argparse.ArgumentParser) -> None:
    missing = [a.dest for a in sub._actions if not isinstance(a, argparse._HelpAction) and not (a.help or "").strip()]
    assert missing == [], f"grader {' '.join(words)}: arguments without help: {missing}"


def test_top_level_help(capsys) -> None:
    code, out, _ = run_main(capsys, "--help")
    assert code == 0
    for words, _ in COMMANDS:
        assert words[0] in out


# --- the installed console script ------------------------------------------------------------

def _script() -> str:
    candidate = Path(sys.executable).with_name("grader")
    found = str(candidate) if candidate.exists() else shutil.which("grader")
    if not found:
        pytest.skip("the grader console script is not installed")
    return found


@pytest.mark.slow  # a fresh Python process
@pytest.mark.subprocess
def test_console_script_scores_from_stdin() -> None:
    proc = subprocess.run(
        [_script(), "score", POLITICS, "-", "--json"], input=GOOD.encode(), capture_output=True, timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    _check_contract(json.loads(proc.stdout), "destal-politics")


@pytest.mark.slow  # a fresh Python process
@pytest.mark.subprocess
def test_console_script_error_is_one_line() -> None:
    proc = subprocess.run(
        [_script(), "score", "no/such/rubric.yaml", "--text", "x"], capture_output=True, text=True, timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "no/such/rubric.yaml: file not found" in proc.stderr


def test_batch_accepts_a_folder_of_question_sets_as_documented(capsys, tmp_path: Path) -> None:
    out_path = tmp_path / "scored.csv"
    code, _, err = run_main(capsys, "batch", str(REPO / "rubrics"), str(_batch_input(tmp_path)), "-o", str(out_path))
    assert code == 0, err
    assert "scored 3 of 5 rows" in err
    assert float(_read_csv(out_path)[0]["percent"]) >= 60


def test_batch_folder_of_sets_with_a_duplicate_id_is_one_line(capsys, tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / "sets" / name).mkdir(parents=True)
        shutil.copy(POLITICS, tmp_path / "sets" / name / "p.yaml")
    code, _, err = run_main(capsys, "batch", str(tmp_path / "sets"), str(_batch_input(tmp_path)), "-o", str(tmp_path / "o.csv"))
    _assert_one_line_error(code, err, "duplicate rubric id")


def test_suggest_with_one_rubric_file_uses_only_its_own_rows(capsys) -> None:
    graded = REPO / "samples" / "destalinization" / "graded.csv"
    code, out, err = run_main(capsys, "suggest", POLITICS, str(graded))
    assert code == 0
    assert "unknown question" not in err
    assert len(err.strip().splitlines()) <= 2 and "rows answer other questions" in err
    assert "destal-eastern-europe" not in out


def test_rubric_build_from_csv_names_changed_ids_and_refuses_collisions(capsys, tmp_path: Path) -> None:
    model = "Osmosis is the movement of water across a semi-permeable membrane from a dilute solution."
    ok = _write_csv(tmp_path / "ok.csv", ["question_id", "question", "reference_answer"],
                    [["q 3", "What is osmosis?", model]])
    code, out, err = run_main(capsys, "rubric", "build", "--from-csv", str(ok), "--out-dir", str(tmp_path / "o"), "--no-wordnet")
    assert code == 0 and "question id 'q 3' becomes rubric id 'q-3'" in err
    assert load_rubric(tmp_path / "o" / "q-3.yaml").id == "q-3"
    clash = _write_csv(tmp_path / "clash.csv", ["question_id", "question", "reference_answer"],
                       [["q 3", "What is osmosis?", model], ["Q-3", "What is diffusion?", model]])
    code, _, err = run_main(capsys, "rubric", "build", "--from-csv", str(clash), "--out-dir", str(tmp_path / "c"), "--no-wordnet")
    _assert_one_line_error(code, err, "line 2 ('q 3') and line 3 ('Q-3') both become rubric id")
    assert not (tmp_path / "c").exists() or not list((tmp_path / "c").iterdir())
