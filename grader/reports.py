"""Per-student feedback to hand back: each student's answers across questions, as HTML and PDF.

A report holds, per answer, the final score (the teacher's override if any), the concepts
covered, hints for the missing ones (the rubric's student-facing hints; never terms,
synonyms or the model answer), the scorer's warnings, and the teacher's comment. Concepts
come from the scorer's result with the teacher's concept marks applied
(:func:`grader.marking.score_with_marks`), so the report says what the teacher decided.

HTML escapes every piece of text; the PDF is drawn with fpdf2 (pure Python), with DejaVu
Sans when the system has it (any script), else a core font (Latin-1; other characters
become ``?``).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.gradebook import student_key
from grader.marking import score_with_marks
from grader.rubric import Rubric
from grader.scoring import ScoreResult
from grader.store import Override, ResultRecord

UNICODE_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
UNICODE_FONT_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


@dataclass(frozen=True)
class AnswerReport:
    """One answer of a student, as handed back."""

    question_id: str
    question: str
    line: int
    score: float | None
    max_score: float | None
    covered: list[str]
    hints: list[str]
    warnings: list[str]
    overridden: bool = False


@dataclass(frozen=True)
class StudentReport:
    """Everything a student gets back for one run."""

    key: str
    student: str
    student_id: str
    answers: list[AnswerReport]
    comment: str = ""
    total: float | None = None
    total_max: float | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _answer(record: ResultRecord, override: Override | None, result: ScoreResult | None,
            rubric: Rubric | None, marks: Mapping[str, bool]) -> AnswerReport:
    final = record.score if override is None else override.score
    covered: list[str] = []
    hints: list[str] = []
    warnings: list[str] = []
    if result is not None and rubric is not None:
        concepts = score_with_marks(rubric, result, {k: v for k, v in marks.items() if k in {c.concept_id for c in result.concepts}}).concepts
        by_id = {c.id: c for c in rubric.concepts}
        covered = [c.label for c in concepts if c.matched]
        hints = [by_id[c.concept_id].hint or f"Say more about: {c.label}" for c in concepts if not c.matched]
        warnings = [f.message for f in result.flags if f.code not in ("misconception", "negated_concept")]
        warnings += [m.feedback for m in result.misconceptions]
    elif record.score is None:
        warnings = ["This answer could not be scored automatically" + (" (empty answer)." if not record.answer.strip() else ".")]
    return AnswerReport(record.question_id, rubric.question if rubric else record.question_id, record.line, final,
                        record.max_score, covered, hints, warnings, overridden=override is not None)


def build_reports(
    records: Sequence[ResultRecord],
    overrides: Mapping[int, Override],
    *,
    results: Mapping[int, ScoreResult] | None = None,
    rubrics: Mapping[str, Rubric] | None = None,
    marks: Mapping[int, Mapping[str, bool]] | None = None,
    comments: Mapping[str, str] | None = None,
) -> list[StudentReport]:
    """One report per student (grouped as in the gradebook), answers in file order.

    ``results`` maps a row to the scorer's result for its answer, ``marks`` a row to the
    teacher's concept marks, ``comments`` a student key (:func:`grader.gradebook.student_key`)
    to the teacher's comment.

    >>> from grader.store import ResultRecord
    >>> reps = build_reports([ResultRecord(0, 2, "Ann", "q1", "t", 6.0, 10, 60, student_id="s1")], {}, comments={"id:s1": "Good start."})
    >>> reps[0].student, reps[0].total, reps[0].comment
    ('Ann', 6.0, 'Good start.')
    """
    results, rubrics, marks, comments = results or {}, rubrics or {}, marks or {}, comments or {}
    groups: dict[str, list[ResultRecord]] = {}
    for r in records:
        groups.setdefault(student_key(r), []).append(r)
    out = []
    for key, rows in groups.items():
        answers = [_answer(r, overrides.get(r.row), results.get(r.row), rubrics.get(r.question_id), marks.get(r.row, {}))
                   for r in rows]
        scores = [a.score for a in answers if a.score is not None]
        maxima = [a.max_score for a in answers if a.max_score is not None]
        name = next((r.student for r in rows if r.student), "") or next((r.student_id for r in rows if r.student_id), "") or f"line {rows[0].line}"
        sid = next((r.student_id for r in rows if r.student_id), "")
        out.append(StudentReport(key, name, sid, answers, comments.get(key, ""),
                                 round(sum(scores), 4) if scores else None, round(sum(maxima), 4) if maxima else None))
    return out


def _fmt(score: float | None, top: float | None) -> str:
    if score is None:
        return "not scored"
    return f"{score:g} / {top:g}" if top is not None else f"{score:g}"


CSS = """body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;line-height:1.5;color:#222}
section.student{page-break-after:always;break-after:page;margin-bottom:3rem}
h2{border-bottom:2px solid #2E6F40;padding-bottom:.2rem}.score{font-weight:bold}
.covered li{color:#2E6F40}.hints li{color:#2b6cb0}.warnings li{color:#c05621}
.comment{border-left:4px solid #888;padding:.3rem .8rem;background:#f6f6f6}"""


def reports_html(reports: Sequence[StudentReport], *, title: str = "Feedback") -> str:
    """One HTML document with a section (and a printed page) per student; all text escaped.

    >>> from grader.store import ResultRecord
    >>> page = reports_html(build_reports([ResultRecord(0, 2, "<b>Ann</b>", "q1", "t", 6.0, 10, 60)], {}))
    >>> "&lt;b&gt;Ann&lt;/b&gt;" in page and "<b>Ann</b>" not in page
    True
    """
    e = html.escape
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{e(title)}</title>"
             f"<style>{CSS}</style></head><body>"]
    for rep in reports:
        who = e(rep.student) + (f" <small>({e(rep.student_id)})</small>" if rep.student_id and rep.student_id != rep.student else "")
        parts.append(f"<section class='student'><h1>{e(title)}</h1><h2>{who}</h2>")
        parts.append(f"<p class='score'>Total: {e(_fmt(rep.total, rep.total_max))}</p>")
        if rep.comment:
            parts.append(f"<div class='comment'><strong>Teacher's comment:</strong> {e(rep.comment)}</div>")
        for a in rep.answers:
            parts.append(f"<h3>{e(a.question)}</h3><p class='score'>Score: {e(_fmt(a.score, a.max_score))}"
                         + (" (set by your teacher)" if a.overridden else "") + "</p>")
            for heading, items, css in (("Covered", a.covered, "covered"), ("To develop", a.hints, "hints"),
                                        ("Check", a.warnings, "warnings")):
                if items:
                    parts.append(f"<p>{heading}:</p><ul class='{css}'>" + "".join(f"<li>{e(i)}</li>" for i in items) + "</ul>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "".join(parts)


def reports_pdf(reports: Sequence[StudentReport], *, title: str = "Feedback") -> bytes:
    """One PDF with a page (or more) per student, drawn with fpdf2."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_title(title)
    if UNICODE_FONT.is_file() and UNICODE_FONT_BOLD.is_file():
        pdf.add_font("body", "", str(UNICODE_FONT))
        pdf.add_font("body", "B", str(UNICODE_FONT_BOLD))
        family, clean = "body", (lambda t: t)
    else:  # core fonts are Latin-1 only
        family, clean = "Helvetica", (lambda t: t.encode("latin-1", "replace").decode("latin-1"))

    def para(text: str, size: float = 10.5, style: str = "", indent: float = 0) -> None:
        pdf.set_font(family, style, size)
        pdf.set_x(pdf.l_margin + indent)
        pdf.multi_cell(0, size * 0.5, clean(text), new_x="LMARGIN", new_y="NEXT")

    for rep in reports:
        pdf.add_page()
        para(title, 16, "B")
        who = rep.student + (f" ({rep.student_id})" if rep.student_id and rep.student_id != rep.student else "")
        para(who, 13, "B")
        para(f"Total: {_fmt(rep.total, rep.total_max)}", 11, "B")
        if rep.comment:
            para(f"Teacher's comment: {rep.comment}", 10.5, "", 2)
        for a in rep.answers:
            pdf.ln(2)
            para(a.question, 11.5, "B")
            para(f"Score: {_fmt(a.score, a.max_score)}" + (" (set by your teacher)" if a.overridden else ""), 10.5, "B")
            for heading, items in (("Covered", a.covered), ("To develop", a.hints), ("Check", a.warnings)):
                if items:
                    para(f"{heading}:", 10.5, "B")
                    for item in items:
                        para(f"- {item}", 10.5, "", 4)
    return bytes(pdf.output())
