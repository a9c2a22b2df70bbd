"""How often do the validity checks flag honest answers? And do they catch the gaming corpus?

Runs every answer of ``samples/destalinization/graded.csv`` through the scorer (with the
other rubrics' vocabularies, as ``grader batch`` on the rubric folder does) and reports:

* the false-flag rate: honest answers (human score >= 30% of max) that get a validity
  flag, split into flags that lower the score (cap or penalty) and review-only flags;
* which codes fire on all sample answers, by split (tune / heldout);
* the detection rate on the gaming corpus ``tests/gaming/corpus.yaml``.

Thresholds were set on the gaming corpus and the ``tune`` split; ``heldout`` is reported,
never tuned on. Usage: ``.venv/bin/python benchmarks/false_flags.py``
"""

from __future__ import annotations

import csv
import os
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.integrity import check_answer  # noqa: E402
from grader.rubric import FLAG_CODES, load_rubric, load_rubrics  # noqa: E402
from grader.scoring import Scorer  # noqa: E402
from grader.signals import rubric_vocabulary  # noqa: E402
from grader.text import tokenize  # noqa: E402

INFO_FLAGS = {"copies_model_answer"}  # a verbatim model answer is flagged on purpose (no penalty)
HONEST_FRACTION = 0.3


def main() -> int:
    rubrics = dict(load_rubrics(ROOT / "rubrics" / "destalinization"))
    rubrics["seasons"] = load_rubric(ROOT / "tests" / "gaming" / "seasons.yaml")
    vocab = {rid: rubric_vocabulary(r) for rid, r in rubrics.items()}
    seed_vocab = {rid: v for rid, v in vocab.items() if rid != "seasons"}
    scorers = {rid: Scorer(r, other_vocabularies=seed_vocab if rid != "seasons" else vocab) for rid, r in rubrics.items()}

    rows = list(csv.DictReader((ROOT / "samples" / "destalinization" / "graded.csv").open(encoding="utf-8")))
    started = time.perf_counter()
    results = [scorers[r["question_id"]].score(r["answer"]) for r in rows]
    elapsed = time.perf_counter() - started

    print(f"graded samples: {len(rows)} answers scored in {elapsed:.2f}s")
    # Cost of the checks themselves, against full scoring in the same run (batch throughput matters).
    prepared = [(scorers[r["question_id"]], r["answer"], tokenize(r["answer"])) for r in rows]
    started = time.perf_counter()
    for _ in range(5):
        for scorer, answer, tokens in prepared:
            check_answer(answer, tokens, scorer.context_)
    checks = (time.perf_counter() - started) / 5
    print(f"  integrity checks alone: {1000 * checks / len(rows):.3f} ms per answer = "
          f"{100 * checks / elapsed:.1f}% of full scoring time")
    for split in ("tune", "heldout", "all"):
        chosen = [(r, res) for r, res in zip(rows, results) if split == "all" or r["split"] == split]
        honest = [(r, res) for r, res in chosen if float(r["score"]) >= HONEST_FRACTION * res.max_score]
        validity = [[f for f in res.flags if f.code in FLAG_CODES - INFO_FLAGS] for _, res in honest]
        copies = sum(1 for _, res in honest if any(f.code in INFO_FLAGS for f in res.flags))
        any_flag = sum(1 for fl in validity if fl)
        costly = sum(1 for fl in validity if any(f.cap is not None and f.cap < 1 or f.penalty > 0 for f in fl))
        content = sum(1 for _, res in honest if res.misconceptions)
        print(
            f"  {split:8s} honest answers: {len(honest):3d}  validity-flagged: {any_flag} ({_pct(any_flag, len(honest))})"
            f"  score-lowering: {costly} ({_pct(costly, len(honest))})  misconception flags: {content}  model-answer copies: {copies}"
        )
        if split != "all":
            for (r, res), fl in zip(honest, validity):
                if fl:
                    print(f"      {r['answer_id']} human {r['score']} -> {res.score:g}: {', '.join(f.code for f in fl)}")
    counts = Counter(f.code for res in results for f in res.flags)
    print("  codes on all sample answers: " + ", ".join(f"{c}={n}" for c, n in sorted(counts.items())))

    corpus = yaml.safe_load((ROOT / "tests" / "gaming" / "corpus.yaml").read_text(encoding="utf-8"))
    caught = honest_clean = honest_total = gaming_total = 0
    for entry in corpus:
        rubric = rubrics[entry["rubric"]]
        scorer = scorers[entry["rubric"]]
        if entry.get("max_words"):
            scoring = rubric.scoring.model_copy(update={"max_words": entry["max_words"]})
            scorer = Scorer(rubric.model_copy(update={"scoring": scoring}), other_vocabularies=vocab)
        codes = {f.code for f in scorer.score(entry["answer"]).flags}
        if entry["expect"]:
            gaming_total += 1
            caught += entry["expect"] in codes
        else:
            honest_total += 1
            honest_clean += not (codes & FLAG_CODES)
    print(f"gaming corpus: {caught}/{gaming_total} gaming answers flagged with the expected code; "
          f"{honest_clean}/{honest_total} honest controls unflagged")
    mohler_false_flags()
    return 0


def mohler_false_flags() -> None:
    """Good answers (>= 4 of 5) of the Mohler data set, rubrics built automatically from each
    one-sentence reference answer (no WordNet, no tuning): thin rubrics, the hard case."""
    bases = [Path(os.environ["GRADER_DATASETS"])] if os.environ.get("GRADER_DATASETS") else []
    bases += [ROOT.parent / "shared" / "datasets", Path("/work/shared/datasets")]
    path = next((b / "mohler" / "mohler.csv" for b in bases if (b / "mohler" / "mohler.csv").is_file()), None)
    if path is None:
        print("mohler: data set not found, skipped")
        return
    from grader.build import build_rubric

    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    questions = {r["question_id"]: (r["question"], r["reference_answer"]) for r in rows}
    rubrics = {
        qid: build_rubric(q, ref, rubric_id="q" + qid.replace(".", "-"), use_wordnet=False)
        for qid, (q, ref) in questions.items()
    }
    vocab = {r.id: rubric_vocabulary(r) for r in rubrics.values()}
    scorers = {qid: Scorer(r, other_vocabularies=vocab) for qid, r in rubrics.items()}
    good = [r for r in rows if float(r["score"]) >= 4]
    flagged = costly = 0
    counts: Counter[str] = Counter()
    for r in good:
        result = scorers[r["question_id"]].score(r["student_answer"])
        validity = [f for f in result.flags if f.code in FLAG_CODES - INFO_FLAGS]
        counts.update(f.code for f in validity)
        flagged += bool(validity)
        costly += any(f.cap is not None or f.penalty > 0 for f in validity)
    print(f"mohler good answers (>= 4/5): {len(good)}  validity-flagged: {flagged} ({_pct(flagged, len(good))})  "
          f"score-lowering: {costly} ({_pct(costly, len(good))})")
    print("  codes: " + ", ".join(f"{c}={n}" for c, n in sorted(counts.items())))


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}%" if d else "n/a"


if __name__ == "__main__":
    raise SystemExit(main())
