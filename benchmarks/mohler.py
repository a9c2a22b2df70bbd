"""Mohler & Mihalcea (2011) short answers: agreement with the mean of two human graders.

Rubrics are built automatically from each question and its reference answer (no
training), then scored on the 2,273 answers of the published benchmark (rows with
``excluded_in_published_work=1`` dropped). Calibration (:mod:`grader.calibrator`) is then
cross-validated two ways: by question (fit on some questions, score the others) and by
answer (5 folds stratified by question). Every figure is computed in this run, including
the bare TF-IDF cosine baseline; published figures come from the data sets README.
Answers are scored per assignment (one rubric folder each, as a teacher would batch
them), so the wrong-question check compares a question with its own assignment's only.

Usage: ``.venv/bin/python benchmarks/mohler.py [--no-wordnet] [--folds 5]``
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import Timer, datasets_dir, fmt, markdown_table, rubrics_by_question

from grader.calibrator import extract_features, predict
from grader.cross_validation import cross_validate
from grader.evaluate import agreement
from grader.similarity import tfidf_cosine

PUBLISHED = [
    ("human grader vs grader (published)", "0.586-0.597", "0.659"),
    ("tf-idf cosine (published)", "0.281 (0.327 question words demoted)", "-"),
    ("Mohler 2011 best, SVMRank, trained (published)", "0.518", "0.998"),
    ("Sultan 2016, supervised (published)", "0.592", "0.887"),
    ("per-question mean baseline (published)", "-", "1.097"),
]


def load(path) -> "object":
    import pandas as pd

    data = pd.read_csv(path, dtype={"question_id": str}, keep_default_na=False)
    return data[data["excluded_in_published_work"].astype(int) == 0].reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-wordnet", action="store_true", help="build rubrics without WordNet synonyms")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()

    data = load(datasets_dir() / "mohler" / "mohler.csv")
    human = data["score"].astype(float).to_numpy()
    ids = ["q" + q.replace(".", "-") for q in data["question_id"]]
    answers = data["student_answer"].tolist()

    with Timer() as t_base:
        baseline = np.array([tfidf_cosine(a, r) for a, r in zip(answers, data["reference_answer"])])
    with Timer() as t_build:
        rubrics = rubrics_by_question(ids, data["question"], data["reference_answer"], max_score=5,
                                      use_wordnet=not args.no_wordnet)
    with Timer() as t_score:
        # one rubric folder per assignment, as a teacher would batch them
        features = extract_features(rubrics, ids, answers, pools=data["assignment"].astype(str).tolist())
        ours = predict(rubrics, features, range(len(ids)))
    by_q = cross_validate(rubrics, features, human, by="question", folds=args.folds)
    by_a = cross_validate(rubrics, features, human, by="answer", folds=args.folds)
    means = data.groupby("question_id")["score"].transform("mean").to_numpy()

    def row(name: str, pred: np.ndarray, rmse: bool = True) -> list[str]:
        m = agreement(human, pred, max_score=5)
        return [name, fmt(m["pearson"]), fmt(m["rmse"]) if rmse else "-"]

    rows = [
        row("bare TF-IDF cosine (this run)", baseline, rmse=False),
        row("per-question mean of the human scores (this run, in-sample)", means),
        row("grader, rubrics built from the reference, no training", ours),
        ["grader + calibration, CV by question", fmt(by_q.after["pearson"]), fmt(by_q.after["rmse"])],
        ["grader + calibration, CV by answer", fmt(by_a.after["pearson"]), fmt(by_a.after["rmse"])],
        *[list(p) for p in PUBLISHED],
    ]
    n_q = len(rubrics)
    print(f"Mohler 2011: {len(human)} answers, {n_q} questions, score 0-5 (mean of two graders); "
          f"WordNet synonyms {'off' if args.no_wordnet else 'on'}; {args.folds}-fold CV")
    print()
    print(markdown_table(["system", "Pearson r", "RMSE"], rows))
    print()
    print(f"time: baseline {t_base.seconds:.1f}s, build {n_q} rubrics {t_build.seconds:.1f}s, "
          f"score {len(human)} answers {t_score.seconds:.1f}s ({len(human) / t_score.seconds:.0f} answers/s)")


if __name__ == "__main__":
    main()
