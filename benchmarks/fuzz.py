"""Fuzz the library and the CLI with random inputs; nothing may raise.

Inputs are drawn from a seeded generator mixing arbitrary Unicode (lone surrogates, control
characters, emoji, right-to-left text, combining marks), word soup from the rubrics,
spreadsheet formulas, very long strings, and raw bytes. Checks:

* library: ``Scorer.score_many`` on every answer (score within [0, max_score], flags well
  formed), ``check_answer``, ``tokenize``; ``detect_encoding``/``looks_binary`` on random
  bytes; ``rubric_from_yaml`` on mutated rubric YAML raises only ``RubricError``;
* readers: hostile CSV files (stray and unterminated quotes, ``, ; | tab`` delimiters, CR/LF
  mixes, Windows-1252 lines in UTF-8, UTF-16/32) through :func:`grader.tabular.read_table`:
  only ``InputError`` may be raised, and every non-blank line must start exactly one row or
  lie inside a well-formed quoted cell (no line lost or merged); the same file through
  ``grader batch`` must give one output row per row read;
* CLI (in-process ``grader.cli.main``): ``score --text`` and ``score --file`` (random bytes),
  ``batch`` on CSV files of random answers in random encodings (every answer is an input),
  and ``score`` with mutated rubric files. Exit code must be 0 or 2; on 2, stderr is one
  line without a traceback.

Usage: ``.venv/bin/python benchmarks/fuzz.py [--answers 10000] [--cli-texts 150] [--seed 1]``
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.cli import main  # noqa: E402
from grader.errors import GraderError, RubricError  # noqa: E402
from grader.integrity import check_answer  # noqa: E402
from grader.rubric import load_rubrics, rubric_from_yaml, rubric_to_yaml  # noqa: E402
from grader.scoring import Scorer  # noqa: E402
from grader.errors import InputError  # noqa: E402
from grader.tabular import BadRow, TextLines, detect_encoding, looks_binary, parse_records, read_table, sniff_delimiter  # noqa: E402
from grader.text import tokenize  # noqa: E402

SEED_DIR = ROOT / "rubrics" / "destalinization"
ODD = ["\x00", "\x07", "\x1b[31m", "\u200b", "\u202e", "\ufeff", "\ud800", "\udcff", "\U0001F600", "\u0301",
       "\r\n", "\t", "\u2028", "ﷺ", "𝕏", "Ω", "İ", "ß", "\\", '"', "'", ",", ";", "\n", "=", "+", "-", "@"]


def random_text(rng: random.Random, words: list[str]) -> str:
    """One random answer of a randomly chosen kind."""
    kind = rng.randrange(8)
    if kind == 0:
        return "".join(chr(rng.randrange(0x110000)) for _ in range(rng.randrange(60)))
    if kind == 1:
        return "".join(chr(rng.randrange(32, 127)) for _ in range(rng.randrange(300)))
    if kind == 2:
        return " ".join(rng.choice(words) for _ in range(rng.randrange(120)))
    if kind == 3:
        return "".join(rng.choice(ODD + words) for _ in range(rng.randrange(80)))
    if kind == 4:
        return rng.choice("=+-@\t\r") + " ".join(rng.choice(words) for _ in range(rng.randrange(20)))
    if kind == 5:
        return rng.choice(words) * rng.randrange(1, 6000)
    if kind == 6:
        return rng.randbytes(rng.randrange(200)).decode("latin-1")
    return ""


def mutate_yaml(rng: random.Random, text: str) -> str:
    """Delete, duplicate or replace a few characters or lines of a rubric's YAML."""
    lines = text.splitlines()
    for _ in range(rng.randrange(1, 4)):
        if not lines:
            break
        i = rng.randrange(len(lines))
        op = rng.randrange(5)
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[i])
        elif op == 2:
            j = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:j] + rng.choice(ODD + [":", "-", "[", "{", "&a", "*a", "!!python/object", "  "]) + lines[i][j:]
        elif op == 3:
            lines[i] = lines[i].replace(rng.choice(["weight: 2", "weight: 1.5", "id:", "terms:"]), rng.choice(["weight: -1", "weight: 0", "idx:", "terms: []"]))
        else:
            lines[i] = " " * rng.randrange(4) + lines[i]
    return "\n".join(lines) + "\n"


CSV_BITS = ['"', '"', ",", ",", ";", "|", "\t", "\n", "\n", "\r\n", "\r", '""', "a", "word ", "\u00e9", " ", "x,y"]


def hostile_csv(rng: random.Random) -> bytes:
    """A small CSV-like file built to break readers: quotes, delimiters and encodings mixed."""
    delimiter = rng.choice(",;|\t")
    lines = [delimiter.join(["question_id", "answer"])]
    for _ in range(rng.randrange(1, 30)):
        lines.append("".join(rng.choice(CSV_BITS) for _ in range(rng.randrange(12))).replace(",", delimiter))
    text = "\n".join(lines) + rng.choice(["", "\n", "\r\n"])
    kind = rng.randrange(5)
    if kind == 0:  # UTF-8 with one Windows-1252 line
        parts = text.split("\n")
        i = rng.randrange(len(parts))
        return "\n".join(parts[:i]).encode() + ("\n" if i else "").encode() + "\n".join(parts[i:]).encode("cp1252", "replace")
    if kind == 1:
        return text.encode(rng.choice(["utf-16", "utf-32", "utf-8-sig", "cp1252"]), "replace")
    return text.encode("utf-8")


def check_no_line_lost(path: Path) -> int:
    """Read ``path`` as the CLI and app do; assert every line is accounted for; return rows read."""
    try:
        table = read_table(path)
    except InputError:
        return -1
    rows = list(table.rows)
    lines = [line for _, line in TextLines(path, table.encoding)]
    dialect = csv.excel()
    dialect.delimiter = sniff_delimiter(lines[:50])  # type: ignore[misc]
    again = list(parse_records(enumerate(lines, start=1), dialect))
    if [n for n, _ in again][1:] != [n for n, _ in rows]:
        raise AssertionError("read_table and parse_records disagree")
    at = 0
    for first, cells in again:
        while at < len(lines) and lines[at] in ("\n", "\r\n", "\r"):
            at += 1
        if first != at + 1:
            raise AssertionError(f"line {at + 1} lost (next row starts at {first})")
        at += 1 if isinstance(cells, BadRow) else 1 + sum(c.count("\n") + c.count("\r") - c.count("\r\n") for c in cells)
    if any(line not in ("\n", "\r\n", "\r") for line in lines[at:]):
        raise AssertionError(f"lines after {at} lost")
    return len(rows)


class Fuzz:
    """Counts inputs and collects failures (exceptions that should not happen)."""

    def __init__(self) -> None:
        self.inputs = 0
        self.failures: list[str] = []

    def check(self, what: str, fn: Callable[[], None]) -> None:
        self.inputs += 1
        try:
            fn()
        except Exception:  # noqa: BLE001 - every unexpected exception is a finding
            self.failures.append(f"{what}: {traceback.format_exc(limit=3)}")

    def cli(self, what: str, argv: list[str], *, count: int = 1) -> None:
        out, err = io.StringIO(), io.StringIO()
        self.inputs += count - 1

        def run() -> None:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main(argv)
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 1
            text = err.getvalue()
            if code not in (0, 2):
                raise AssertionError(f"exit {code}: {text[-300:]}")
            if "Traceback" in text:
                raise AssertionError(f"traceback on stderr: {text[-300:]}")
            if code == 2 and len(text.strip().splitlines()) != 1:
                raise AssertionError(f"error is not one line: {text[:300]!r}")

        self.check(what, run)


def main_fuzz(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=10_000, help="random answers for the library and for CLI batch")
    parser.add_argument("--cli-texts", type=int, default=150, help="separate `grader score --text` calls (slow: one rubric load each)")
    parser.add_argument("--files", type=int, default=300, help="random files (answer files, CSVs, rubrics) through the CLI")
    parser.add_argument("--csv-files", type=int, default=500, help="hostile CSV files through the reader and `grader batch`")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    rubrics = load_rubrics(SEED_DIR)
    scorers = {rid: Scorer(r) for rid, r in rubrics.items()}
    words = sorted({w for r in rubrics.values() for w in (r.model_answer + " " + r.question).split()})
    answers = [random_text(rng, words) for _ in range(args.answers)]
    fuzz = Fuzz()
    started = time.perf_counter()

    # Library: every answer against one rubric (round robin), scored in vectorised batches.
    ids = sorted(scorers)
    for k, rid in enumerate(ids):
        chunk = answers[k :: len(ids)]
        scorer = scorers[rid]

        def score_chunk(chunk: list[str] = chunk, scorer: Scorer = scorer) -> None:
            for answer, result in zip(chunk, scorer.score_many(chunk)):
                if not 0 <= result.score <= result.max_score:
                    raise AssertionError(f"score {result.score} out of range for {answer[:80]!r}")
                for f in result.flags:
                    if not (f.code and f.message) or f.cap is not None and not 0 <= f.cap <= 1:
                        raise AssertionError(f"bad flag {f} for {answer[:80]!r}")
                check_answer(answer, tokenize(answer), scorer.context_)

        fuzz.check(f"library score_many[{rid}]", score_chunk)
        fuzz.inputs += len(chunk) - 1
    library_answers = fuzz.inputs
    for _ in range(args.files):
        data = rng.randbytes(rng.randrange(2000))
        fuzz.check("detect_encoding", lambda data=data: (data.decode(detect_encoding(data), "replace"), looks_binary(data)))
    seed_yaml = [rubric_to_yaml(r) for r in rubrics.values()]
    for _ in range(args.files):
        text = mutate_yaml(rng, rng.choice(seed_yaml))

        def parse(text: str = text) -> None:
            try:
                rubric_from_yaml(text, source="fuzz.yaml")
            except RubricError:
                pass

        fuzz.check("rubric_from_yaml", parse)
    library_seconds = time.perf_counter() - started

    # CLI, in-process.
    started = time.perf_counter()
    politics = str(SEED_DIR / "destal-politics.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        for i in range(args.cli_texts):
            fuzz.cli("score --text", ["score", politics, "--text", answers[i], "--json"])
        for i in range(args.files // 3):
            path = tmpdir / f"answer{i}.txt"
            path.write_bytes(rng.randbytes(rng.randrange(3000)) if i % 2 else answers[i].encode("utf-8", "surrogatepass"))
            fuzz.cli("score --file", ["score", politics, "--file", str(path)])
        encodings = ["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]
        per_file = 2000
        for n, start in enumerate(range(0, len(answers), per_file)):
            part = answers[start : start + per_file]
            buf = io.StringIO()
            writer = csv.writer(buf)
            writer.writerow(["question_id", "answer"])
            writer.writerows([rng.choice(ids), a] for a in part)
            src = tmpdir / f"batch{n}.csv"
            src.write_bytes(buf.getvalue().encode(encodings[n % len(encodings)], errors="replace"))
            fuzz.cli("batch", ["batch", str(SEED_DIR), str(src), "-o", str(tmpdir / f"out{n}.csv")], count=len(part))
        for i in range(args.csv_files):
            src = tmpdir / f"hostile{i}.csv"
            src.write_bytes(hostile_csv(rng))
            out_path = tmpdir / "hostile-out.csv"

            def reader(src: Path = src, out_path: Path = out_path) -> None:
                n = check_no_line_lost(src)
                out_path.unlink(missing_ok=True)
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
                    code = main(["batch", politics, str(src), "-o", str(out_path), "--answer-col", "answer", "--quiet"])
                if code not in (0, 2) or "Traceback" in err.getvalue():
                    raise AssertionError(f"batch exit {code}: {err.getvalue()[-300:]}")
                if code == 0:
                    with out_path.open(encoding="utf-8", newline="") as fh:
                        written = sum(1 for _ in csv.reader(fh)) - 1
                    if written != n:
                        raise AssertionError(f"{n} rows read, {written} written")

            fuzz.check("hostile csv", reader)
        for i in range(args.files // 3):
            src = tmpdir / f"random{i}.csv"
            src.write_bytes(rng.randbytes(rng.randrange(4000)))
            fuzz.cli("batch random bytes", ["batch", politics, str(src), "-o", str(tmpdir / "rand-out.csv")])
        for i in range(args.files // 3):
            path = tmpdir / f"rubric{i}.yaml"
            path.write_text(mutate_yaml(rng, rng.choice(seed_yaml)), encoding="utf-8", errors="surrogatepass")
            fuzz.cli("score mutated rubric", ["score", str(path), "--text", answers[i]])
    cli_seconds = time.perf_counter() - started

    print(f"fuzz seed {args.seed}: {fuzz.inputs} inputs ({library_answers} answers through the library in "
          f"{library_seconds:.1f}s; {fuzz.inputs - library_answers} through the CLI and parsers in {cli_seconds:.1f}s)")
    print(f"failures: {len(fuzz.failures)}")
    for failure in fuzz.failures[:10]:
        print("-", failure)
    return 1 if fuzz.failures else 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        raise SystemExit(main_fuzz())
