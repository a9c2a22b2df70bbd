"""ASAP short-answer scoring (Kaggle 2012): quadratic weighted kappa per prompt on public_test.

These prompts have scoring rubrics but no model answer, so each rubric is built from the
*train* answers only (:func:`grader.build.build_rubric_from_samples`: the most typical
top-scored answers as model answer, their key phrases, plus words and word pairs whose use
goes with higher scores as concepts and, as misconception candidates whose penalty the
calibration fits, up to 40 whose use goes with lower scores; both chosen on a validation
split of train), then calibrated on train (:mod:`grader.calibrator`, with the
staircase map whose cut points maximise QWK on train) and scored
on public_test, which is never used for fitting. The bare TF-IDF cosine baseline (answer
vs the same built model answer) is mapped to points by an isotonic fit on train.

Usage: ``.venv/bin/python benchmarks/asap.py [PROMPT ...]``
"""

from __future__ import annotations

import sys

import numpy as np
from _common import Timer, datasets_dir, markdown_table
from sklearn.isotonic import IsotonicRegression

from grader.build import build_rubric_from_samples
from grader.calibrator import extract_features, fit_settings, predict
from grader.evaluate import quadratic_kappa
from grader.similarity import tfidf_cosine


def main() -> None:
    import pandas as pd

    data = pd.read_csv(datasets_dir() / "asap-sas" / "asap-sas.csv", keep_default_na=False)
    prompts = [int(p) for p in sys.argv[1:]] or sorted(data["question_id"].unique())
    rows, seconds = [], 0.0
    for prompt in prompts:
        g = data[data["question_id"] == prompt].reset_index(drop=True)
        max_score = float(g["max_score"].iloc[0])
        train = np.flatnonzero((g["split"] == "train").to_numpy())
        test = np.flatnonzero((g["split"] == "public_test").to_numpy())
        human = g["score"].astype(float).to_numpy()
        answers = g["student_answer"].tolist()
        with Timer() as t:
            rubric = build_rubric_from_samples(
                g["question"].iloc[0], [answers[i] for i in train], human[train],
                rubric_id=f"asap-{prompt}", max_score=max_score, misconceptions=40,
            )
            rubrics = {rubric.id: rubric}
            features = extract_features(rubrics, [rubric.id] * len(g), answers)
            built = predict(rubrics, features, test.tolist())
            settings = fit_settings(rubrics, features, human / max_score, train, mapping="cuts")
            calibrated = predict(rubrics, features, test.tolist(), settings)
        seconds += t.seconds
        cosine = np.array([tfidf_cosine(a, rubric.model_answer) for a in answers])
        iso = IsotonicRegression(out_of_bounds="clip").fit(cosine[train], human[train])
        baseline = np.floor(iso.predict(cosine[test]) + 0.5)
        r1 = pd.to_numeric(g["score1"], errors="coerce").to_numpy()
        r2 = pd.to_numeric(g["score2"], errors="coerce").to_numpy()
        both = ~(np.isnan(r1) | np.isnan(r2))  # public_test has no second rating: train answers
        raters = quadratic_kappa(r1[both], r2[both], max_score=max_score) if both.any() else float("nan")
        y = human[test]
        rows.append([
            prompt, f"0-{max_score:g}", len(train), len(test), len(rubric.concepts),
            quadratic_kappa(y, baseline, max_score=max_score),
            quadratic_kappa(y, built, max_score=max_score),
            quadratic_kappa(y, calibrated, max_score=max_score),
            raters,
        ])
        print(f"prompt {prompt}: done in {t.seconds:.1f}s", file=sys.stderr, flush=True)
    means = ["mean", "", "", "", ""] + [float(np.mean([r[k] for r in rows])) for k in range(5, 9)]
    header = ["prompt", "score", "train", "public_test", "concepts", "bare TF-IDF + isotonic",
              "grader, built (no calibration)", "grader + calibration", "rater 1 vs 2 (train)"]
    print("ASAP-SAS: quadratic weighted kappa on public_test; rubrics built and calibrated on train only")
    print()
    print(markdown_table(header, [*rows, means]))
    print()
    print("Published (data sets README): rater 1 vs rater 2 mean QWK ~0.90; published models mean QWK 0.72-0.79.")
    print(f"time: build + score + calibrate {seconds:.1f}s for {len(rows)} prompts")


if __name__ == "__main__":
    main()
