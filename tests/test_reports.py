"""grader.reports and grader.classview: per-student feedback (HTML, PDF) and the class at a glance."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from grader.classview import concept_misses, disagreements, score_spread
from grader.reports import build_reports, reports_html, reports_pdf
from grader.rubric import load_rubrics
from grader.scorer_set import ScorerSet
from grader.store import Override, ResultRecord

from conftest import SEED_DIR

ANSWERS = [
    ("s1", "Ann <script>alert(1)</script>", "destal-politics",
     "Khrushchev denounced Stalin in the Secret Speech of 1956 and political prisoners were released from the gulag."),
    ("s1", "Ann <script>alert(1)</script>", "destal-eastern-europe", "The Soviet army crushed the Hungarian uprising in 1956."),
    ("s2", "Bo Ma", "destal-politics", "Stalin died."),
    ("s3", "Zoë Ωmega 李", "destal-politics", ""),
]


@pytest.fixture(scope="module")
def run():
    rubrics = load_rubrics(SEED_DIR)
    pool = ScorerSet(rubrics)
    records, results = [], {}
    for i, (sid, name, qid, answer) in enumerate(ANSWERS):
        if answer:
            res = pool.score(qid, answer)
            results[i] = res
            records.append(ResultRecord(i, i + 2, name, qid, answer, res.score, res.max_score, res.percent, student_id=sid))
        else:
            records.append(ResultRecord(i, i + 2, name, qid, "", None, None, None, flags="error_empty_answer", student_id=sid))
    return rubrics, records, results


def test_reports_group_answers_by_student_with_hints_not_terms(run) -> None:
    rubrics, records, results = run
    ov = {2: Override(1, 2, 4.0, "teacher note, not for the student", datetime.now(timezone.utc))}
    reports = build_reports(records, ov, results=results, rubrics=rubrics, comments={"id:s2": "See me."})
    assert [(r.student, len(r.answers)) for r in reports] == [("Ann <script>alert(1)</script>", 2), ("Bo Ma", 1), ("Zoë Ωmega 李", 1)]
    ann, bo, zoe = reports
    assert ann.answers[0].covered and ann.total == pytest.approx(records[0].score + records[1].score)
    assert bo.answers[0].score == 4.0 and bo.answers[0].overridden and bo.comment == "See me."
    hints = {c.hint for c in rubrics["destal-politics"].concepts}
    assert set(bo.answers[0].hints) <= hints and bo.answers[0].hints
    phrases = {p.lower() for c in rubrics["destal-politics"].concepts for p in c.phrases}
    assert not [h for h in bo.answers[0].hints if h.lower() in phrases]
    assert zoe.answers[0].score is None and "could not be scored" in zoe.answers[0].warnings[0]


def test_marks_change_what_the_report_says_is_covered(run) -> None:
    rubrics, records, results = run
    missing = next(c for c in results[2].concepts if not c.matched)
    marked = build_reports(records, {}, results=results, rubrics=rubrics, marks={2: {missing.concept_id: True}})
    assert missing.label in marked[1].answers[0].covered


def test_html_escapes_every_user_text(run) -> None:
    rubrics, records, results = run
    page = reports_html(build_reports(records, {}, results=results, rubrics=rubrics, comments={"id:s1": "<img src=x onerror=alert(1)>"}),
                        title="Week <1>")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<img" not in page and "&lt;img src=x" in page and "Week &lt;1&gt;" in page
    assert page.count("<section class='student'>") == 3 and "Zoë Ωmega 李" in page


def test_pdf_has_a_page_per_student_and_any_script(run) -> None:
    rubrics, records, results = run
    data = reports_pdf(build_reports(records, {}, results=results, rubrics=rubrics), title="Feedback")
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", data)) == 3


def test_class_view_figures(run) -> None:
    _, records, results = run
    misses = concept_misses(records, results)
    politics = [m for m in misses if m["question"] == "destal-politics"]
    assert {m["answers"] for m in politics} == {2}  # the empty answer is not counted
    assert [m["missed"] for m in politics] == sorted((m["missed"] for m in politics), reverse=True)
    spread = {s["question"]: s for s in score_spread(records, {})}
    assert spread["destal-politics"]["answers"] == 2
    ov = {0: Override(1, 0, 0.0, "copied", datetime.now(timezone.utc))}
    assert disagreements(records, ov)[0]["gap"] == -records[0].score


def test_pdf_without_a_unicode_font_falls_back_to_latin1(run, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import grader.reports as reports

    monkeypatch.setattr(reports, "UNICODE_FONT", tmp_path / "missing.ttf")
    rubrics, records, results = run
    data = reports.reports_pdf(build_reports(records, {}, results=results, rubrics=rubrics))
    assert data.startswith(b"%PDF-") and len(re.findall(rb"/Type\s*/Page(?!s)", data)) == 3
