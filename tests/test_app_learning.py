"""The app's learning flow (Batch scoring's "Group, grade, learn" tab, the studio's curve) via AppTest."""

from __future__ import annotations

import pandas as pd

from grader.store import Store

from conftest import REPO
from test_app import env, score_sample, start  # noqa: F401  (env is a fixture)


def test_batch_learns_from_overrides_and_then_scores_with_it(env) -> None:  # noqa: F811
    at = score_sample(start("batch"))
    nxt = [d.value for d in at.dataframe if "why" in d.value.columns]
    assert len(nxt) == 1 and len(nxt[0]) > 0 and nxt[0]["why"].str.contains("represents|least certain").all()
    store = Store(f"sqlite:///{env['db']}")
    [run] = store.list_runs()
    graded = pd.read_csv(REPO / "samples" / "destalinization" / "graded.csv")
    records = store.load_results(run.id)
    for rec in records:
        if rec.question_id == "destal-politics" and len(store.overrides(run.id)) < 12:
            human = graded.loc[graded["answer"] == rec.answer, "score"]
            store.add_override(run.id, rec.row, float(human.iloc[0]), "teacher's grade")
    at = start("batch")
    at.selectbox(key="learn_set").set_value("destalinization").run()
    at.button(key="learn_run").click().run()
    assert not at.exception, at.exception
    assert any("Learned for 1 question" in s.value for s in at.success)
    assert (env["rubrics"] / "destalinization" / "destal-politics.learned.json").is_file()
    at = score_sample(start("batch"))  # the next run uses what was learned
    assert not at.exception, at.exception


def test_batch_group_grading_says_when_nothing_is_worded_alike(env) -> None:  # noqa: F811
    at = score_sample(start("batch"))  # the bundled samples hold no near-duplicate answers
    assert not at.exception, at.exception
    assert any("No two answers to this question are worded alike" in i.value for i in at.info)


def test_studio_shows_the_learning_curve(env) -> None:  # noqa: F811
    at = start("studio")
    assert not at.exception, at.exception
    assert any("Learning curve" in m.value for m in at.markdown)
