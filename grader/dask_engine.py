"""Batch scoring on Dask: the same chunks and the same scorer as :mod:`grader.batch`, run on a cluster.

``grader batch --engine dask`` (optional extra: ``pip install 'grader[dask]'``) starts a
``LocalCluster`` on this machine, or connects to a running scheduler given by address.
The input is read here with the same reader as the local engine (encoding detection,
broken-row handling, XLSX), cut into partitions of ``chunk_size`` rows, and scored on the
workers with :class:`grader.chunks.ChunkScorer` through ``map_partitions``; results come
back in input order and are written atomically, so the output equals the local engine's
row for row. Only a window of partitions is in flight at a time: memory stays flat.

Dask is imported only when this engine runs.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from itertools import islice
from typing import Any

from grader.batch import DEFAULT_CHUNK, BatchSummary, prepare, write_atomic
from grader.chunks import ChunkScorer, chunked
from grader.errors import GraderError
from grader.output_columns import MIXED_ENCODING, mark_for_review
from grader.rows import Layout, Row
from grader.rubric import Rubric
from grader.scorer_set import ScorerSet
from grader.tabular import close_rows

_SCORERS: dict[str, ChunkScorer] = {}
"""Worker-side scorers by rubric-set fingerprint: built once per worker process, then reused."""


def require_dask() -> tuple[Any, Any, Any]:
    """Import (dask, dask.dataframe, distributed) or raise a one-line error naming the extra."""
    try:
        import dask
        import dask.dataframe as dd
        import distributed
    except ImportError as exc:
        raise GraderError(
            f"the Dask engine needs the optional extra: pip install 'grader[dask]' ({exc})"
        ) from None
    return dask, dd, distributed


def fingerprint(scorers: ScorerSet | Mapping[str, Rubric], layout: Layout) -> str:
    """A stable id of a scorer set and row layout (workers cache their scorers under it)."""
    scorers = ScorerSet.coerce(scorers)
    h = hashlib.sha256(repr(layout).encode())
    for part, rubrics in (("scored", scorers.rubrics), ("context", scorers.context)):
        h.update(part.encode() + b"\x00")
        for rid in sorted(rubrics):
            h.update(rid.encode() + b"\x00" + rubrics[rid].model_dump_json().encode() + b"\x00")
    learned = {**scorers.learned, **layout.learned}  # learned data changes the scores too
    for rid in sorted(learned):
        h.update(rid.encode() + b"\x01" + learned[rid].model_dump_json().encode() + b"\x00")
    return h.hexdigest()


def score_partition(frame: Any, scorers: ScorerSet, layout: Layout, key: str) -> Any:
    """Score one partition (columns ``line``, ``row``) into columns ``line``, ``cells``, ``error``.

    Runs on a worker; ``cells`` are the output row (formula-safe), ``error`` the ``error_*``
    code of a row that could not be scored, or "".
    """
    import pandas as pd

    scorer = _SCORERS.get(key)
    if scorer is None:
        scorer = _SCORERS[key] = ChunkScorer(scorers, layout)
    chunk: list[Row] = list(zip(frame["line"].tolist(), frame["row"].tolist()))
    out, errors = scorer(chunk)
    codes = dict(errors)
    return pd.DataFrame(
        {
            "line": frame["line"].to_numpy(),
            "cells": pd.Series(out, index=frame.index, dtype=object),
            "error": pd.Series([codes.get(line, "") for line, _ in chunk], index=frame.index, dtype=object),
        }
    )


def _frame(chunk: list[Row]) -> Any:
    import pandas as pd

    return pd.DataFrame(
        {
            "line": pd.Series([line for line, _ in chunk], dtype="int64"),
            "row": pd.Series([row for _, row in chunk], dtype=object),
        }
    )


def connect(scheduler: str | None, *, workers: int | None = None, timeout: float = 10.0) -> tuple[Any, Any]:
    """A (client, cluster) pair: a client of ``scheduler`` (cluster None) or of a new LocalCluster."""
    import logging

    _, _, distributed = require_dask()
    if scheduler:
        try:
            return distributed.Client(scheduler, timeout=f"{timeout}s"), None
        except (OSError, TimeoutError) as exc:
            raise GraderError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
    n = workers or max(1, os.cpu_count() or 1)
    cluster = distributed.LocalCluster(
        n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
    )
    return distributed.Client(cluster), cluster


def run_batch_dask(
    rubric_path: str | os.PathLike[str],
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    answer_col: str = "answer",
    question_col: str = "question_id",
    chunk_size: int = DEFAULT_CHUNK,
    scheduler: str | None = None,
    workers: int | None = None,
    client: Any = None,
    window: int | None = None,
    connect_timeout: float = 10.0,
) -> BatchSummary:
    """Score ``input_path`` like :func:`grader.batch.run_batch`, with Dask dataframes on a cluster.

    Uses ``client`` if given, else connects to ``scheduler``, else starts a LocalCluster
    of ``workers`` processes (default: one per core) and closes it at the end. ``window``
    partitions (default: twice the workers) are scored at a time.
    """
    dask, dd, _ = require_dask()
    scorers, header, rows, layout = prepare(rubric_path, input_path, answer_col=answer_col, question_col=question_col)
    key = fingerprint(scorers, layout)
    own_client = client is None
    cluster = None
    if own_client:
        client, cluster = connect(scheduler, workers=workers, timeout=connect_timeout)
    summary = BatchSummary()
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})) or (workers or 1))
        size = window or 2 * n_workers
        meta = {"line": "int64", "cells": "object", "error": "object"}

        def scored() -> Iterator[list[list[str]]]:
            chunks = chunked(rows, chunk_size)
            while batch := list(islice(chunks, size)):
                with dask.config.set({"dataframe.convert-string": False}):
                    frames = dd.from_map(_frame, batch, meta=_frame([]), enforce_metadata=False)
                    future = client.compute(frames.map_partitions(score_partition, scorers, layout, key, meta=meta))
                    try:
                        result = future.result()
                    except ImportError as exc:  # a remote worker without grader (or with another version)
                        raise GraderError(f"the Dask workers cannot run grader ({exc}); install grader on every worker") from None
                errors = [(int(line), code) for line, code in zip(result["line"], result["error"]) if code]
                summary.add(len(result), errors)
                cells = result["cells"].tolist()
                for line, row in zip(result["line"], cells):
                    if line in layout.review_lines:
                        mark_for_review(row, MIXED_ENCODING, extra=1 if layout.learned else 0)
                yield cells

        write_atomic(output_path, header, scored(), learned=bool(layout.learned))
    finally:
        close_rows(rows)
        if own_client:
            client.close()
            if cluster is not None:
                cluster.close()
    return summary
