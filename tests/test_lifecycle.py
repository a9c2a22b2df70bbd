"""grader.lifecycle and grader.rescore: drafts students never see, publishing, change lines, re-scoring."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.errors import RubricError
from grader.lifecycle import describe_changes, draft_path, list_drafts, publish, publish_draft, save_draft
from grader.rescore import moved, rescore_runs
from grader.review import record_from_score
from grader.batch import score_rows
from grader.rubric import load_rubric, load_rubrics
from grader.store import Store

from conftest import SEED_DIR


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(SEED_DIR, tmp_path / "rubrics" / "destalinization")
    return tmp_path / "rubrics"


def test_a_draft_is_not_published_until_publish(root: Path) -> None:
    set_dir = root / "destalinization"
    live = load_rubric(set_dir / "destal-politics.yaml")
    draft = live.model_copy(update={"title": "Draft title"})
    path = save_draft(draft, set_dir, root=root)
    assert path == draft_path(set_dir, "destal-politics")
    assert load_rubrics(set_dir)["destal-politics"].title == live.title  # students still get the published one
    assert list_drafts(set_dir)["destal-politics"].title == "Draft title"
    assert path.read_text().startswith("# Built by")  # the published file's comments carried into the draft
    done = publish_draft(set_dir, "destal-politics", root=root)
    assert done.before.title == live.title and load_rubrics(set_dir)["destal-politics"].title == "Draft title"
    assert not path.exists() and list_drafts(set_dir) == {}
    assert (set_dir / "destal-politics.yaml.bak").exists()
    with pytest.raises(RubricError, match="no draft of 'destal-politics'"):
        publish_draft(set_dir, "destal-politics", root=root)


def test_a_set_with_only_drafts_loads_no_rubric_as_published(root: Path) -> None:
    rubric = load_rubric(root / "destalinization" / "destal-politics.yaml").model_copy(update={"id": "new-q"})
    save_draft(rubric, root / "fresh", root=root)
    with pytest.raises(RubricError, match="holds no .yaml"):
        load_rubrics(root / "fresh")
    assert "new-q" not in load_rubrics(root)  # a folder of sets ignores drafts too


def test_describe_changes_names_what_moved(root: Path) -> None:
    before = load_rubric(root / "destalinization" / "destal-politics.yaml")
    c0 = before.concepts[0]
    after = before.model_copy(update={
        "max_score": 20.0, "concepts": [c0.model_copy(update={"weight": 3.0, "synonyms": [*c0.synonyms[1:], "new one"]}),
                                        *before.concepts[2:]],
    })
    lines = describe_changes(before, after)
    assert "max_score: 10 -> 20" in lines
    assert f"concept {before.concepts[1].id} removed" in lines
    assert any(line.startswith(f"concept {c0.id}: weight 2 -> 3; synonyms +'new one', -{c0.synonyms[0]!r}") for line in lines)
    assert describe_changes(None, after) == ["new rubric"] and describe_changes(before, before) == ["no change"]


def test_rescore_moves_scores_keeps_overrides_and_reports_the_change(root: Path, tmp_path: Path) -> None:
    set_dir = root / "destalinization"
    rubrics = load_rubrics(set_dir)
    store = Store(f"sqlite:///{tmp_path / 'g.sqlite'}")
    answers = [("destal-politics", "Khrushchev denounced Stalin in the Secret Speech and freed political prisoners."),
               ("destal-eastern-europe", "The Soviet army crushed the Hungarian uprising in 1956."),
               ("destal-politics", "Stalin died and Khrushchev ended the terror of the secret police.")]
    scored = score_rows(["question_id", "answer"], [(i + 2, list(a)) for i, a in enumerate(answers)], rubrics,
                        answer_col="answer", question_col="question_id")
    run = store.save_run("r", "r.csv", [record_from_score(i, s, student=f"st{i}", answer=answers[i][1]) for i, s in enumerate(scored)])
    store.add_override(run, 2, 9.0, "teacher knows best")
    before = {r.row: r.score for r in store.load_results(run)}
    publish(rubrics["destal-politics"].model_copy(update={"max_score": 20.0}), set_dir, root=root)
    changes = rescore_runs(store, load_rubrics(set_dir), ["destal-politics"])
    assert [(c.line, c.question_id) for c in changes] == [(2, "destal-politics"), (4, "destal-politics")]
    after = {r.row: r.score for r in store.load_results(run)}
    assert after[1] == before[1]  # another question: not touched
    assert after[0] == pytest.approx(2 * before[0]) and changes[0].change == pytest.approx(before[0])
    assert store.overrides(run)[2].score == 9.0 and changes[1].override == 9.0 and changes[1].as_row()["final score"] == 9.0
    assert moved(changes)[0].change >= moved(changes)[-1].change


def test_a_second_draft_save_keeps_the_drafts_own_comments(root: Path) -> None:
    set_dir = root / "destalinization"
    live = load_rubric(set_dir / "destal-politics.yaml")
    path = save_draft(live.model_copy(update={"title": "one"}), set_dir, root=root)
    path.write_text("# draft note\n" + path.read_text())
    save_draft(live.model_copy(update={"title": "two"}), set_dir, root=root)
    assert path.read_text().startswith("# draft note") and "title: two" in path.read_text()
    publish(load_rubric(path), set_dir, root=root)
    assert (set_dir / "destal-politics.yaml").read_text().startswith("# draft note")
