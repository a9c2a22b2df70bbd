"""grader.tabular: a reader that never loses a row, bounded delimiter sniffing, encodings per file."""

from __future__ import annotations

import codecs
import csv
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.cli import main
from grader.errors import InputError
from grader.tabular import BadRow, parse_records, read_table, sniff_delimiter

from conftest import SEED_DIR

POLITICS = str(SEED_DIR / "destal-politics.yaml")
GOOD = "Khrushchev denounced Stalin in the Secret Speech and prisoners were released"


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _output(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8", newline="")))


def test_unterminated_quote_loses_no_row_in_batch(capsys, tmp_path: Path) -> None:
    """Issue 12, item 2: line 5 opens a quote that never closes; the 7 rows after it must survive."""
    lines = ["question_id,student,answer"]
    for i in range(11):
        lines.append(f"destal-politics,s{i},{GOOD} {i}")
    lines[5] = 'destal-politics,sU,"I think the Thaw ended terror'
    src = tmp_path / "answers.csv"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    code, _, err = _cli(capsys, "batch", POLITICS, str(src), "-o", str(out), "--quiet")
    assert code == 0, err
    rows = _output(out)
    assert len(rows) == 11  # one output row per data line
    assert rows[4]["flags"] == "error_bad_row" and rows[4]["score"] == ""
    assert [r["student"] for i, r in enumerate(rows) if i != 4] == [f"s{i}" for i in range(11) if i != 4]
    assert all(r["score"] != "" for i, r in enumerate(rows) if i != 4)
    assert "scored 10 of 11 rows" in err and "line 6 (error_bad_row)" in err


def test_unterminated_quote_on_the_last_line_is_reported(tmp_path: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_text('q,a\n1,fine\n2,"never closed\n', encoding="utf-8")
    rows = list(read_table(src).rows)
    assert rows[0] == (2, ["1", "fine"])
    assert isinstance(rows[1][1], BadRow) and rows[1][0] == 3 and "unterminated quote" in rows[1][1].message


def test_well_formed_multiline_answers_stay_one_row(tmp_path: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_text('q,a\n1,"first paragraph,\n\nsecond ""quoted"" one"\n2,next\n', encoding="utf-8")
    rows = list(read_table(src).rows)
    assert rows == [(2, ["1", 'first paragraph,\n\nsecond "quoted" one']), (5, ["2", "next"])]


def test_quote_closed_on_a_later_row_is_not_merged(tmp_path: Path) -> None:
    # line 3's quote is closed by the quote on line 5: the csv module would make lines 3-5 one cell
    src = tmp_path / "a.csv"
    src.write_text('q,a\n1,ok\n2,"oops\n3,plain\n4,"closes here" and more\n5,end\n', encoding="utf-8")
    rows = list(read_table(src).rows)
    assert [n for n, _ in rows] == [2, 3, 4, 5, 6]
    assert isinstance(rows[1][1], BadRow) and rows[2] == (4, ["3", "plain"]) and rows[4] == (6, ["5", "end"])


def test_a_quote_running_over_too_many_lines_is_cut(tmp_path: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_text('q,a\n1,"open\n' + "".join(f"{i},row\n" for i in range(2, 500)), encoding="utf-8")
    rows = list(read_table(src).rows)
    assert len(rows) == 499 and isinstance(rows[0][1], BadRow) and rows[-1] == (500, ["499", "row"])


def _check_coverage(lines: list[str]) -> None:
    """Every non-blank line starts exactly one yielded row or lies inside a well-formed quoted cell."""
    rows = list(parse_records(enumerate(lines, start=1)))
    at = 0
    for first, cells in rows:
        while at < len(lines) and lines[at] == "\n":
            at += 1
        assert first == at + 1, (lines, rows)
        at += 1 if isinstance(cells, BadRow) else 1 + sum(c.count("\n") for c in cells)
    assert all(line == "\n" for line in lines[at:]), (lines, rows)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.text(alphabet='ab,"', max_size=8).map(lambda s: s + "\n"), min_size=1, max_size=12))
def test_no_line_is_ever_lost(lines: list[str]) -> None:
    _check_coverage(["q,a\n", *lines])


def test_sniffing_never_uses_the_backtracking_sniffer(monkeypatch, tmp_path: Path) -> None:
    """Issue 12, item 4: csv.Sniffer's regex takes seconds on lines of `x,"y`; it must not run."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("csv.Sniffer used")

    monkeypatch.setattr(csv.Sniffer, "sniff", refuse)
    src = tmp_path / "hostile.csv"
    src.write_text("question_id,answer\n" + 'x,"y\n' * 20_000, encoding="utf-8")
    table = read_table(src)
    rows = list(table.rows)
    assert table.delimiter == "," and len(rows) == 20_000  # each line a row (bad ones reported), none lost


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ('question_id;answer\nq1;"yes, and no"\nq2;"a, b, c"\n', ";"),
        ('question_id|answer\nq1|"yes, and no"\nq2|plain\n', "|"),
        ("question_id\tanswer\nq1\tyes, no\n", "\t"),
        ("question_id,answer\nq1,yes; no\n", ","),
        ("answer\nonly one column\n", ","),
    ],
)
def test_delimiters_with_quoted_commas(tmp_path: Path, text: str, delimiter: str) -> None:
    src = tmp_path / "a.csv"
    src.write_text(text, encoding="utf-8")
    table = read_table(src)
    assert table.delimiter == delimiter
    rows = list(table.rows)
    assert all(isinstance(c, list) and len(c) == len(table.header) for _, c in rows)


def test_sniff_delimiter_prefers_consistent_rows() -> None:
    assert sniff_delimiter(["a;b;c", "1;2;3", "4;5;6"]) == ";"
    assert sniff_delimiter(["a,b", "1,2", "x"]) == ","


@pytest.mark.parametrize("codec", ["utf-32", "utf-32-le", "utf-32-be"])
def test_utf32_with_bom_is_read(tmp_path: Path, codec: str) -> None:
    text = "question_id,answer\nq1,Jos\u00e9 N\u00fa\u00f1ez\n"
    data = text.encode(codec)
    if codec != "utf-32":
        data = (codecs.BOM_UTF32_LE if codec.endswith("le") else codecs.BOM_UTF32_BE) + data
    src = tmp_path / "a.csv"
    src.write_bytes(data)
    table = read_table(src)
    assert table.header == ["question_id", "answer"] and list(table.rows) == [(2, ["q1", "Jos\u00e9 N\u00fa\u00f1ez"])]


def test_mixed_encoding_is_decoded_line_by_line(tmp_path: Path) -> None:
    """Issue 12, item 7: one Windows-1252 line in a UTF-8 roster must not turn the whole file to mojibake."""
    src = tmp_path / "roster.csv"
    src.write_bytes("student,answer\nJos\u00e9 N\u00fa\u00f1ez,ok\n".encode() + "Ren\u00e9e,ok\n".encode("cp1252"))
    table = read_table(src)
    rows = list(table.rows)
    assert table.encoding == "utf-8"
    assert [c[0] for _, c in rows] == ["Jos\u00e9 N\u00fa\u00f1ez", "Ren\u00e9e"]
    assert table.fallback_lines == {3}


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/urandom"])
def test_special_files_are_refused(capsys, tmp_path: Path, special: str) -> None:
    if not Path(special).exists():
        pytest.skip(f"{special} missing")
    code, _, err = _cli(capsys, "batch", POLITICS, special, "-o", str(tmp_path / "o.csv"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and special in err and "not a regular file" in err


def test_a_fifo_named_like_a_workbook_is_refused(capsys, tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "answers.xlsx"
    os.mkfifo(fifo)
    code, _, err = _cli(capsys, "batch", POLITICS, str(fifo), "-o", str(tmp_path / "o.csv"))
    assert code == 2 and "not a regular file" in err and len(err.strip().splitlines()) == 1


def test_one_utf8_name_in_a_cp1252_file_stays_right(tmp_path: Path) -> None:
    """The other direction: the file is decided Windows-1252, one line was typed as UTF-8."""
    src = tmp_path / "roster.csv"
    src.write_bytes("student,answer\nRen\u00e9e,ok\n".encode("cp1252") + "Jos\u00e9,ok\n".encode())
    table = read_table(src)
    rows = list(table.rows)
    assert table.encoding == "cp1252"
    assert [c[0] for _, c in rows] == ["Ren\u00e9e", "Jos\u00e9"] and table.fallback_lines == {3}


@pytest.mark.parametrize(("content", "message"), [
    (b'"question_id,answer\nx,y\n', "upload.csv: line 1: cannot read the header row"),
    (b"", "upload.csv: file is empty"),
    (b"\x00\x01binary", "upload.csv: looks like a binary file"),
])
def test_errors_name_the_file_by_the_name_given(tmp_path: Path, content: bytes, message: str) -> None:
    """The app saves an upload under a digest; messages name the user's file instead."""
    saved = tmp_path / "3f2a9c.csv"
    saved.write_bytes(content)
    with pytest.raises(InputError, match=f"^{re.escape(message)}") as info:
        read_table(saved, name="upload.csv")
    assert str(tmp_path) not in str(info.value)
    with pytest.raises(InputError, match=f"^{re.escape(str(saved))}: "):
        read_table(saved)  # by default, the path
