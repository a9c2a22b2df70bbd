"""SemEval-2013 Task 7 (Beetle and SciEntsBank): 2-way and 3-way labels from scores.

A rubric is built from each question's reference answer (no training). Labels come from
the score fraction with thresholds learned on the *train* split only:

- 2-way: correct when the fraction reaches threshold t (t maximises train macro-F1);
- 3-way: correct as above; otherwise contradictory when the scorer saw a contradiction
  (a negated concept, a matched misconception or a contradiction flag), else incorrect.

"+ calibration" first fits :mod:`grader.calibrator` settings on the train answers (for
test-unseen-answers the same questions have per-question maps), then learns t on them.
The bare TF-IDF cosine baseline learns its own t (2-way) and a second, lower threshold
below which answers are incorrect and above which contradictory (3-way).

Usage: ``.venv/bin/python benchmarks/semeval.py``
"""

from __future__ import annotations


import numpy as np
from _common import Timer, datasets_dir, markdown_table, rubrics_by_question
from sklearn.metrics import accuracy_score, f1_score

from grader.ids import rubric_id_from
from grader.calibrator import extract_features, fit_settings, predict
from grader.similarity import tfidf_cosine

SPLITS = ("test-unseen-answers", "test-unseen-questions", "test-unseen-domains")
CONTRADICTION_CODES = {"negated_concept", "misconception", "contradiction"}
GRID = np.round(np.linspace(0.0, 1.0, 101), 2)


def best_threshold(values: np.ndarray, correct: np.ndarray) -> float:
    """Threshold on ``values`` maximising macro-F1 of correct/incorrect (ties: the lowest)."""
    scores = [f1_score(correct, values >= t, average="macro") for t in GRID]
    return float(GRID[int(np.argmax(scores))])


def three_way(values: np.ndarray, t: float, contradiction: np.ndarray) -> np.ndarray:
    return np.where(values >= t, "correct", np.where(contradiction, "contradictory", "incorrect"))


def baseline_three_way(values: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(low, high) thresholds maximising train macro-F1: < low incorrect, < high contradictory."""
    best = (-1.0, 0.0, 0.0)
    for hi in GRID[::2]:
        for lo in GRID[::2]:
            if lo > hi:
                break
            pred = np.where(values >= hi, "correct", np.where(values >= lo, "contradictory", "incorrect"))
            f = f1_score(labels, pred, average="macro")
            if f > best[0]:
                best = (f, float(lo), float(hi))
    return best[1], best[2]


def main() -> None:
    import pandas as pd

    data = pd.read_csv(datasets_dir() / "semeval2013" / "semeval2013.csv", keep_default_na=False)
    data = data[data["split"].isin(("train", *SPLITS))].reset_index(drop=True)
    ids = [rubric_id_from(q) for q in data["question_id"]]
    with Timer() as t_build:
        rubrics = rubrics_by_question(ids, data["question"], data["reference_answer"], max_score=10)
    answers = data["student_answer"].tolist()
    pools = (data["corpus"] + "/" + data["module"].astype(str)).tolist()
    with Timer() as t_score:
        features = extract_features(rubrics, ids, answers, pools=pools)
        ours = predict(rubrics, features, range(len(ids))) / 10
    with Timer() as t_base:
        base = np.array([tfidf_cosine(a, r) for a, r in zip(answers, data["reference_answer"])])
    contradiction = np.array([bool(set(c) & CONTRADICTION_CODES) for c in features.all_flag_codes])

    rows = []
    for corpus in ("beetle", "sciEntsBank"):
        in_corpus = (data["corpus"] == corpus).to_numpy()
        train = in_corpus & (data["split"] == "train").to_numpy()
        two = (data["label_2way"] == "correct").to_numpy()
        three = data["label_3way"].to_numpy()
        train_rows = np.flatnonzero(train).tolist()
        settings = fit_settings(rubrics, features, (data["score"].astype(float)).to_numpy(), train_rows)
        calibrated = predict(rubrics, features, range(len(ids)), settings) / 10
        systems = {
            "bare TF-IDF cosine": (base, None),
            "grader, built rubrics": (ours, contradiction),
            "grader + calibration": (calibrated, contradiction),
        }
        fitted = {name: best_threshold(v[train], two[train]) for name, (v, _) in systems.items()}
        lo_hi = baseline_three_way(base[train], three[train])
        for split in SPLITS:
            test = in_corpus & (data["split"] == split).to_numpy()
            if not test.any():
                continue
            for name, (values, contra) in systems.items():
                t = fitted[name]
                pred2 = values[test] >= t
                if contra is None:
                    lo, hi = lo_hi
                    v = values[test]
                    pred3 = np.where(v >= hi, "correct", np.where(v >= lo, "contradictory", "incorrect"))
                else:
                    pred3 = three_way(values[test], t, contra[test])
                rows.append([
                    corpus, split.removeprefix("test-"), name, f"{t:.2f}", int(test.sum()),
                    accuracy_score(two[test], pred2), f1_score(two[test], pred2, average="macro"),
                    accuracy_score(three[test], pred3), f1_score(three[test], pred3, average="macro"),
                ])
    print(f"SemEval-2013 Task 7: {len(data)} answers, {len(rubrics)} questions; thresholds learned on train")
    print()
    print(markdown_table(["corpus", "split", "system", "t", "n", "2-way acc", "2-way macro-F1", "3-way acc", "3-way macro-F1"], rows))
    print()
    print("Published figures: none are listed in the data sets README for SemEval-2013.")
    print(f"time: build {len(rubrics)} rubrics {t_build.seconds:.1f}s, score {len(ids)} answers {t_score.seconds:.1f}s, "
          f"baseline {t_base.seconds:.1f}s")


if __name__ == "__main__":
    main()
