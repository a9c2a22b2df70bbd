"""Reading and writing tables of answers: encoding detection, row streaming, safe CSV cells."""

from __future__ import annotations

import codecs
import csv
import io
import os
import itertools
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import InputError, MissingColumnError

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


def _mostly_utf8(sample: bytes) -> bool:
    """True if ``sample`` holds more well-formed UTF-8 multi-byte characters than invalid bytes.

    Evidence that a file is UTF-8 with a few stray bytes (one cell typed in another program),
    not a legacy code page: Windows-1252 text almost never forms valid UTF-8 sequences.
    """
    text = sample.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd")
    valid = sum(1 for ch in text if ch > "\x7f") - invalid
    return valid >= 2 and valid > invalid


def detect_encoding(sample: bytes) -> str:
    """Guess the text encoding of a file from its first bytes.

    BOMs win; then strict UTF-8, or UTF-8 if well-formed multi-byte characters outnumber
    invalid bytes (the reader then decodes the odd line with :data:`FALLBACK_ENCODING`);
    then charset-normalizer's best guess; then Windows-1252, which decodes every byte.

    >>> detect_encoding("caf\u00e9".encode("utf-8")), detect_encoding("caf\u00e9".encode("cp1252"))
    ('utf-8', 'cp1252')
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # before UTF-16: FF FE 00 00 starts both
        return "utf-32"
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
    if _mostly_utf8(sample):  # a UTF-8 file with a few stray legacy bytes: read line by line
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
    if not sample or sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)):
        return False
    if _utf16_without_bom(sample[:4096]):
        return False
    if b"\x00" in sample:
        return True
    head = sample[:4096]
    return sum(1 for b in head if b in _BINARY_BYTES) > 0.05 * len(head)


def open_text(path: str | os.PathLike[str]) -> io.TextIOWrapper:
    """Open a text file in its detected encoding, replacing undecodable bytes (never raising)."""
    p, sample = _sample(path)
    return open(p, encoding=detect_encoding(sample), errors="replace", newline="")


def _sample(path: str | os.PathLike[str], name: str | None = None) -> tuple[Path, bytes]:
    """(path, its first bytes) of a regular text file, or a one-line InputError naming ``name`` (default: the path)."""
    p = Path(path)
    name = str(p) if name is None else name
    try:
        if not p.is_dir() and p.exists() and not p.is_file():  # FIFO, device: reading could hang or never end
            raise InputError(f"{name}: not a regular file")
        with p.open("rb") as fh:
            sample = fh.read(SAMPLE_BYTES)
    except FileNotFoundError:
        raise InputError(f"{name}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory, expected a file") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read file ({exc.strerror})") from None
    if looks_binary(sample):
        raise InputError(f"{name}: looks like a binary file, not CSV text")
    return p, sample


def is_excel(path: str | os.PathLike[str]) -> bool:
    """True for .xlsx/.xlsm files (by extension and zip signature)."""
    p = Path(path)
    if p.suffix.lower() not in {".xlsx", ".xlsm"} or not p.is_file():  # a FIFO named .xlsx would block
        return False
    try:
        with p.open("rb") as fh:
            return fh.read(2) == b"PK"
    except OSError:
        return False


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row the reader could not parse: where it starts, its ``error_*`` code and why.

    Yielded in place of the row's cells, so the row stays in every output (nothing dropped).
    """

    line: int
    code: str
    message: str


Cells = list[str] | BadRow
"""What the reader yields for one row: its cells, or a :class:`BadRow`."""

DELIMITERS = ",;\t|"
SNIFF_LINES = 50
"""Lines looked at to choose the delimiter (each candidate is parsed by the C csv reader: linear)."""
MAX_RECORD_LINES = 200
"""A quoted cell may hold line breaks, but a row running over more lines than this is a broken quote."""
MAX_RECORD_CHARS = 1_000_000
"""Same bound in characters (20,000-character answers fit many times over)."""
FALLBACK_ENCODING = "cp1252"
"""Bytes that are not UTF-8 in a UTF-8 file are read as Windows-1252 (Excel's Western export)."""


def _decode_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start : exc.end].decode(FALLBACK_ENCODING, errors="replace"), exc.end


codecs.register_error("grader-cp1252", _decode_fallback)


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter among ``, ; tab |`` that splits the first lines most consistently.

    Each candidate is parsed with the C csv reader (no regular expression, so the time is
    linear in the sample, unlike :class:`csv.Sniffer`); the header must split into 2+
    columns and the most rows must have as many cells as the header. Comma wins ties.

    >>> sniff_delimiter(['id;answer', '1;"yes, really"']), sniff_delimiter(['a,b', '1,2'])
    (';', ',')
    """
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = [r for r in csv.reader(lines[:SNIFF_LINES], delimiter=delimiter) if r]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        score = (sum(len(r) == width for r in rows) / len(rows), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


@dataclass
class TextLines:
    """The lines of a text file (line endings kept), decoded one by one.

    ``encoding`` is the file's encoding. A line that evidently has another one is decoded
    on its own and its number kept in ``fallback_lines`` (its row is then flagged for review):
    in a UTF-8 file, a line that is not valid UTF-8 (a Windows-1252 cell pasted in) has its
    bad bytes read as :data:`FALLBACK_ENCODING`; in a single-byte code page file, a line
    that is valid UTF-8 with non-ASCII characters is read as UTF-8.
    """

    path: Path
    encoding: str
    fallback_lines: set[int] = field(default_factory=set)

    def __iter__(self) -> Iterator[tuple[int, str]]:
        if self.encoding.startswith(("utf-16", "utf-32")):  # not byte-oriented: decode as a stream
            with open(self.path, encoding=self.encoding, errors="replace", newline="") as fh:
                yield from enumerate(fh, start=1)
            return
        utf8 = self.encoding in {"utf-8", "utf-8-sig"}
        single_byte = codecs.lookup(self.encoding).name.startswith(_SINGLE_BYTE)
        # latin-1 maps bytes to characters one to one: newline="" splits on \n, \r\n and \r
        # like the csv module expects, and encoding back gives each line's bytes.
        with open(self.path, encoding="latin-1", newline="") as fh:
            for n, line in enumerate(fh, start=1):
                raw = line.encode("latin-1")
                if n == 1 and raw.startswith(codecs.BOM_UTF8):
                    raw = raw[len(codecs.BOM_UTF8) :]
                if utf8:
                    try:
                        yield n, raw.decode("utf-8")
                    except UnicodeDecodeError:
                        self.fallback_lines.add(n)
                        yield n, raw.decode("utf-8", errors="grader-cp1252")
                    continue
                if single_byte and not raw.isascii():
                    try:
                        text = raw.decode("utf-8")  # code page text almost never forms valid UTF-8
                    except UnicodeDecodeError:
                        pass
                    else:
                        self.fallback_lines.add(n)
                        yield n, text
                        continue
                yield n, raw.decode(self.encoding, errors="replace")


_SINGLE_BYTE = ("cp125", "iso8859", "latin", "koi8", "mac-")


class _RecordTooLong(Exception):
    """Raised through the csv reader when a row runs over too many lines (a broken quote)."""


class _LineFeed:
    """Feeds lines to :func:`csv.reader`, remembering those of the current row; lines can be put back."""

    def __init__(self, lines: Iterator[tuple[int, str]]) -> None:
        self._lines = lines
        self._back: deque[tuple[int, str]] = deque()
        self.used: list[tuple[int, str]] = []
        self._chars = 0

    def __iter__(self) -> "_LineFeed":
        return self

    def __next__(self) -> str:
        item = self._back.popleft() if self._back else next(self._lines)
        self.used.append(item)
        self._chars += len(item[1])
        if len(self.used) > MAX_RECORD_LINES or self._chars > MAX_RECORD_CHARS:
            raise _RecordTooLong
        return item[1]

    def start_record(self) -> None:
        """Forget the lines of the previous row."""
        self.used = []
        self._chars = 0

    def put_back(self, items: list[tuple[int, str]]) -> None:
        """Read ``items`` again, before any new line."""
        self._back.extendleft(reversed(items))


def _strict_problem(text: str, dialect: type[csv.Dialect] | csv.Dialect) -> str | None:
    """Why ``text`` (one row, maybe over several lines) is not well-formed CSV, or None."""
    try:
        rows = list(csv.reader([text], dialect, strict=True))
    except csv.Error as exc:
        return str(exc)
    return None if len(rows) == 1 else "more than one row"


def parse_records(
    lines: Iterable[tuple[int, str]], dialect: type[csv.Dialect] | csv.Dialect = csv.excel
) -> Iterator[tuple[int, Cells]]:
    r"""(first line, cells or :class:`BadRow`) for each row of CSV ``lines``; blank lines skipped.

    Never loses a line: a quote left open (or closed in the wrong place) would make the
    csv module merge the following lines into one cell. Such a row is reported as a
    ``BadRow`` at its first line, and the lines after it are read again as rows of their
    own. A row over several lines is kept only if it is well-formed CSV with the header's
    number of cells (the first row read is the header). Every non-blank line is the first
    line of exactly one yielded row or inside a well-formed quoted cell.

    >>> rows = list(parse_records(enumerate(['q,a\n', '1,"open\n', '2,fine\n'], start=1)))
    >>> [(n, c if isinstance(c, list) else c.code) for n, c in rows]
    [(1, ['q', 'a']), (2, 'error_bad_row'), (3, ['2', 'fine'])]
    """
    feed = _LineFeed(iter(lines))
    reader = csv.reader(feed, dialect)
    width: int | None = None
    while True:
        feed.start_record()
        problem: str | None = None
        try:
            cells = next(reader)
        except StopIteration:
            return
        except _RecordTooLong:
            problem = f"a quoted cell runs over more than {MAX_RECORD_LINES} lines or {MAX_RECORD_CHARS:,} characters"
        except csv.Error as exc:
            problem = f"cannot parse CSV ({exc})"
        used = feed.used
        if not used:
            return
        if problem is None:
            problem = _row_shape_problem(cells, used, len(cells) if width is None else width, dialect)
        if problem is None:
            if cells:
                if width is None:
                    width = len(cells)
                yield used[0][0], cells
            continue
        feed.put_back(used[1:])
        reader = csv.reader(feed, dialect)
        yield used[0][0], BadRow(used[0][0], "error_bad_row", problem)


def _row_shape_problem(
    cells: list[str], used: list[tuple[int, str]], width: int, dialect: type[csv.Dialect] | csv.Dialect
) -> str | None:
    """Why a parsed row must be re-read line by line (a quote opened and not closed), or None."""
    quote = dialect.quotechar or '"'
    if len(used) == 1:
        text = used[0][1]
        if quote in text and (_strict_problem(text, dialect) or "").startswith("unexpected end of data"):
            return _UNTERMINATED
        return None
    if _strict_problem("".join(t for _, t in used), dialect) is not None:
        return _UNTERMINATED
    if len(cells) < width or any(c.strip() for c in cells[width:]):
        return (
            f"a quoted cell over lines {used[0][0]}-{used[-1][0]} gives {len(cells)} cells, not {width}; "
            "the lines after it are read as rows of their own"
        )
    return None


_UNTERMINATED = "unterminated quote: the quoted cell that starts here never closes; the lines after it are read as rows of their own"


@dataclass
class Table:
    """A table being read: its header, its rows (streamed once) and what reading found.

    ``rows`` yields (first line, cells or :class:`BadRow`); ``encoding`` says how the file
    was decoded and ``fallback_lines`` which lines needed the fallback (filled as rows are read).
    """

    path: Path
    header: list[str]
    rows: Iterator[tuple[int, Cells]]
    encoding: str = "utf-8"
    delimiter: str = ","
    fallback_lines: set[int] = field(default_factory=set)


def read_table(path: str | os.PathLike[str], *, name: str | None = None) -> Table:
    """Open a CSV or XLSX file as a :class:`Table` (header read, rows streamed).

    Raises :class:`InputError` (one line naming the file) for a missing, special, binary
    or empty file or a file without a header. ``name`` is how messages name the file
    (default: its path), e.g. the name of an upload the app saved under another name.
    """
    name = str(path) if name is None else name
    if is_excel(path):
        header, rows = _read_xlsx(path, name)
        return Table(Path(path), header, rows, encoding="xlsx", delimiter="")
    p, sample = _sample(path, name)
    encoding = detect_encoding(sample)
    text = TextLines(p, encoding)
    sniffing = iter(TextLines(p, encoding))
    head = [line for _, line in itertools.islice(sniffing, SNIFF_LINES)]
    sniffing.close()  # type: ignore[attr-defined]  (a generator: closes its file now)
    dialect = csv.excel()
    dialect.delimiter = sniff_delimiter(head)  # type: ignore[misc]
    rows = parse_records(iter(text), dialect)
    try:
        first = next(rows)
    except StopIteration:
        raise InputError(f"{name}: file is empty (expected a header row)") from None
    line, header_cells = first
    if isinstance(header_cells, BadRow):
        rows.close()
        raise InputError(f"{name}: line {line}: cannot read the header row ({header_cells.message})")
    header = [h.strip().lstrip("\ufeff") for h in header_cells]
    if not any(header):
        rows.close()
        raise InputError(f"{name}: line {line}: header row is empty")
    return Table(p, header, rows, encoding=encoding, delimiter=dialect.delimiter, fallback_lines=text.fallback_lines)


def read_rows(path: str | os.PathLike[str], *, name: str | None = None) -> tuple[list[str], Iterator[tuple[int, Cells]]]:
    """Return (header, iterator of (line number, cells or :class:`BadRow`)) for a CSV or XLSX file, streamed.

    Raises :class:`InputError` for an empty file or a file without a header (naming the
    file ``name``, default its path: see :func:`read_table`).
    """
    table = read_table(path, name=name)
    return table.header, table.rows


def close_rows(rows: Iterable[object]) -> None:
    """Close a table's row stream (and so its file) before it is read to the end; other iterables are left alone."""
    close = getattr(rows, "close", None)
    if close is not None:
        close()


def _read_xlsx(path: str | os.PathLike[str], name: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    try:
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a broken file
        raise InputError(f"{name}: cannot read Excel file ({type(exc).__name__})") from None
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    try:
        header = ["" if v is None else str(v).strip() for v in next(it)]
    except StopIteration:
        wb.close()
        raise InputError(f"{name}: sheet is empty (expected a header row)") from None

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


def find_column(header: list[str], wanted: str, *, path: str, option: str | None = None) -> int:
    """Index of column ``wanted`` (case- and space-insensitive), or a :class:`MissingColumnError`
    naming it, the columns there are and (if given) the ``option`` that sets it."""
    norm = [h.strip().lower() for h in header]
    key = wanted.strip().lower()
    if key in norm:
        return norm.index(key)
    shown = ", ".join(repr(h[:40] + ("..." if len(h) > 40 else "")) for h in header[:12])
    shown += ", ..." if len(header) > 12 else ""
    raise MissingColumnError(path, wanted, shown, option=option)
