"""Rubric ids from free-form question ids: one safe file name per question, collisions refused.

A rubric id is also its file name (``<id>.yaml``), so two question ids that become the same
rubric id would write the same file: that is an error, never a silent overwrite. Ids are
compared case-insensitively, as on the file systems of Windows and macOS.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from grader.errors import InputError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
"""A rubric id or a question set's folder name: letters, digits, '.', '_' or '-', at most 80, not starting with a dot."""


def rubric_id_from(text: str) -> str:
    """A valid rubric id for ``text``: runs of other characters become ``-``.

    >>> rubric_id_from("q 3"), rubric_id_from("_odd id"), rubric_id_from("???")
    ('q-3', 'odd-id', 'rubric')
    """
    return _UNSAFE.sub("-", text).strip("-._")[:80] or "rubric"


def plan_rubric_ids(question_ids: Sequence[tuple[int, str]], *, source: str = "input") -> tuple[dict[int, str], list[str]]:
    """Rubric ids for ``(line, question id)`` pairs, and a notice for each id that was changed.

    Raises :class:`InputError` (one line, naming both lines) when two question ids give the
    same rubric id, before anything is written.

    >>> plan_rubric_ids([(2, "q1"), (3, "q 3")])
    ({2: 'q1', 3: 'q-3'}, ["line 3: question id 'q 3' becomes rubric id 'q-3'"])
    >>> plan_rubric_ids([(2, "q 3"), (3, "q-3")])
    Traceback (most recent call last):
    ...
    grader.errors.InputError: input: line 2 ('q 3') and line 3 ('q-3') both become rubric id 'q-3' (file q-3.yaml); make the question ids distinct
    """
    ids: dict[int, str] = {}
    notices: list[str] = []
    first: dict[str, tuple[int, str]] = {}
    for line, qid in question_ids:
        rid = rubric_id_from(qid)
        key = rid.casefold()
        if key in first:
            other_line, other_qid = first[key]
            raise InputError(
                f"{source}: line {other_line} ({other_qid!r}) and line {line} ({qid!r}) both become rubric id "
                f"{rid!r} (file {rid}.yaml); make the question ids distinct"
            )
        first[key] = (line, qid)
        ids[line] = rid
        if rid != qid:
            notices.append(f"line {line}: question id {qid!r} becomes rubric id {rid!r}")
    return ids, notices
