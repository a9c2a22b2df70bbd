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


def _utf16_without_bom(sample: bytes) -> str | None:
    """"utf-16-le"/"utf-16-be" if every other byte is mostly NUL (Latin text in UTF-16), else None."""
    head = sample[:4096]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) >= 0.4 * len(odd) and even.count(0) <= 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) >= 0.4 * len(even) and odd.count(0) <= 0.05 * len(odd):
        return "utf-16-be"
    return None


_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")


def _mostly_latin_cp1252(sample: bytes) -> bool:
    """True if ``sample`` reads as Windows-1252 text whose letters are mostly ASCII (Western text).

    Cyrillic or Greek in a legacy code page also decodes in Windows-1252, but then almost every
    letter is non-ASCII, so those samples are left to charset-normalizer.
    """
    if b"\x00" in sample or any(b in _CP1252_UNDEFINED for b in sample):
        return False
    letters = [ch for ch in sample.decode("cp1252") if ch.isalpha()]
    if not letters:
        return True
    return sum(1 for ch in letters if not ch.isascii()) <= 0.3 * len(letters)


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
    without_bom = _utf16_without_bom(sample)  # NUL bytes are valid UTF-8, so look first
    if without_bom:
        return without_bom
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of a sample read from a longer file; a short
        # sample is the whole file, so "caf\xe9" is Windows-1252, not cut UTF-8.
        if exc.reason == "unexpected end of data" and len(sample) >= 4096:
            return "utf-8"
    if _mostly_latin_cp1252(sample):  # Excel's Western export; guessers misread short samples
        return "cp1252"
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(sample).best()
        if best is not None and best.encoding not in {"ascii", "utf_8"}:
            name = codecs.lookup(best.encoding).name
            if name in {"iso8859-1", "latin-1"}:
                return "cp1252"  # a superset in the printable range; Excel's usual export
            if not name.startswith(("utf-16", "utf-32")) or b"\x00" in sample:  # short Latin text is not UTF-16
                return name
    except ImportError:  # pragma: no cover - charset-normalizer is a dependency
        pass
    return "cp1252"


_BINARY_BYTES = frozenset(range(0, 32)) - {9, 10, 12, 13}


def looks_binary(sample: bytes) -> bool:
    """True if ``sample`` is not text: NUL bytes outside UTF-16, or many control bytes.

    >>> looks_binary(b"answer,ok"), looks_binary("ok".encode("utf-16")), looks_binary(bytes(range(256)))
    (False, False, True)
    """
    if not sample or sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if _utf16_without_bom(sample[:4096]):
        return False
    if b"\x00" in sample:
        return True
    head = sample[:4096]
    return sum(1 for b in head if b in _BINARY_BYTES) > 0.05 * len(head)


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
    if looks_binary(sample):
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
    shown = ", ".join(repr(h[:40] + ("..." if len(h) > 40 else "")) for h in header[:12])
    shown += ", ..." if len(header) > 12 else ""
    raise InputError(f"{path}: no column {wanted!r} (use {option}); columns are: {shown}")
