"""Peak memory of reading a 20 MB teacher upload the way the Batch page does (not a test).

Writes a ~20 MB CSV of answers, then, in a fresh process for each step so figures do not
mix: streams it to disk in 1 MB blocks (:func:`grader.files.save_stream`, as the page does
with the uploaded file), and parses it into the header and the list of rows the page keeps
(:func:`grader.tabular.read_table`). Reports the peak Python allocation during the parse
(tracemalloc) against the memory the parsed rows occupy once read, and the process's peak
RSS. The bound it checks: peak < 2 x the parsed size (figures in docs/trust.md, "Sizes").

Usage: ``.venv/bin/python benchmarks/upload_memory.py [--mb 20]``
"""

from __future__ import annotations

import argparse
import io
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = ("Khrushchev denounced Stalin in the Secret Speech of 1956 political prisoners were released from the gulag "
         "censorship relaxed during the Thaw café naïve détente").split()


def make_csv(path: Path, megabytes: float, seed: int = 0) -> int:
    """A CSV of student answers about ``megabytes`` MB large; returns its number of data rows."""
    rng = random.Random(seed)
    target = int(megabytes * 1024 * 1024)
    size, rows = 0, 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("student,question_id,answer\n")
        while size < target:
            answer = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(20, 90)))
            if rng.random() < 0.1:
                answer = f'"{answer}, with a comma\nand a second line"'
            line = f"student {rows},destal-politics,{answer}\n"
            fh.write(line)
            size += len(line.encode())
            rows += 1
    return rows


def measure(path: str) -> dict[str, float]:
    """In this process: stream ``path`` to disk as the page does, then parse it; memory figures."""
    from grader.files import save_stream
    from grader.tabular import read_table

    with tempfile.TemporaryDirectory() as uploads:
        tracemalloc.start()
        with open(path, "rb") as src:
            stored, _ = save_stream(src, uploads, suffix=".csv", max_bytes=1 << 30)
        copy_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        start = time.perf_counter()
        table = read_table(stored)
        rows = list(table.rows)
        seconds = time.perf_counter() - start
        retained, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "rows": len(rows),
        "copy_peak_mb": copy_peak / 2**20,
        "parsed_mb": (retained - before) / 2**20,
        "parse_peak_mb": (peak - before) / 2**20,
        "parse_seconds": seconds,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20.0, help="size of the generated CSV (default: 20 MB)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "answers.csv"
        n = make_csv(src, args.mb)
        size = src.stat().st_size / 2**20
        out = subprocess.run([sys.executable, __file__, "--measure", str(src)], check=True, capture_output=True, text=True)
        m = json.loads(out.stdout)
    ratio = m["parse_peak_mb"] / m["parsed_mb"]
    print(f"file: {size:.1f} MB, {n:,} rows ({m['rows']:,} read)")
    print(f"copy to disk: peak {m['copy_peak_mb']:.1f} MB allocated (1 MB blocks)")
    print(f"parse: {m['parse_seconds']:.1f} s; parsed rows occupy {m['parsed_mb']:.1f} MB; "
          f"peak during the parse {m['parse_peak_mb']:.1f} MB = {ratio:.2f} x the parsed size")
    print(f"process peak RSS: {m['max_rss_mb']:.0f} MB")
    return 0 if ratio < 2 and m["rows"] == n else 1


if __name__ == "__main__":
    sys.exit(main())
