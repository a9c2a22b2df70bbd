"""Bad input gets a clear error and loses nothing: answers, answer files and rubrics.

Every case runs through the library (typed errors, scores) and through the CLI's real
entry point in-process (exit code 2, one line on stderr naming the file/line/field, no
traceback).
"""

from __future__ import annotations


import codecs
import csv
import io
import json
import random
from pathlib import Path

import pytest
import yaml

from grader.batch import run_batch
from grader.cli import MAX_INPUT_BYTES, main
from grader.errors import InputError, RubricError
from grader.rubric import load_rubric, rubric_from_dict
from grader.scoring import Scorer
from grader.tabular import detect_encoding, looks_binary, read_rows
from grader.text import MAX_ANSWER_CHARS

from conftest import SEED_DIR, minimal_rubric_data

POLITICS = str(SEED_DIR / "destal-politics.yaml")
ANSWER = "Khrushchev’s Secret Speech denounced Stalin; prisoners were freed and détente followed."


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(code: int, err: str, *fragments: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer(load_rubric(POLITICS))


# ---------------------------------------------------------------- answers


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ("", "empty"),
        ("   \n\t  ", "empty"),
        ("\U0001F600\U0001F525\U0001F44D", "empty"),
        ("???!!! ... ---", "empty"),
        ("Хрущёв осудил культ личности Сталина на двадцатом съезде партии в 1956 году", "other_script"),
        ("赫鲁晓夫在1956年的秘密报告中谴责了斯大林的个人崇拜", "other_script"),
        ("\x00\x01\x02 Khrushchev \x07\x1b[31m denounced \x7f Stalin", None),
        ("Khrushchev\u200b denounced\u2028Stalin\ufeff", None),
    ],
)
def test_odd_answers_score_without_raising(scorer: Scorer, answer: str, code: str | None) -> None:
    result = scorer.score(answer)
    assert 0 <= result.score <= result.max_score
    if code is not None:
        assert code in [f.code for f in result.flags]
    if code == "empty":
        assert result.score == 0


def test_control_characters_do_not_hide_words(scorer: Scorer) -> None:
    clean = scorer.score("Khrushchev denounced Stalin")
    noisy = scorer.score("Khrushchev\x07 denounced\x00 Stalin")
    assert [c.matched for c in noisy.concepts] == [c.matched for c in clean.concepts]


def test_one_megabyte_answer_is_capped_with_a_message(scorer: Scorer) -> None:
    text = ("Khrushchev denounced Stalin and freed the prisoners. " * 20_000)[:1_000_000]
    result = scorer.score(text)
    flag = next(f for f in result.flags if f.code == "truncated")
    assert f"{MAX_ANSWER_CHARS:,}" in flag.message
    assert max(s.end for c in result.concepts for s in c.evidence) <= MAX_ANSWER_CHARS


def test_cli_reads_a_one_megabyte_file_and_refuses_a_larger_one(capsys, tmp_path: Path) -> None:
    ok = tmp_path / "ok.txt"
    ok.write_bytes(b"Khrushchev denounced Stalin. " * (MAX_INPUT_BYTES // 29))
    code, out, err = _cli(capsys, "score", POLITICS, "--file", str(ok), "--json")
    assert code == 0 and '"truncated"' in out
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * (MAX_INPUT_BYTES + 1))
    _one_line_error(*_cli(capsys, "score", POLITICS, "--file", str(big))[::2], "larger than 1,000,000 bytes")


@pytest.mark.parametrize(
    "payload",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        b"PK\x03\x04\x14\x00\x06\x00" + bytes(200),
        random.Random(3).randbytes(3000),
    ],
    ids=["png", "zip", "random"],
)
def test_cli_refuses_a_binary_answer_file(capsys, tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "answer.txt"
    path.write_bytes(payload)
    _one_line_error(*_cli(capsys, "score", POLITICS, "--file", str(path))[::2], "binary file")


@pytest.mark.parametrize("text", ["", "   ", "\U0001F600", "\x00abc", "\ud800 lone surrogate", "Сталин"])
def test_cli_scores_odd_text_arguments(capsys, text: str) -> None:
    code, out, err = _cli(capsys, "score", POLITICS, "--text", text, "--json")
    assert code == 0, err
    assert '"score"' in out and "Traceback" not in err


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"])
def test_cli_answer_file_in_any_common_encoding(capsys, tmp_path: Path, encoding: str) -> None:
    text = ANSWER if encoding not in {"latin-1"} else ANSWER.replace("’", "'")
    path = tmp_path / "answer.txt"
    path.write_bytes(text.encode(encoding))
    code, out, err = _cli(capsys, "score", POLITICS, "--file", str(path), "--json")
    assert code == 0, err
    # decoded right: the same result, evidence spans included (a misread ’ would shift every later span)
    assert json.loads(out) == json.loads(_cli(capsys, "score", POLITICS, "--text", text, "--json")[1])
    assert any(c["spans"] for c in json.loads(out)["concepts"]), "the answer must earn evidence for the spans to be checked"


def test_cli_missing_answer_file(capsys, tmp_path: Path) -> None:
    _one_line_error(*_cli(capsys, "score", POLITICS, "--file", str(tmp_path / "nope.txt"))[::2], "nope.txt")


# ---------------------------------------------------------------- answer files (batch)


def _csv_bytes(rows: list[list[str]], encoding: str) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode(encoding)


def _read_output(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8", newline="")))


ROWS = [["question_id", "answer"], ["destal-politics", ANSWER], ["destal-politics", "Café society détente – naïve"]]


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252", "latin-1"],
)
def test_batch_decodes_every_common_encoding(tmp_path: Path, encoding: str) -> None:
    rows = ROWS if encoding != "latin-1" else [[c.replace("’", "'").replace("–", "-") for c in r] for r in ROWS]
    src = tmp_path / "in.csv"
    src.write_bytes(_csv_bytes(rows, encoding))
    out = tmp_path / "out.csv"
    summary = run_batch(SEED_DIR, src, out)
    assert summary.scored == 2 and not summary.errors
    got = _read_output(out)
    assert [r["answer"] for r in got] == [r[1] for r in rows[1:]]
    assert list(got[0])[:2] == ["question_id", "answer"]  # a BOM never sticks to the first column name


def test_never_crashes_on_any_byte(tmp_path: Path) -> None:
    """Every single byte value inside an otherwise valid CSV decodes (as something) and scores."""
    body = b"answer\n" + b"\n".join(b"word" + bytes([b]) + b"word" for b in range(1, 256) if b not in b'\n\r",')
    src = tmp_path / "in.csv"
    src.write_bytes(body)
    summary = run_batch(POLITICS, src, tmp_path / "out.csv")
    assert summary.rows == summary.scored + len(summary.errors) > 200


@pytest.mark.parametrize(
    ("sample", "encoding"),
    [
        (codecs.BOM_UTF8 + b"a", "utf-8-sig"),
        ("ab".encode("utf-16"), "utf-16"),
        ("answer".encode("utf-16-le"), "utf-16-le"),
        ("caf\u00e9".encode("cp1252"), "cp1252"),
        ("Khrushchev\u2019s".encode("cp1252"), "cp1252"),
        ("\u0421\u0442\u0430\u043b\u0438\u043d \u0438 \u0425\u0440\u0443\u0449\u0451\u0432 \u043f\u0430\u0440\u0442\u0438\u044f".encode("cp1251"), "cp1251"),
    ],
)
def test_detect_encoding(sample: bytes, encoding: str) -> None:
    assert detect_encoding(sample) == encoding


def test_looks_binary() -> None:
    assert looks_binary(bytes(range(256)))
    assert not looks_binary("answer\nstill text, with tabs\tand é".encode("utf-8"))
    assert not looks_binary("text".encode("utf-16"))


def test_missing_column_is_named_with_the_columns_found(capsys, tmp_path: Path) -> None:
    src = tmp_path / "renamed.csv"
    src.write_text("question_id,response\ndestal-politics,hello\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"no column 'answer'; columns are: 'question_id', 'response'"):
        run_batch(SEED_DIR, src, tmp_path / "out.csv")  # the library names the column, never a CLI option
    _one_line_error(*_cli(capsys, "batch", str(SEED_DIR), str(src), "-o", str(tmp_path / "o.csv"))[::2],
                    "renamed.csv", "no column 'answer' (use --answer-col); columns are: 'question_id', 'response'")
    code, _, err = _cli(capsys, "batch", str(SEED_DIR), str(src), "-o", str(tmp_path / "o.csv"), "--answer-col", "response")
    assert code == 0, err


def test_column_names_match_case_and_space_insensitively(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(" Question_ID ,ANSWER \ndestal-politics,Khrushchev denounced Stalin\n", encoding="utf-8")
    assert run_batch(SEED_DIR, src, tmp_path / "out.csv").scored == 1


def test_missing_question_column_is_named(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("qid,answer\ndestal-politics,x\n", encoding="utf-8")
    with pytest.raises(InputError, match="no column 'question_id'; columns are: 'qid', 'answer'"):
        run_batch(SEED_DIR, src, tmp_path / "out.csv")


def test_garbage_header_message_stays_short(capsys, tmp_path: Path) -> None:
    src = tmp_path / "wide.csv"
    src.write_text(",".join("c" * 500 + str(i) for i in range(40)) + "\nx\n", encoding="utf-8")
    line = _one_line_error(*_cli(capsys, "batch", POLITICS, str(src), "-o", str(tmp_path / "o.csv"))[::2], "no column")
    assert len(line) < 1000


def test_ragged_rows_are_scored_and_reported(tmp_path: Path) -> None:
    src = tmp_path / "ragged.csv"
    src.write_text("question_id,answer\ndestal-politics,Khrushchev denounced Stalin,extra,cells\n"
                   "destal-politics\ndestal-politics,The purges ended\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    summary = run_batch(SEED_DIR, src, out)
    got = _read_output(out)
    assert len(got) == 3 == summary.rows  # nothing dropped
    assert got[2]["score"] != "" and summary.scored >= 1
    assert "ragged" in got[0]["flags"] and got[0]["needs_review"] == "true"
    assert got[1]["flags"].startswith("error_") and got[1]["score"] == ""
    assert [line for line, _ in summary.errors] == [2, 3][: len(summary.errors)]


def test_excel_file_is_read(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["question_id", "answer", "points"])
    ws.append(["destal-politics", "Khrushchev denounced Stalin in the Secret Speech", 3.0])
    ws.append([None, None, None])
    ws.append(["destal-politics", None, None])
    src = tmp_path / "answers.xlsx"
    wb.save(src)
    header, rows = read_rows(src)
    assert header == ["question_id", "answer", "points"]
    summary = run_batch(SEED_DIR, src, tmp_path / "out.csv")
    assert summary.scored == 1 and summary.rows == 2  # the all-empty row is skipped
    assert summary.errors == [(4, "error_empty_answer")]


def test_broken_excel_file_is_a_clear_error(capsys, tmp_path: Path) -> None:
    src = tmp_path / "broken.xlsx"
    src.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputError, match="broken.xlsx: cannot read Excel file"):
        read_rows(src)
    _one_line_error(*_cli(capsys, "batch", POLITICS, str(src), "-o", str(tmp_path / "o.csv"))[::2], "broken.xlsx")


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n\n"], ids=["empty", "bom-only", "blank-lines"])
def test_empty_file_is_a_clear_error(capsys, tmp_path: Path, content: bytes) -> None:
    src = tmp_path / "empty.csv"
    src.write_bytes(content)
    with pytest.raises(InputError, match="empty.csv: .*(empty|header)"):
        run_batch(POLITICS, src, tmp_path / "out.csv")
    _one_line_error(*_cli(capsys, "batch", POLITICS, str(src), "-o", str(tmp_path / "o.csv"))[::2], "empty.csv")


def test_binary_file_as_csv_is_a_clear_error(capsys, tmp_path: Path) -> None:
    src = tmp_path / "photo.csv"
    src.write_bytes(random.Random(5).randbytes(5000))
    _one_line_error(*_cli(capsys, "batch", POLITICS, str(src), "-o", str(tmp_path / "o.csv"))[::2], "binary")


def test_missing_input_file(capsys, tmp_path: Path) -> None:
    _one_line_error(*_cli(capsys, "batch", POLITICS, str(tmp_path / "no.csv"), "-o", str(tmp_path / "o.csv"))[::2],
                    "no.csv", "not found")


# ---------------------------------------------------------------- rubrics


def _dump(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False)


BAD_RUBRICS = [
    pytest.param("id: x\nquestion: [unclosed\nmodel_answer: y\n", r"line \d+: invalid YAML", id="malformed-yaml"),
    pytest.param("id: x\n\tquestion: tab\n", r"line 2: invalid YAML", id="tab-indent"),
    pytest.param(_dump(minimal_rubric_data(colour="red")), r"colour: unknown key", id="unknown-top-key"),
    pytest.param(
        _dump(minimal_rubric_data(concepts=[{"id": "a", "label": "A", "terms": ["x"], "wieght": 2}])),
        r"concepts\[0\]\.wieght: unknown key", id="unknown-concept-key",
    ),
    pytest.param(
        _dump(minimal_rubric_data(concepts=[{"id": "a", "label": "A", "terms": ["x"]}, {"id": "a", "label": "B", "terms": ["y"]}])),
        r"duplicate id 'a'", id="duplicate-concept-ids",
    ),
    pytest.param(_dump(minimal_rubric_data(concepts=[])), r"concepts: .*at least 1", id="empty-concepts"),
    pytest.param(
        _dump(minimal_rubric_data(concepts=[{"id": "a", "label": "A", "terms": ["x"], "weight": 0}])),
        r"concepts\[0\]\.weight: must be > 0. Got 0", id="zero-weight",
    ),
    pytest.param(
        _dump(minimal_rubric_data(concepts=[{"id": "a", "label": "A", "terms": ["x"], "weight": -2}])),
        r"concepts\[0\]\.weight: must be > 0. Got -2", id="negative-weight",
    ),
    pytest.param(
        _dump(minimal_rubric_data(concepts=[{"id": "a", "label": "A", "terms": []}])),
        r"concepts\[0\]\.terms", id="concept-without-terms",
    ),
    pytest.param(_dump(minimal_rubric_data(model_answer="   ")), r"model_answer: must not be empty", id="empty-model-answer"),
    pytest.param(_dump({k: v for k, v in minimal_rubric_data().items() if k != "model_answer"}),
                 r"model_answer: required field is missing", id="missing-model-answer"),
    pytest.param("- just\n- a list\n", r"expected a mapping", id="list-not-mapping"),
    pytest.param("", r"required field is missing", id="empty-file"),
]


@pytest.mark.parametrize(("text", "match"), BAD_RUBRICS)
def test_bad_rubric_through_library(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RubricError, match=match) as info:
        load_rubric(path)
    assert str(info.value).startswith(str(path))


@pytest.mark.parametrize(("text", "match"), BAD_RUBRICS)
def test_bad_rubric_through_cli(capsys, tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    code, out, err = _cli(capsys, "score", str(path), "--text", "Khrushchev denounced Stalin")
    line = _one_line_error(code, err, "bad.yaml")
    assert out == ""
    import re

    assert re.search(match, line), line


def test_bad_rubric_in_a_folder_names_the_file(capsys, tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(_dump(minimal_rubric_data()), encoding="utf-8")
    (tmp_path / "zbad.yaml").write_text(_dump(minimal_rubric_data(id="other", concepts=[])), encoding="utf-8")
    src = tmp_path / "in.csv"
    src.write_text("question_id,answer\nthaw,x\n", encoding="utf-8")
    _one_line_error(*_cli(capsys, "batch", str(tmp_path), str(src), "-o", str(tmp_path / "o.csv"))[::2], "zbad.yaml")


def test_non_utf8_rubric_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"id: x\ntitle: caf\xe9\n")
    with pytest.raises(RubricError, match=r"latin.yaml: not UTF-8 text \(byte 16\)"):
        load_rubric(path)


def test_rubric_validation_reports_more_problems_count() -> None:
    data = minimal_rubric_data(concepts=[{"id": "a b", "label": "A", "terms": ["x"], "weight": -1}])
    with pytest.raises(RubricError, match=r"and 1 more problem"):
        rubric_from_dict(data)
