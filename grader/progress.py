"""A progress bar on stderr for long runs (tqdm): rows done, rate and time left.

The bar wraps an iterator (of rows or of chunks of rows) instead of living inside the loop
that consumes it, and stays silent when asked to or when stderr is not a terminal, so logs
and pipes never fill with carriage returns.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO, TypeVar

from tqdm import tqdm

T = TypeVar("T")

REFRESH_SECONDS = 0.2
"""Redraw at most this often: drawing must cost nothing next to scoring."""


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
) -> Iterator[T]:
    """Yield ``items`` unchanged while drawing a progress bar on ``stream`` (stderr).

    ``size(item)`` says how many units an item stands for (``len`` for chunks of rows);
    ``total`` may be an estimate. Nothing is drawn with ``quiet`` or when the stream is not
    a terminal.

    >>> list(track([[1, 2], [3]], size=len, quiet=True))
    [[1, 2], [3]]
    """
    out = sys.stderr if stream is None else stream
    if not should_show(out, quiet=quiet):
        yield from items
        return
    with tqdm(total=total, unit=f" {unit}", unit_scale=False, file=out, mininterval=REFRESH_SECONDS, dynamic_ncols=True) as bar:
        for item in items:
            yield item
            bar.update(size(item))
        if total is not None and bar.n != total:  # the estimate is done: show the real count
            bar.total = bar.n
            bar.refresh()
