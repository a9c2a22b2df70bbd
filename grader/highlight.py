"""Render a student's answer as escaped HTML with matched evidence wrapped in ``<mark>``.

Pure text in, text out: every character of the answer is HTML-escaped, spans never nest
(overlaps are merged), and labels go into a ``title`` attribute, escaped as well. Only the
student's own words and the labels passed in appear in the output, so the caller decides
what a student may see (concept labels, never rubric terms).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from grader.concepts import ConceptMatch


@dataclass(frozen=True, slots=True)
class Mark:
    """A highlighted stretch ``[start, end)`` of the answer with the labels it earned."""

    start: int
    end: int
    labels: tuple[str, ...] = ()
    kind: str = "match"


def marks_from_concepts(concepts: Iterable[ConceptMatch], *, include_negated: bool = True) -> list[Mark]:
    """Marks for every evidence span of matched concepts (and negated mentions, if asked).

    >>> from grader.concepts import Span
    >>> m = ConceptMatch("c", "Prisoners freed", 1.0, True, (Span(0, 8, "Released"),))
    >>> marks_from_concepts([m])
    [Mark(start=0, end=8, labels=('Prisoners freed',), kind='match')]
    """
    marks: list[Mark] = []
    for c in concepts:
        for span in c.evidence:
            marks.append(Mark(span.start, span.end, (c.label,), "match"))
        if include_negated:
            for span in c.negated:
                marks.append(Mark(span.start, span.end, (c.label,), "negated"))
    return marks


def merge_marks(marks: Iterable[Mark], length: int) -> list[Mark]:
    """Clip marks to ``[0, length)``, drop empty ones and merge overlaps (labels kept in order).

    A merged mark is ``negated`` only if all its parts are; a real match wins.

    >>> merge_marks([Mark(0, 5, ("a",)), Mark(3, 9, ("b",)), Mark(20, 30, ("c",))], 25)
    [Mark(start=0, end=9, labels=('a', 'b'), kind='match'), Mark(start=20, end=25, labels=('c',), kind='match')]
    """
    clipped = sorted(
        (Mark(max(0, m.start), min(length, m.end), m.labels, m.kind) for m in marks),
        key=lambda m: (m.start, m.end),
    )
    merged: list[Mark] = []
    for m in clipped:
        if m.end <= m.start:
            continue
        if merged and m.start < merged[-1].end:
            last = merged[-1]
            labels = tuple(dict.fromkeys([*last.labels, *m.labels]))
            kind = "match" if "match" in (last.kind, m.kind) else last.kind
            merged[-1] = Mark(last.start, max(last.end, m.end), labels, kind)
        else:
            merged.append(m)
    return merged


def highlight_html(answer: str, marks: Sequence[Mark]) -> str:
    """The answer as escaped HTML, marks wrapped in ``<mark class="grader-KIND" title=...>``.

    Line breaks become ``<br>`` so paragraphs survive.

    >>> highlight_html("a <b> c", [Mark(2, 5, ("tag",))])
    'a <mark class="grader-match" title="tag">&lt;b&gt;</mark> c'
    """
    out: list[str] = []
    pos = 0
    for m in merge_marks(marks, len(answer)):
        out.append(_escape(answer[pos : m.start]))
        title = html.escape("; ".join(m.labels), quote=True)
        out.append(f'<mark class="grader-{html.escape(m.kind)}" title="{title}">{_escape(answer[m.start : m.end])}</mark>')
        pos = m.end
    out.append(_escape(answer[pos:]))
    return "".join(out)


def _escape(text: str) -> str:
    return html.escape(text, quote=True).replace("\r\n", "\n").replace("\n", "<br>")
