"""Rubrics built from a model answer alone, on questions nobody tuned: the targets in one run.

- Mohler 2011: rubrics built from each reference answer, no training: Pearson r with the
  mean of two graders (2,273 answers), beside the bare TF-IDF cosine.
- SemEval-2013 unseen questions: built rubrics, no calibration; 2-way accuracy with the
  one threshold per corpus learned on *train* (never on a test split).
- Seed samples (hand-made De-Stalinization rubrics): held-out Spearman per question and
  mean absolute error in points of 100.
- New history questions (``samples/history``, built rubrics, no edits): Spearman on the
  held-out questions, and the score of each everyday-word paraphrase.
- Short answers with alternatives (``samples/short-answer``, built with ``alternatives``):
  accuracy at the rubric's own pass mark.

``--dev`` prints the same figures for the dev questions of the new sets and the SemEval
train split only (what design choices may look at).

Usage: ``.venv/bin/python benchmarks/built.py [--dev] [--skip mohler,semeval]``
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import numpy as np
from _common import Timer, datasets_dir, fmt, markdown_table, rubrics_by_question
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score

from grader.build import build_rubric
from grader.ids import rubric_id_from
from grader.rubric import Rubric, load_rubric
from grader.scoring import Scorer
from grader.signals import rubric_vocabulary
from grader.similarity import tfidf_cosine

REPO = Path(__file__).resolve().parent.parent
GRID = np.round(np.linspace(0.0, 1.0, 101), 2)


def score_pooled(rubrics: dict[str, Rubric], ids: list[str], answers: list[str], pools: list[str]) -> np.ndarray:
    """Score fraction of each answer, each rubric built with the other rubrics of its pool."""
    members: dict[str, set[str]] = defaultdict(set)
    for rid, pool in zip(ids, pools):
        members[pool].add(rid)
    scorers: dict[str, Scorer] = {}
    for pool, rids in members.items():
        vocab = {rid: rubric_vocabulary(rubrics[rid]) for rid in rids} if len(rids) > 1 else {}
        for rid in rids:
            scorers[rid] = Scorer(rubrics[rid], other_vocabularies=vocab)
    by_rubric: dict[str, list[int]] = defaultdict(list)
    for i, rid in enumerate(ids):
        by_rubric[rid].append(i)
    out = np.zeros(len(ids))
    for rid, rows in by_rubric.items():
        results = scorers[rid].score_many([answers[i] for i in rows])
        for i, r in zip(rows, results):
            out[i] = r.score / r.max_score
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def mohler() -> list[list[str]]:
    import pandas as pd

    data = pd.read_csv(datasets_dir() / "mohler" / "mohler.csv", dtype={"question_id": str}, keep_default_na=False)
    data = data[data["excluded_in_published_work"].astype(int) == 0].reset_index(drop=True)
    human = data["score"].astype(float).to_numpy()
    ids = ["q" + q.replace(".", "-") for q in data["question_id"]]
    rubrics = rubrics_by_question(ids, data["question"], data["reference_answer"], max_score=5)
    ours = score_pooled(rubrics, ids, data["student_answer"].tolist(), data["assignment"].astype(str).tolist())
    base = np.array([tfidf_cosine(a, r) for a, r in zip(data["student_answer"], data["reference_answer"])])
    return [
        ["Mohler", "Pearson, no training (bare TF-IDF)", fmt(pearsonr(human, base)[0]), ">= 0.58"],
        ["Mohler", "Pearson, no training (built rubrics)", fmt(pearsonr(human, ours)[0]), ">= 0.58"],
    ]


def semeval(dev: bool) -> list[list[str]]:
    import pandas as pd

    data = pd.read_csv(datasets_dir() / "semeval2013" / "semeval2013.csv", keep_default_na=False)
    data = data[data["split"].isin(("train", "test-unseen-questions"))].reset_index(drop=True)
    ids = [rubric_id_from(q) for q in data["question_id"]]
    rubrics = rubrics_by_question(ids, data["question"], data["reference_answer"], max_score=10)
    pools = (data["corpus"] + "/" + data["module"].astype(str)).tolist()
    ours = score_pooled(rubrics, ids, data["student_answer"].tolist(), pools)
    correct = (data["label_2way"] == "correct").to_numpy()
    rows = []
    for corpus in ("beetle", "sciEntsBank"):
        in_corpus = (data["corpus"] == corpus).to_numpy()
        train = in_corpus & (data["split"] == "train").to_numpy()
        test = in_corpus & (data["split"] == "test-unseen-questions").to_numpy()
        accs = [accuracy_score(correct[train], ours[train] >= t) for t in GRID]
        t = float(GRID[int(np.argmax(accs))])
        rows.append([f"SemEval {corpus}", f"train 2-way acc (t={t:.2f})", fmt(max(accs)), "(dev)"])
        rows.append([f"SemEval {corpus}", "train 2-way acc at the pass mark 0.5", fmt(accuracy_score(correct[train], ours[train] >= 0.5)), "(dev)"])
        if not dev:
            rows.append([f"SemEval {corpus}", "unseen-questions 2-way acc", fmt(accuracy_score(correct[test], ours[test] >= t)), ">= 0.72"])
    return rows


def seed(split: str = "heldout") -> list[list[str]]:
    rubrics = {p.stem: load_rubric(p) for p in sorted((REPO / "rubrics" / "destalinization").glob("*.yaml"))}
    rows_ = [r for r in read_csv(REPO / "samples" / "destalinization" / "graded.csv") if r["split"] == split]
    ids = [r["question_id"] for r in rows_]
    pred = 10 * score_pooled(rubrics, ids, [r["answer"] for r in rows_], ["seed"] * len(ids))
    human = np.array([float(r["score"]) for r in rows_])
    out = []
    for rid in rubrics:
        m = np.array([i == rid for i in ids])
        out.append([f"seed {split}", f"{rid} Spearman", fmt(spearmanr(human[m], pred[m])[0]), ">= 0.90"])
    out.append([f"seed {split}", "MAE (points of 100)", f"{10 * np.abs(human - pred).mean():.1f}", "<= 10"])
    return out


def history(split: str) -> list[list[str]]:
    questions = [q for q in read_csv(REPO / "samples" / "history" / "questions.csv") if q["split"] == split]
    rubrics = {q["question_id"]: build_rubric(q["question"], q["model_answer"], rubric_id=q["question_id"],
                                              title=q["title"], max_score=float(q["max_score"])) for q in questions}
    rows_ = [r for r in read_csv(REPO / "samples" / "history" / "graded.csv") if r["question_id"] in rubrics]
    ids = [r["question_id"] for r in rows_]
    pred = score_pooled(rubrics, ids, [r["answer"] for r in rows_], ["history"] * len(ids))
    human = np.array([float(r["score"]) for r in rows_]) / 10
    out = []
    for rid in rubrics:
        m = np.array([i == rid for i in ids])
        para = [p for p, r, keep in zip(pred, rows_, m) if keep and r["kind"] == "paraphrase"]
        out.append([f"history {split}", f"{rid} Spearman", fmt(spearmanr(human[m], pred[m])[0]), ">= 0.80"])
        out.append([f"history {split}", f"{rid} paraphrases (%)", " / ".join(f"{100 * p:.0f}" for p in para), ">= 60 each"])
        out.append([f"history {split}", f"{rid} MAE (points of 100)", f"{100 * np.abs(human[m] - pred[m]).mean():.1f}", ""])
    return out


def short_answers(split: str) -> list[list[str]]:
    questions = [q for q in read_csv(REPO / "samples" / "short-answer" / "questions.csv") if q["split"] == split]
    rubrics = {
        q["question_id"]: build_rubric(
            q["question"], q["model_answer"], rubric_id=q["question_id"], title=q["title"],
            max_score=float(q["max_score"]), alternatives=[a for a in q["alternatives"].split("|") if a.strip()],
        )
        for q in questions
    }
    rows_ = [r for r in read_csv(REPO / "samples" / "short-answer" / "graded.csv") if r["question_id"] in rubrics]
    ids = [r["question_id"] for r in rows_]
    pred = score_pooled(rubrics, ids, [r["answer"] for r in rows_], ["short"] * len(ids))
    human = np.array([float(r["score"]) >= 1 for r in rows_])
    passed = np.array([p >= rubrics[i].scoring.pass_mark for p, i in zip(pred, ids)])
    out = [[f"short answers {split}", f"accuracy at the pass mark ({len(ids)} answers)", fmt(float((passed == human).mean())), ">= 0.90"],
           [f"short answers {split}", "mark every answer correct", fmt(float(human.mean())), ""]]
    for rid in rubrics:
        m = np.array([i == rid for i in ids])
        out.append([f"short answers {split}", rid, fmt(float((passed[m] == human[m]).mean())), ""])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", action="store_true", help="dev questions and SemEval train only")
    parser.add_argument("--skip", default="", help="comma-separated: mohler, semeval, seed, history, short")
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    split = "dev" if args.dev else "heldout"
    rows: list[list[str]] = []
    with Timer() as t:
        if "short" not in skip:
            rows += short_answers(split)
        if "history" not in skip:
            rows += history(split)
        if "seed" not in skip:
            rows += seed("tune" if args.dev else "heldout")
        if "semeval" not in skip:
            rows += semeval(args.dev)
        if "mohler" not in skip and not args.dev:
            rows += mohler()
    print(markdown_table(["data", "measure", "value", "target"], rows))
    print(f"\ntime: {t.seconds:.1f}s")


if __name__ == "__main__":
    main()
