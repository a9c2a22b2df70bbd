"""The columns a scored table gets: their header and the cells of a scored or unscored row.

Output keeps every input column in order, then adds score, max_score, percent, flags
(codes joined by ";") and needs_review (and confidence when some rubric has learned data).
Rows that cannot be scored keep an ``error_*`` code in the flags cell and no score.
"""

from __future__ import annotations

from grader.scoring import ScoreResult


OUTPUT_COLUMNS = ("score", "max_score", "percent", "flags", "needs_review")
LEARNED_COLUMNS = ("confidence",)
"""Added after OUTPUT_COLUMNS only when some rubric has learned data (``grader learn``)."""


def output_header(header: list[str], *, learned: bool = False) -> list[str]:
    """Input columns, then ours; ours take a ``grader_`` prefix where a name is taken."""
    taken = {h.strip().lower() for h in header}
    ours = (*OUTPUT_COLUMNS, *LEARNED_COLUMNS) if learned else OUTPUT_COLUMNS
    return [*header, *(f"grader_{c}" if c in taken else c for c in ours)]


def format_result(result: ScoreResult, *, learned: bool = False) -> list[str]:
    """The five output cells of a scored row (six with ``learned``: the confidence, blank if none)."""
    extra = []
    if learned:
        from grader.learned_scoring import confidence_of  # learned scoring imports scikit-learn: only when used

        confidence = confidence_of(result)
        extra = ["" if confidence is None else f"{confidence:.2f}"]
    return [*_cells(result), *extra]


def _cells(result: ScoreResult) -> list[str]:
    return [
        f"{result.score:g}",
        f"{result.max_score:g}",
        f"{result.percent:g}",
        ";".join(result.flag_codes),
        "true" if result.needs_review else "false",
    ]


MIXED_ENCODING = "mixed_encoding"
"""Flag of a row whose line had another encoding than its file and was decoded on its own: check it."""


def mark_for_review(row: list[str], code: str, *, extra: int = 0) -> list[str]:
    """Add flag ``code`` to an output row (its last five cells are ours, then ``extra`` learned
    columns) and set needs_review.

    >>> mark_for_review(["x", "5", "10", "50", "", "false"], "mixed_encoding")[-2:]
    ['mixed_encoding', 'true']
    """
    flag_at, review_at = -2 - extra, -1 - extra
    flags = [f for f in row[flag_at].split(";") if f]
    row[flag_at] = ";".join(dict.fromkeys([*flags, code]))
    row[review_at] = "true"
    return row


def error_cells(code: str, max_score: float | None = None) -> list[str]:
    """The five output cells of a row that could not be scored."""
    return ["", "" if max_score is None else f"{max_score:g}", "", code, "true"]
