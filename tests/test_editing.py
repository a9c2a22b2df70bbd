"""grader.editing: rubric <-> editable tables, validation with located errors, before/after comparison."""

from __future__ import annotations

import math
from typing import Any

import pytest

from grader.editing import (
    compare_on_samples,
    concept_rows,
    misconception_rows,
    rubric_from_tables,
    split_phrases,
)
from grader.errors import RubricError
from grader.evaluate import filter_split, load_graded
from grader.rubric import load_rubrics, rubric_from_dict

from conftest import REPO, minimal_rubric_data


@pytest.mark.parametrize(
    ("cell", "phrases"),
    [("a; b", ["a", "b"]), ("a\nb;;", ["a", "b"]), ("  ", []), (None, []), (math.nan, []), ("one", ["one"])],
)
def test_split_phrases(cell: Any, phrases: list[str]) -> None:
    assert split_phrases(cell) == phrases


def test_round_trip_without_edits_gives_the_same_rubric() -> None:
    rubric = rubric_from_dict(minimal_rubric_data())
    assert rubric_from_tables(rubric, concept_rows(rubric), misconception_rows(rubric)) == rubric


def test_edits_change_a_copy_and_blank_rows_are_ignored() -> None:
    rubric = rubric_from_dict(minimal_rubric_data())
    rows = concept_rows(rubric)
    rows[1]["synonyms"] = "camps emptied; freed prisoners"
    rows[2]["weight"] = 3
    rows.append({k: None for k in rows[0]})  # the editor's empty new row
    misc = [{"id": "more-terror", "phrases": "terror increased", "penalty": math.nan, "feedback": "Terror eased."}]
    edited = rubric_from_tables(rubric, rows, misc, question="New question?")
    assert edited.concepts[1].synonyms == ["camps emptied", "freed prisoners"]
    assert edited.concepts[2].weight == 3
    assert len(edited.concepts) == 3
    assert edited.misconceptions[0].penalty == 0.2  # blank penalty -> default
    assert edited.question == "New question?"
    assert rubric.concepts[1].synonyms == ["freed from the gulag"] and rubric.question.startswith("What changed")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda rows: rows[0].update(weight=0), r"concepts\[0\]\.weight: must be > 0"),
        (lambda rows: rows[1].update(id=rows[0]["id"]), "duplicate id 'speech'"),
        (lambda rows: rows[2].update(terms=" ; "), r"concepts\[2\]\.terms"),
        (lambda rows: rows[0].update(id="../evil"), r"concepts\[0\]\.id"),
        (lambda rows: rows.clear(), "concepts"),
    ],
)
def test_invalid_edits_raise_located_errors(change: Any, message: str) -> None:
    rubric = rubric_from_dict(minimal_rubric_data())
    rows = concept_rows(rubric)
    change(rows)
    with pytest.raises(RubricError, match=message):
        rubric_from_tables(rubric, rows, misconception_rows(rubric), source="studio")


def test_compare_on_samples_reports_the_effect_of_an_edit() -> None:
    rubric = load_rubrics(REPO / "rubrics" / "destalinization")["destal-politics"]
    rows, lines = filter_split(*load_graded(REPO / "samples" / "destalinization" / "graded.csv"), "tune")
    picked = [(r, n) for r, n in zip(rows, lines) if r["question_id"] == "destal-politics"]
    rows, lines = [r for r, _ in picked], [n for _, n in picked]
    same = compare_on_samples(rubric, rubric, rows, lines=lines)
    assert same["before"] == same["after"] and same["before"]["n"] == len(rows)
    # Gut the rubric: one concept that never matches. Agreement must drop, and the table shows both versions.
    concepts = concept_rows(rubric)[:1]
    concepts[0].update(terms="zzqx unmatched phrase", synonyms="")
    gutted = rubric_from_tables(rubric, concepts, [])
    diff = compare_on_samples(rubric, gutted, rows, lines=lines)
    assert diff["after"]["qwk"] < diff["before"]["qwk"]
    by_id = {c["concept_id"]: c for c in diff["concepts"]}
    assert by_id[concepts[0]["id"]]["high_rate_after"] == 0
    assert by_id[concepts[0]["id"]]["high_rate_before"] > 0
    dropped = [c for c in diff["concepts"] if c["concept_id"] != concepts[0]["id"]]
    assert dropped and all(math.isnan(c["high_rate_after"]) for c in dropped)
