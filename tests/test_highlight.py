"""grader.highlight: escaped HTML with <mark> around evidence, never raw user markup."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.concepts import ConceptMatch, Span
from grader.highlight import Mark, highlight_html, marks_from_concepts, merge_marks


@pytest.mark.parametrize(
    ("answer", "marks", "expected"),
    [
        ("plain text", [], "plain text"),
        ("Stalin died", [Mark(0, 6, ("Death",))], '<mark class="grader-match" title="Death">Stalin</mark> died'),
        ("a<script>b", [], "a&lt;script&gt;b"),
        ("x <b>y</b>", [Mark(2, 5, ("t",))], 'x <mark class="grader-match" title="t">&lt;b&gt;</mark>y&lt;/b&gt;'),
        ("one\ntwo", [], "one<br>two"),
        ("abc", [Mark(1, 2, ('"q" & <l>',))], 'a<mark class="grader-match" title="&quot;q&quot; &amp; &lt;l&gt;">b</mark>c'),
        ("abc", [Mark(1, 2, (), "negated")], 'a<mark class="grader-negated" title="">b</mark>c'),
    ],
)
def test_highlight_html_table(answer: str, marks: list[Mark], expected: str) -> None:
    assert highlight_html(answer, marks) == expected


@pytest.mark.parametrize(
    ("marks", "length", "expected"),
    [
        ([Mark(0, 5, ("a",)), Mark(3, 9, ("b",))], 20, [Mark(0, 9, ("a", "b"))]),
        ([Mark(4, 6, ("a",)), Mark(0, 2, ("b",))], 20, [Mark(0, 2, ("b",)), Mark(4, 6, ("a",))]),
        ([Mark(0, 5, ("a",)), Mark(5, 8, ("b",))], 20, [Mark(0, 5, ("a",)), Mark(5, 8, ("b",))]),  # touching: separate
        ([Mark(-3, 2, ("a",)), Mark(18, 40, ("b",))], 20, [Mark(0, 2, ("a",)), Mark(18, 20, ("b",))]),
        ([Mark(5, 5, ("a",)), Mark(30, 40, ("b",))], 20, []),
        ([Mark(0, 4, (), "negated"), Mark(2, 6, ("m",), "match")], 20, [Mark(0, 6, ("m",), "match")]),
        ([Mark(0, 4, ("a",)), Mark(1, 3, ("a",))], 20, [Mark(0, 4, ("a",))]),
    ],
)
def test_merge_marks(marks: list[Mark], length: int, expected: list[Mark]) -> None:
    assert merge_marks(marks, length) == expected


def test_marks_from_concepts_uses_labels_and_skips_unmatched_evidence() -> None:
    concepts = [
        ConceptMatch("a", "Prisoners freed", 1.0, True, (Span(0, 8, "Released"),)),
        ConceptMatch("b", "Less terror", 1.0, False, (), (Span(10, 20, "no terror."),)),
    ]
    assert marks_from_concepts(concepts) == [Mark(0, 8, ("Prisoners freed",)), Mark(10, 20, ("Less terror",), "negated")]
    assert marks_from_concepts(concepts, include_negated=False) == [Mark(0, 8, ("Prisoners freed",))]


@given(st.text(max_size=200), st.lists(st.tuples(st.integers(-5, 210), st.integers(-5, 210)), max_size=6))
def test_highlight_never_leaks_markup_and_keeps_text(answer: str, bounds: list[tuple[int, int]]) -> None:
    out = highlight_html(answer, [Mark(a, b, ("<x>",)) for a, b in bounds])
    stripped = re.sub(r'<mark class="grader-(match|negated)" title="[^"<>]*">|</mark>|<br>', "", out)
    assert "<" not in stripped and ">" not in stripped
    assert html.unescape(stripped) == answer.replace("\r\n", "\n").replace("\n", "")
    assert out.count("<mark") == out.count("</mark>")
