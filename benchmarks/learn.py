"""Learning from graded answers (:mod:`grader.learn`) against `calibrate` alone and a bare
TF-IDF nearest-neighbour baseline, on the three public data sets, in one run.

- ASAP-SAS: learn on train, score public_test; quadratic weighted kappa per prompt. The
  rubric of each prompt is built from its train answers (these prompts have no model
  answer), exactly as ``benchmarks/asap.py`` does; calibrate fits on train.
- Mohler: for each question, half of its answers (shuffled with seed 0) are graded, the
  other half scored; Pearson r over all scored halves. Rubrics built from the reference.
- SemEval-2013 test-unseen-answers: learn on train; 2-way accuracy, the learned pass mark
  (chosen on train) deciding "correct". Rubrics built from the reference answer.
- Learning curve (ASAP-SAS, SemEval unseen-answers): 10/20/30/50 graded answers per
  question picked by :func:`grader.pick.pick_next` as ``grader next`` does (bands of the
  rubric's score; in rounds: the next round uses the model learned so far) versus at
  random (mean of 3 seeds).
- Speed: ``learn`` on 2,000 graded answers; ``grader batch`` with and without learned data.

Every choice of the learner was made on train splits or cross-validation on train, never
on a test split. The bare baseline scores each answer with the score of its most similar
graded answer (sklearn TF-IDF, cosine). Features are cached in ``--cache`` (default
``/tmp/grader-learn-cache``) so reruns are fast; delete it after changing the rubric code.

Usage: ``.venv/bin/python benchmarks/learn.py [--only asap,mohler,semeval,curve,speed]``
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import Timer, datasets_dir, markdown_table, rubrics_by_question

from grader.scorer_set import ScorerSet
from grader.evaluate import agreement, quadratic_kappa
from grader.learn import Graded, check_enough, learn_questions, predict_graded, rubric_matrix
from grader.pick import pick_next, score_bands
from grader.ids import rubric_id_from
from grader.rubric import Rubric

CURVE = (10, 20, 30, 50)
SEEDS = (0, 1, 2)


# --- shared helpers -------------------------------------------------------------------------

def bare_nn(train_texts: list[str], train_scores: np.ndarray, test_texts: list[str]) -> np.ndarray:
    """Score of the most similar train answer (plain sklearn TF-IDF cosine; ties: first)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer()
    try:
        a = vec.fit_transform(train_texts)
    except ValueError:
        return np.full(len(test_texts), float(np.mean(train_scores)))
    sims = (vec.transform(test_texts) @ a.T).toarray()
    return np.asarray(train_scores)[np.argmax(sims, axis=1)]


def score_questions(rubrics: dict[str, Rubric], ids: list[str], answers: list[str], pools: list[str]) -> dict[str, tuple[list[int], np.ndarray, np.ndarray]]:
    """Per rubric: (rows, rubric feature matrix, rubric scores), scoring per pool as `grader batch` would."""
    out: dict[str, tuple[list[int], np.ndarray, np.ndarray]] = {}
    by_pool: dict[str, dict[str, list[int]]] = {}
    for i, (rid, pool) in enumerate(zip(ids, pools)):
        by_pool.setdefault(pool, {}).setdefault(rid, []).append(i)
    for pool, groups in sorted(by_pool.items()):
        scorers = ScorerSet({rid: rubrics[rid] for rid in groups})
        for rid, rows in sorted(groups.items()):
            results = scorers.score_many(rid, [answers[i] for i in rows])
            out[rid] = (rows, rubric_matrix(rubrics[rid], results), np.array([r.score for r in results]))
    return out


def save_cache(path: Path, rubrics: dict[str, Rubric], scored: dict, extra: dict[str, np.ndarray]) -> None:
    arrays = {**{f"x:{r}": v[1] for r, v in scored.items()}, **{f"s:{r}": v[2] for r, v in scored.items()},
              **{f"rows:{r}": np.array(v[0]) for r, v in scored.items()}, **{f"extra:{k}": v for k, v in extra.items()}}
    np.savez_compressed(path.with_suffix(".npz"), **arrays)
    path.with_suffix(".json").write_text(json.dumps({r: rb.model_dump(mode="json") for r, rb in rubrics.items()}))


def load_cache(path: Path) -> tuple[dict[str, Rubric], dict, dict[str, np.ndarray]] | None:
    if not path.with_suffix(".npz").exists():
        return None
    data = np.load(path.with_suffix(".npz"))
    rubrics = {r: Rubric.model_validate(d) for r, d in json.loads(path.with_suffix(".json").read_text()).items()}
    scored = {r: (data[f"rows:{r}"].tolist(), data[f"x:{r}"], data[f"s:{r}"]) for r in rubrics if f"x:{r}" in data}
    extra = {k.removeprefix("extra:"): data[k] for k in data.files if k.startswith("extra:")}
    return rubrics, scored, extra


def graded_of(rubric: Rubric, texts: list[str], x: np.ndarray, s: np.ndarray, y: np.ndarray, rows) -> Graded:
    rows = list(rows)
    return Graded(rubric, [texts[i] for i in rows], x[rows], s[rows], y[rows])


def learnable(g: Graded) -> bool:
    try:
        check_enough(g, min_graded=2)
        return True
    except Exception:
        return False


# --- ASAP-SAS -------------------------------------------------------------------------------

def asap_data(cache: Path):
    import pandas as pd

    from grader.build import build_rubric_from_samples
    from grader.calibrator import extract_features, fit_settings, predict

    data = pd.read_csv(datasets_dir() / "asap-sas" / "asap-sas.csv", keep_default_na=False)
    out = {}
    for prompt in sorted(data["question_id"].unique()):
        g = data[data["question_id"] == prompt].reset_index(drop=True)
        path = cache / f"asap-{prompt}"
        cached = load_cache(path)
        texts = g["student_answer"].tolist()
        human = g["score"].astype(float).to_numpy()
        train = np.flatnonzero((g["split"] == "train").to_numpy())
        test = np.flatnonzero((g["split"] == "public_test").to_numpy())
        if cached is None:
            max_score = float(g["max_score"].iloc[0])
            rubric = build_rubric_from_samples(g["question"].iloc[0], [texts[i] for i in train], human[train],
                                               rubric_id=f"asap-{prompt}", max_score=max_score, misconceptions=40)
            rubrics = {rubric.id: rubric}
            features = extract_features(rubrics, [rubric.id] * len(g), texts)
            settings = fit_settings(rubrics, features, human / max_score, train, mapping="cuts")
            calibrated = predict(rubrics, features, range(len(g)), settings)
            scored = score_questions(rubrics, [rubric.id] * len(g), texts, [""] * len(g))
            save_cache(path, rubrics, scored, {"calibrated": calibrated})
            cached = load_cache(path)
            print(f"asap prompt {prompt}: features cached", file=sys.stderr, flush=True)
        rubrics, scored, extra = cached
        rubric = next(iter(rubrics.values()))
        _, x, s = scored[rubric.id]
        out[prompt] = dict(rubric=rubric, texts=texts, x=x, s=s, y=human, train=train, test=test, calibrated=extra["calibrated"])
    return out


def run_asap(asap) -> tuple[str, float]:
    rows = []
    for prompt, d in asap.items():
        rubric, y, train, test = d["rubric"], d["y"], d["train"], d["test"]
        m = rubric.max_score
        learned = learn_questions({rubric.id: graded_of(rubric, d["texts"], d["x"], d["s"], y, train)})[rubric.id]
        pred, _, _ = predict_graded(learned, graded_of(rubric, d["texts"], d["x"], d["s"], y, test))
        nn = bare_nn([d["texts"][i] for i in train], y[train], [d["texts"][i] for i in test])
        rows.append([prompt, f"0-{m:g}", len(train), len(test), quadratic_kappa(y[test], nn, max_score=m),
                     quadratic_kappa(y[test], d["calibrated"][test], max_score=m), quadratic_kappa(y[test], pred, max_score=m)])
    means = ["mean", "", "", ""] + [float(np.mean([r[k] for r in rows])) for k in (4, 5, 6)]
    table = markdown_table(["prompt", "score", "train", "public_test", "bare TF-IDF 1-NN", "grader + calibrate", "grader + learn"], [*rows, means])
    return table, means[-1]


# --- Mohler ---------------------------------------------------------------------------------

def mohler_data(cache: Path):
    import pandas as pd

    data = pd.read_csv(datasets_dir() / "mohler" / "mohler.csv", dtype={"question_id": str}, keep_default_na=False)
    data = data[data["excluded_in_published_work"].astype(int) == 0].reset_index(drop=True)
    ids = ["q" + q.replace(".", "-") for q in data["question_id"]]
    texts = data["student_answer"].tolist()
    path = cache / "mohler"
    cached = load_cache(path)
    if cached is None:
        rubrics = rubrics_by_question(ids, data["question"], data["reference_answer"], max_score=5)
        scored = score_questions(rubrics, ids, texts, data["assignment"].astype(str).tolist())
        save_cache(path, rubrics, scored, {})
        cached = load_cache(path)
    rubrics, scored, _ = cached
    return rubrics, scored, texts, data["score"].astype(float).to_numpy(), ids


def run_mohler(mohler) -> tuple[str, float]:
    from grader.calibrator import extract_features, fit_settings, predict

    rubrics, scored, texts, human, ids = mohler
    rng = np.random.default_rng(0)
    train_rows, test_rows = [], []
    questions_train, questions_test = {}, {}
    for rid, (rows, x, s) in sorted(scored.items()):
        order = rng.permutation(len(rows))
        half = len(rows) // 2
        tr, te = sorted(order[:half].tolist()), sorted(order[half:].tolist())
        local_y = human[rows]
        local_texts = [texts[i] for i in rows]
        questions_train[rid] = graded_of(rubrics[rid], local_texts, x, s, local_y, tr)
        questions_test[rid] = graded_of(rubrics[rid], local_texts, x, s, local_y, te)
        train_rows += [rows[i] for i in tr]
        test_rows += [rows[i] for i in te]
    learned = learn_questions(questions_train)
    y_true, y_learn, y_nn = [], [], []
    for rid in sorted(questions_test):
        pred, _, _ = predict_graded(learned[rid], questions_test[rid])
        y_true += questions_test[rid].scores.tolist()
        y_learn += pred.tolist()
        y_nn += bare_nn(questions_train[rid].texts, questions_train[rid].scores, questions_test[rid].texts).tolist()
    # calibrate alone on the same halves (its own features; pools as in benchmarks/mohler.py are not needed for the fit)
    features = extract_features(rubrics, ids, texts)
    settings = fit_settings(rubrics, features, human / 5.0, train_rows)
    cal = predict(rubrics, features, test_rows, settings)
    cal_true = human[test_rows]
    rows = [
        ["bare TF-IDF 1-NN to the graded half", agreement(y_true, y_nn, max_score=5)["pearson"], agreement(y_true, y_nn, max_score=5)["rmse"]],
        ["grader + calibrate (fit on the graded halves)", agreement(cal_true, cal, max_score=5)["pearson"], agreement(cal_true, cal, max_score=5)["rmse"]],
        ["grader + learn (fit on the graded halves)", agreement(y_true, y_learn, max_score=5)["pearson"], agreement(y_true, y_learn, max_score=5)["rmse"]],
    ]
    return markdown_table(["system (scored halves, n=%d)" % len(y_true), "Pearson r", "RMSE"], rows), rows[-1][1]


# --- SemEval-2013 -------------------------------------------------------------------------------

def semeval_data(cache: Path):
    import pandas as pd

    from grader.calibrator import extract_features, fit_settings, predict

    data = pd.read_csv(datasets_dir() / "semeval2013" / "semeval2013.csv", keep_default_na=False)
    data = data[data["split"].isin(("train", "test-unseen-answers"))].reset_index(drop=True)
    ids = [rubric_id_from(q) for q in data["question_id"]]
    texts = data["student_answer"].tolist()
    pools = (data["corpus"] + "/" + data["module"].astype(str)).tolist()
    path = cache / "semeval"
    cached = load_cache(path)
    if cached is None:
        rubrics = rubrics_by_question(ids, data["question"], data["reference_answer"], max_score=10)
        scored = score_questions(rubrics, ids, texts, pools)
        features = extract_features(rubrics, ids, texts, pools=pools)
        calibrated = np.zeros(len(ids))
        for corpus in ("beetle", "sciEntsBank"):
            in_corpus = (data["corpus"] == corpus).to_numpy()
            train_rows = np.flatnonzero(in_corpus & (data["split"] == "train").to_numpy()).tolist()
            settings = fit_settings(rubrics, features, data["score"].astype(float).to_numpy(), train_rows)
            rows = np.flatnonzero(in_corpus).tolist()
            calibrated[rows] = predict(rubrics, features, rows, settings) / 10
        save_cache(path, rubrics, scored, {"calibrated": calibrated})
        cached = load_cache(path)
    rubrics, scored, extra = cached
    return data, rubrics, scored, texts, extra["calibrated"]


def _semeval_questions(data, rubrics, scored, texts, corpus: str):
    y10 = data["score"].astype(float).to_numpy() * 10
    split = data["split"].to_numpy()
    qs = {}
    for rid, (rows, x, s) in scored.items():
        if data["corpus"].iloc[rows[0]] != corpus:
            continue
        local = [texts[i] for i in rows]
        tr = [k for k, i in enumerate(rows) if split[i] == "train"]
        te = [k for k, i in enumerate(rows) if split[i] == "test-unseen-answers"]
        qs[rid] = (graded_of(rubrics[rid], local, x, s, y10[rows], tr), graded_of(rubrics[rid], local, x, s, y10[rows], te) if te else None,
                   [rows[k] for k in te])
    return qs


def semeval_accuracy(qs, chosen: dict[str, list[int]] | None = None) -> float:
    """2-way accuracy on unseen answers of models learned on (a subset of) each question's train answers."""
    train = {}
    for rid, (tr, te, _) in qs.items():
        if te is None:
            continue
        g = tr if chosen is None else graded_of(tr.rubric, tr.texts, tr.rubric_x, tr.rubric_scores, tr.scores, chosen[rid])
        if learnable(g):
            train[rid] = g
    learned = learn_questions(train, min_graded=2) if train else {}
    right = total = 0
    for rid, (tr, te, _) in qs.items():
        if te is None:
            continue
        truth = te.scores >= 5
        if rid in learned:
            _, frac, _ = predict_graded(learned[rid], te)
            t = learned[rid].pass_mark if learned[rid].pass_mark is not None else 0.5
            pred = frac >= t
        else:  # nothing learnable (one label only among the picked answers): that label
            labels = (tr.scores if chosen is None else tr.scores[chosen[rid]]) >= 5
            pred = np.full(len(truth), bool(labels.mean() >= 0.5) if len(labels) else False)
        right += int((pred == truth).sum())
        total += len(truth)
    return right / total


def run_semeval(semeval) -> tuple[str, dict[str, float]]:
    from sklearn.metrics import f1_score

    data, rubrics, scored, texts, calibrated = semeval
    rows, learned_acc = [], {}
    two = (data["label_2way"] == "correct").to_numpy()
    for corpus in ("beetle", "sciEntsBank"):
        qs = _semeval_questions(data, rubrics, scored, texts, corpus)
        in_corpus = (data["corpus"] == corpus).to_numpy()
        train = in_corpus & (data["split"] == "train").to_numpy()
        test = in_corpus & (data["split"] == "test-unseen-answers").to_numpy()
        grid = np.round(np.linspace(0, 1, 101), 2)
        t = grid[int(np.argmax([f1_score(two[train], calibrated[train] >= g, average="macro") for g in grid]))]
        cal_acc = float(np.mean((calibrated[test] >= t) == two[test]))
        right = total = 0
        for rid, (tr, te, _) in qs.items():
            if te is None:
                continue
            nn = bare_nn(tr.texts, tr.scores, te.texts)
            right += int(((nn >= 5) == (te.scores >= 5)).sum())
            total += len(te.texts)
        learned_acc[corpus] = semeval_accuracy(qs)
        rows.append([corpus, int(test.sum()), right / total, cal_acc, learned_acc[corpus]])
    return markdown_table(["corpus", "unseen answers", "bare TF-IDF 1-NN", "grader + calibrate", "grader + learn"], rows), learned_acc


# --- learning curve ----------------------------------------------------------------------------

def picks_by_next(g: Graded, sizes=CURVE) -> dict[int, list[int]]:
    """Rows of ``g`` picked by `next` in rounds: first groups, then the least certain under the model so far."""
    chosen: list[int] = []
    out = {}
    for size in sizes:
        want = min(size, len(g.texts)) - len(chosen)
        if want > 0:
            pool = [i for i in range(len(g.texts)) if i not in set(chosen)]
            confidence = None
            sub = graded_of(g.rubric, g.texts, g.rubric_x, g.rubric_scores, g.scores, chosen)
            if len(chosen) >= 10 and learnable(sub):
                learned = learn_questions({g.rubric.id: sub}, min_graded=2)[g.rubric.id]
                _, _, confidence = predict_graded(learned, graded_of(g.rubric, g.texts, g.rubric_x, g.rubric_scores, g.scores, pool))
            picks = pick_next([g.texts[i] for i in pool], graded=[g.texts[i] for i in chosen], n=want,
                              confidence=None if confidence is None else confidence.tolist(),
                              strata=score_bands(g.rubric_x[:, 0])[pool].tolist())
            chosen += [pool[p.index] for p in picks]
        out[size] = list(chosen)
    return out


def picks_random(g: Graded, seed: int, sizes=CURVE) -> dict[int, list[int]]:
    order = np.random.default_rng(seed).permutation(len(g.texts)).tolist()
    return {size: order[: min(size, len(order))] for size in sizes}


def asap_curve_qwk(asap, chosen_by_prompt: dict[int, list[int]]) -> float:
    values = []
    for prompt, d in asap.items():
        rubric, y = d["rubric"], d["y"]
        rows = [int(d["train"][i]) for i in chosen_by_prompt[prompt]]
        g = graded_of(rubric, d["texts"], d["x"], d["s"], y, rows)
        test = graded_of(rubric, d["texts"], d["x"], d["s"], y, d["test"])
        if learnable(g):
            pred, _, _ = predict_graded(learn_questions({rubric.id: g}, min_graded=2)[rubric.id], test)
        else:
            pred = np.full(len(test.texts), float(np.median(g.scores)))
        values.append(quadratic_kappa(test.scores, pred, max_score=rubric.max_score))
    return float(np.mean(values))


def run_curve(asap, semeval) -> tuple[str, dict]:
    rows, verdict = [], {}
    # ASAP: picks among each prompt's train answers
    train_graded = {p: graded_of(d["rubric"], d["texts"], d["x"], d["s"], d["y"], d["train"]) for p, d in asap.items()}
    nxt = {p: picks_by_next(g) for p, g in train_graded.items()}
    rnd = {seed: {p: picks_random(g, seed) for p, g in train_graded.items()} for seed in SEEDS}
    for size in CURVE:
        a = asap_curve_qwk(asap, {p: nxt[p][size] for p in asap})
        b = float(np.mean([asap_curve_qwk(asap, {p: rnd[s][p][size] for p in asap}) for s in SEEDS]))
        rows.append(["ASAP-SAS (mean QWK, public_test)", size, a, b, a - b])
        verdict[("asap", size)] = a > b
        print(f"curve asap {size}: next {a:.3f} random {b:.3f}", file=sys.stderr, flush=True)
    data, rubrics, scored, texts, _ = semeval
    for corpus in ("beetle", "sciEntsBank"):
        qs = _semeval_questions(data, rubrics, scored, texts, corpus)
        nxt = {rid: picks_by_next(tr) for rid, (tr, _, _) in qs.items()}
        rnd = {seed: {rid: picks_random(tr, seed) for rid, (tr, _, _) in qs.items()} for seed in SEEDS}
        for size in CURVE:
            a = semeval_accuracy(qs, {rid: nxt[rid][size] for rid in qs})
            b = float(np.mean([semeval_accuracy(qs, {rid: rnd[s][rid][size] for rid in qs}) for s in SEEDS]))
            rows.append([f"SemEval {corpus} (2-way acc, unseen answers)", size, a, b, a - b])
            verdict[(corpus, size)] = a > b
            print(f"curve {corpus} {size}: next {a:.3f} random {b:.3f}", file=sys.stderr, flush=True)
    return markdown_table(["data", "graded per question", "picked by next", "random (mean of 3)", "difference"], rows), verdict


# --- speed ---------------------------------------------------------------------------------------

def run_speed(asap) -> str:
    import yaml

    from grader.batch import run_batch
    from grader.learn import graded_questions
    from grader.learned import save_learned

    d = asap[1]
    rubric = d["rubric"]
    rows = d["train"][:2000].tolist() + d["test"][: max(0, 2000 - len(d["train"]))].tolist()
    texts = [d["texts"][i] for i in rows]
    scores = d["y"][rows]
    with Timer() as t_score:
        qs = graded_questions({rubric.id: rubric}, [rubric.id] * len(texts), texts, scores.tolist())
    with Timer() as t_learn:
        learned = learn_questions(qs)[rubric.id]
    out = [["learn: rubric scores of the graded answers", len(texts), f"{t_score.seconds:.1f} s"],
           ["learn: fit (exemplars, ridge, cuts, confidence)", len(texts), f"{t_learn.seconds:.1f} s"],
           ["learn: total", len(texts), f"{t_score.seconds + t_learn.seconds:.1f} s"]]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "rubrics"
        folder.mkdir()
        (folder / f"{rubric.id}.yaml").write_text(yaml.safe_dump(rubric.model_dump(mode="json", exclude_none=True), sort_keys=False))
        all_texts = d["texts"] * 2
        src = Path(tmp) / "answers.csv"
        with src.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["question_id", "answer"])
            for i, a in enumerate(all_texts):
                w.writerow([rubric.id, f"{a} (copy {i})"])  # distinct texts: no memo hits
        timings = {}
        for label in ("without learned data", "with learned data"):
            if label == "with learned data":
                save_learned(learned, folder)
            start = time.perf_counter()
            run_batch(folder, src, Path(tmp) / "out.csv")
            timings[label] = time.perf_counter() - start
            out.append([f"batch, {label}", len(all_texts), f"{timings[label]:.1f} s ({len(all_texts) / timings[label]:.0f} answers/s)"])
        out.append(["batch slowdown with learned data", "", f"{timings['with learned data'] / timings['without learned data']:.2f}x"])
    return markdown_table(["what", "answers", "time"], out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="asap,mohler,semeval,curve,speed", help="comma-separated parts to run")
    parser.add_argument("--cache", default="/tmp/grader-learn-cache", help="folder for cached rubric features")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    asap = asap_data(cache) if parts & {"asap", "curve", "speed"} else None
    semeval = semeval_data(cache) if parts & {"semeval", "curve"} else None
    if "asap" in parts:
        with Timer() as t:
            table, mean = run_asap(asap)
        print(f"ASAP-SAS: QWK on public_test, learned on train (target mean >= 0.75); {t.seconds:.0f}s\n\n{table}\n", flush=True)
    if "mohler" in parts:
        with Timer() as t:
            table, r = run_mohler(mohler_data(cache))
        print(f"Mohler: half of each question's answers graded, the other half scored (target Pearson >= 0.68); {t.seconds:.0f}s\n\n{table}\n", flush=True)
    if "semeval" in parts:
        with Timer() as t:
            table, _ = run_semeval(semeval)
        print(f"SemEval-2013 test-unseen-answers: 2-way accuracy, learned on train (target >= 0.80 both); {t.seconds:.0f}s\n\n{table}\n", flush=True)
    if "curve" in parts:
        with Timer() as t:
            table, _ = run_curve(asap, semeval)
        print(f"Learning curve: graded answers per question picked by `next` vs at random; {t.seconds:.0f}s\n\n{table}\n", flush=True)
    if "speed" in parts:
        print(f"Speed (shared 2-core machine)\n\n{run_speed(asap)}\n", flush=True)


if __name__ == "__main__":
    main()
