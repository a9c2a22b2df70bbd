"""Rubric suggestions: per-concept table, never-matching concepts, misconception candidates, uncovered terms."""

from __future__ import annotations

import json
import math

import pytest

from grader.cli import main
from grader.rubric import rubric_from_dict, rubric_to_yaml
from grader.suggest import concept_table, format_suggestions, suggest, uncovered_terms

RUBRIC = rubric_from_dict(
    {
        "id": "thaw",
        "question": "How did politics change under Khrushchev?",
        "model_answer": "Prisoners were released from the gulag and censorship was relaxed during the Thaw.",
        "max_score": 10,
        "concepts": [
            {"id": "gulag", "label": "Prisoners released", "terms": ["gulag"]},
            {"id": "thaw", "label": "Thaw", "terms": ["thaw"]},
            {"id": "purges", "label": "Purges", "terms": ["purges"]},
            {"id": "space", "label": "Space race", "terms": ["sputnik"]},
        ],
    }
)

# high (>= 7): answers 0-2; low (<= 3): answers 3-5; answer 6 (score 5) is in neither group
ANSWERS = [
    ("The gulag camps were emptied and the Thaw brought rehabilitation of victims.", 10),
    ("Many left the gulag; rehabilitation of victims began.", 8),
    ("A Thaw in culture and the rehabilitation of many victims.", 7),
    ("Stalin's purges got worse and the gulag grew.", 2),
    ("The purges continued as before.", 0),
    ("Nothing really changed in politics.", 3),
    ("There was a thaw.", 5),
]
TEXTS = [a for a, _ in ANSWERS]
SCORES = [s for _, s in ANSWERS]


def _row(table: list[dict], concept_id: str) -> dict:
    return next(r for r in table if r["concept_id"] == concept_id)


@pytest.mark.parametrize(
    ("concept_id", "high_matched", "high_missed", "low_matched", "low_missed", "matched"),
    [
        ("gulag", 2, 1, 1, 2, 3),  # high: answers 0, 1; low: answer 3
        ("thaw", 2, 1, 0, 3, 3),  # high: answers 0, 2; also answer 6 (neither group)
        ("purges", 0, 3, 2, 1, 2),  # low: answers 3, 4
        ("space", 0, 3, 0, 3, 0),
    ],
)
def test_concept_table_counts_by_hand(
    concept_id: str, high_matched: int, high_missed: int, low_matched: int, low_missed: int, matched: int
) -> None:
    row = _row(concept_table(RUBRIC, TEXTS, SCORES, max_score=10), concept_id)
    assert (row["high_matched"], row["high_missed"], row["low_matched"], row["low_missed"], row["matched"]) == (
        high_matched, high_missed, low_matched, low_missed, matched,
    )
    assert row["high_rate"] == pytest.approx(high_matched / 3)
    assert row["lift"] == pytest.approx(high_matched / 3 - low_matched / 3)


def test_concept_table_rates_are_nan_without_low_answers() -> None:
    row = concept_table(RUBRIC, TEXTS[:3], SCORES[:3], max_score=10)[0]
    assert math.isnan(row["low_rate"]) and math.isnan(row["lift"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_score": 0}, "must be > 0. Got 0"),
        ({"max_score": 10, "high": 0.2, "low": 0.3}, "need 0 <= low < high <= 1. Got low=0.3, high=0.2"),
    ],
)
def test_concept_table_rejects_bad_thresholds(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        concept_table(RUBRIC, TEXTS, SCORES, **kwargs)


def test_concept_table_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="same length. Got 7 and 6"):
        concept_table(RUBRIC, TEXTS, SCORES[:-1], max_score=10)


def test_uncovered_terms_are_common_in_high_and_not_in_rubric() -> None:
    terms = uncovered_terms(RUBRIC, TEXTS, SCORES, max_score=10, min_share=0.6)
    assert [t["term"] for t in terms][:2] == ["rehabilitation", "victims"]
    assert terms[0]["high_share"] == pytest.approx(1.0) and terms[0]["low_share"] == 0.0
    words = {t["term"] for t in terms}
    assert not words & {"gulag", "thaw", "politics", "khrushchev"}  # rubric and question words


def test_suggest_finds_never_matched_and_misconception_candidates() -> None:
    s = suggest(RUBRIC, TEXTS, SCORES)
    assert (s.n_high, s.n_low) == (3, 3)
    assert s.never_matched == ["space"]
    assert s.misconception_candidates == ["purges"]  # matches only in low answers
    text = format_suggestions(s)
    assert "never matched" in text and "purges" in text and "rehabilitation" in text


def test_cli_suggest_json(tmp_path, capsys) -> None:
    rubric_path = tmp_path / "thaw.yaml"
    rubric_path.write_text(rubric_to_yaml(RUBRIC), encoding="utf-8")
    csv_path = tmp_path / "graded.csv"
    csv_path.write_text(
        "question_id,answer,score\n" + "".join(f'thaw,"{a}",{s}\n' for a, s in ANSWERS), encoding="utf-8"
    )
    assert main(["suggest", str(rubric_path), str(csv_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["rubric_id"] == "thaw"
    assert data[0]["never_matched"] == ["space"]
