"""Reading and writing tables of answers: encoding detection, row streaming, safe CSV cells."""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

from grader.errors import InputError

SAMPLE_BYTES = 256 * 1024
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

csv.field_size_limit(16 * 1024 * 1024)


def detect_encoding(sample: bytes) -> str:
    """Guess the text encoding of a file from its first bytes.

    BOMs win; then strict UTF-8; then charset-normalizer's best guess; then Windows-1252,
    which decodes every byte (so reading never fails on an odd byte).

    >>> detect_encoding("caf\u00e9".encode("utf-8")), detect_encoding("caf\u00e9".encode("cp1252"))
    ('utf-8', 'cp1252')
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start > len(sample) - 4:  # a multi-byte character cut by the sample's end
            return "utf-8"
    if len(sample) >= 4 and sample[1:4:2] == b"\x00\x00":  # UTF-16 without BOM
        return "utf-16-le"
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(sample).best()
        if best is not None and best.encoding not in {"ascii", "utf_8"}:
            name = codecs.lookup(best.encoding).name
            if name in {"iso8859-1", "latin-1"}:
                return "cp1252"  # a superset in the printable range; Excel's usual export
            return name
    except ImportError:  # pragma: no cover - charset-normalizer is a dependency
        pass
    return "cp1252"


def open_text(path: str | os.PathLike[str]) -> io.TextIOWrapper:
    """Open a text file in its detected encoding, replacing undecodable bytes (never raising)."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            sample = fh.read(SAMPLE_BYTES)
    except FileNotFoundError:
        raise InputError(f"{p}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{p}: is a directory, expected a file") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read file ({exc.strerror})") from None
    if b"\x00" in sample and detect_encoding(sample).startswith("utf-8") and not sample.startswith(codecs.BOM_UTF8):
        raise InputError(f"{p}: looks like a binary file, not CSV text")
    return open(p, encoding=detect_encoding(sample), errors="replace", newline="")


def is_excel(path: str | os.PathLike[str]) -> bool:
    """True for .xlsx/.xlsm files (by extension and zip signature)."""
    p = Path(path)
    if p.suffix.lower() not in {".xlsx", ".xlsm"}:
        return False
    try:
        with p.open("rb") as fh:
            return fh.read(2) == b"PK"
    except OSError:
        return False


def read_rows(path: str | os.PathLike[str]) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """Return (header, iterator of (line number, row)) for a CSV or XLSX file, streamed.

    Raises :class:`InputError` for an empty file or a file without a header.
    """
    if is_excel(path):
        return _read_xlsx(path)
    fh = open_text(path)
    sample = fh.read(SAMPLE_BYTES)
    fh.seek(0)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        if dialect.delimiter not in ",;\t":
            dialect = csv.excel
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(fh, dialect)
    try:
        header = next(reader)
    except StopIteration:
        fh.close()
        raise InputError(f"{path}: file is empty (expected a header row)") from None
    except csv.Error as exc:
        fh.close()
        raise InputError(f"{path}: line 1: cannot parse CSV ({exc})") from None
    header = [h.strip().lstrip("\ufeff") for h in header]
    if not any(header):
        fh.close()
        raise InputError(f"{path}: line 1: header row is empty")

    def rows() -> Iterator[tuple[int, list[str]]]:
        with fh:
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield reader.line_num, ["\x00csv-error", str(exc)]
                    continue
                if row:
                    yield reader.line_num, row

    return header, rows()


def _read_xlsx(path: str | os.PathLike[str]) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    try:
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a broken file
        raise InputError(f"{path}: cannot read Excel file ({type(exc).__name__})") from None
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    try:
        header = ["" if v is None else str(v).strip() for v in next(it)]
    except StopIteration:
        wb.close()
        raise InputError(f"{path}: sheet is empty (expected a header row)") from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for n, values in enumerate(it, start=2):
                row = ["" if v is None else _cell_text(v) for v in values]
                if any(row):
                    yield n, row
        finally:
            wb.close()

    return header, rows()


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def safe_cell(value: object) -> str:
    """Neutralise spreadsheet formulas: prefix ``'`` to text starting with = + - @ tab or CR.

    Plain numbers (including negative ones) are left alone.

    >>> safe_cell("=HYPERLINK(1)"), safe_cell("-2.5"), safe_cell("ok")
    ("'=HYPERLINK(1)", '-2.5', 'ok')
    """
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text


def find_column(header: list[str], wanted: str, *, path: str, option: str) -> int:
    """Index of column ``wanted`` (case- and space-insensitive) or an InputError naming it."""
    norm = [h.strip().lower() for h in header]
    key = wanted.strip().lower()
    if key in norm:
        return norm.index(key)
    shown = ", ".join(repr(h) for h in header[:12])
    raise InputError(f"{path}: no column {wanted!r} (use {option}); columns are: {shown}")
