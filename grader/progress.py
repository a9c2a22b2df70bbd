"""A progress line on stderr for long runs: rows done, rate and time left.

The bar wraps an iterator (of rows or of chunks of rows) instead of living inside the loop
that consumes it, and stays silent when asked to or when stderr is not a terminal, so logs
and pipes never fill with carriage returns.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")

REFRESH_SECONDS = 0.2
"""Redraw at most this often: drawing must cost nothing next to scoring."""


def format_duration(seconds: float) -> str:
    """``h:mm:ss`` (or ``m:ss`` under an hour) of a non-negative number of seconds.

    >>> format_duration(75), format_duration(3725.4)
    ('1:15', '1:02:05')
    """
    whole = int(max(0.0, seconds) + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_line(done: int, elapsed: float, total: int | None = None, *, unit: str = "rows") -> str:
    """The text of the bar: count (of total), rate per second and, with a total, the time left.

    ``total`` may be an estimate; the count never shows more than 100 %.

    >>> progress_line(5000, 2.0, 20000)
    '5,000/20,000 rows (25%)  2,500 rows/s  ETA 0:06'
    >>> progress_line(10, 0.0)
    '10 rows'
    """
    text = f"{done:,} {unit}"
    if total:
        total = max(total, done)
        text = f"{done:,}/{total:,} {unit} ({100 * done // total}%)"
    if elapsed <= 0 or done == 0:
        return text
    rate = done / elapsed
    text += f"  {rate:,.0f} {unit}/s"
    if total:
        text += f"  ETA {format_duration((total - done) / rate)}"
    return text


def should_show(stream: TextIO, *, quiet: bool = False) -> bool:
    """True when a bar is wanted: not ``quiet`` and ``stream`` is an interactive terminal."""
    if quiet:
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # closed or detached stream
        return False


def track(
    items: Iterable[T],
    *,
    size: Callable[[T], int] = lambda item: 1,
    total: int | None = None,
    unit: str = "rows",
    stream: TextIO | None = None,
    quiet: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[T]:
    """Yield ``items`` unchanged while drawing a progress line on ``stream`` (stderr).

    ``size(item)`` says how many units an item stands for (``len`` for chunks of rows).
    Nothing is drawn with ``quiet`` or when the stream is not a terminal; the finished
    line ends with a newline so later output starts on its own line.

    >>> list(track([[1, 2], [3]], size=len, quiet=True))
    [[1, 2], [3]]
    """
    out = sys.stderr if stream is None else stream
    if not should_show(out, quiet=quiet):
        yield from items
        return
    start = last = clock()
    done = 0
    width = 0
    try:
        for item in items:
            yield item
            done += size(item)
            now = clock()
            if now - last >= REFRESH_SECONDS:
                last = now
                width = _draw(out, progress_line(done, now - start, total, unit=unit), width)
    finally:
        final_total = done if total is not None else None  # the estimate is done: show the real count
        _draw(out, progress_line(done, clock() - start, final_total, unit=unit), width)
        out.write("\n")
        out.flush()


def _draw(stream: TextIO, text: str, width: int) -> int:
    stream.write("\r" + text.ljust(width))
    stream.flush()
    return len(text)
