"""Command-line interface: parses arguments, calls one library function, prints.

Library errors (:class:`grader.errors.GraderError`) become one line on stderr and exit
code 2. Heavy modules are imported inside the commands so ``grader --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader.errors import GraderError, InputError, MissingColumnError

MAX_INPUT_BYTES = 1_000_000


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in one line with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(2)


def _read_answer(args: argparse.Namespace) -> str:
    if args.text is not None:
        try:
            data = args.text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate that did not come from a byte of argv
            data = args.text.encode("utf-8", "replace")
    elif args.file is not None:
        path = Path(args.file)
        try:
            if path.exists() and not path.is_file() and not path.is_dir():  # a FIFO would block, a device never end
                raise InputError(f"{path}: not a regular file")
            with path.open("rb") as fh:
                data = fh.read(MAX_INPUT_BYTES + 1)
        except OSError as exc:
            raise InputError(f"{path}: cannot read answer file ({exc.strerror})") from None
    else:
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"answer is larger than {MAX_INPUT_BYTES:,} bytes; shorten it")
    if args.text is not None:
        return data.decode("utf-8", errors="replace")
    from grader.tabular import detect_encoding, looks_binary

    if looks_binary(data[:4096]):
        raise InputError("answer looks like a binary file, not text")
    return data.decode(detect_encoding(data[:65536]), errors="replace")


def cmd_score(args: argparse.Namespace) -> int:
    """grader score RUBRIC_OR_DIR [--question ID] (--text TEXT | --file PATH | -) [--json]"""
    from grader.scorer_set import ScorerSet

    scorers = ScorerSet.from_path(args.rubric, learned=True)  # learned data beside the rubric (grader learn)
    rubric_id = args.question or next(iter(scorers))
    if rubric_id not in scorers:
        raise InputError(f"{args.rubric}: no rubric with id {rubric_id!r} (ids: {', '.join(scorers)})")
    if len(scorers) > 1 and args.question is None:
        raise InputError(f"{args.rubric}: a folder of {len(scorers)} rubrics needs --question ID (ids: {', '.join(scorers)})")
    rubric = scorers.rubrics[rubric_id]
    answer = _read_answer(args)
    result = scorers.score(rubric_id, answer)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    print(f"{rubric.title or rubric.id}")
    print(f"Score: {result.score:g} / {result.max_score:g} ({result.percent:g}%)")
    for c in result.concepts:
        mark = "x" if c.matched else " "
        where = f'  <- "{c.evidence[0].text}"' if c.evidence else ""
        print(f"  [{mark}] {c.label}{where}")
    for item in result.feedback:
        print(f"- {item.text}")
    explanation = getattr(result, "explanation", "")
    if explanation:  # learned from graded answers (grader learn)
        print(f"Learned: rubric alone {result.rubric_score:g}; {explanation}; confidence {result.confidence:.2f}")
        for n in result.neighbours:
            print(f"  {n.score:g}/{result.max_score:g}  {_short(n.text)}")
    if result.needs_review:
        print("Needs review: " + "; ".join(result.review_reasons))
    return 0


def _short(text: str, width: int = 90) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= width else one_line[: width - 3] + "..."


def cmd_rubric_build(args: argparse.Namespace) -> int:
    """grader rubric build (--question TEXT --model-answer-file PATH -o OUT | --from-csv CSV --out-dir DIR)"""
    from grader.rubric import save_rubric

    if args.from_csv:
        if not args.out_dir:
            raise InputError("--from-csv needs --out-dir DIR")
        return _build_from_csv(args.from_csv, args.out_dir, use_wordnet=not args.no_wordnet)
    if not (args.question and args.model_answer_file and args.output):
        raise InputError("rubric build needs --question, --model-answer-file and -o (or --from-csv and --out-dir)")
    path = Path(args.model_answer_file)
    try:
        model_answer = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise InputError(f"{path}: cannot read model answer ({exc.strerror})") from None
    if not model_answer.strip():
        raise InputError(f"{path}: model answer is empty")
    rubric_id = args.id or _slug(Path(args.output).stem)
    rubric = _propose(args.question, model_answer, rubric_id=rubric_id, use_wordnet=not args.no_wordnet,
                      alternatives=args.alternative or ())
    save_rubric(rubric, args.output)
    print(f"wrote {args.output} ({len(rubric.concepts)} concepts)")
    return 0


def _slug(text: str) -> str:
    from grader.ids import rubric_id_from

    return rubric_id_from(text)


def _propose(question: str, model_answer: str, *, rubric_id: str, use_wordnet: bool, alternatives=()):  # -> Rubric
    """:func:`grader.build.build_rubric`, with its ValueErrors (bad id, empty text) as one-line InputErrors."""
    from pydantic import ValidationError

    from grader.build import build_rubric

    try:
        return build_rubric(question, model_answer, rubric_id=rubric_id, use_wordnet=use_wordnet, alternatives=alternatives)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "rubric"
        raise InputError(f"{where}: {err['msg'].removeprefix('Value error, ')}") from None
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _build_from_csv(csv_path: str, out_dir: str, *, use_wordnet: bool) -> int:
    from grader.ids import plan_rubric_ids
    from grader.rubric import save_rubric
    from grader.tabular import BadRow, find_column, read_rows

    header, rows = read_rows(csv_path)
    cols = [find_column(header, c, path=csv_path, option="the CSV header") for c in ("question_id", "question", "reference_answer")]
    lowered = [h.strip().lower() for h in header]
    alt_col = lowered.index("alternatives") if "alternatives" in lowered else None  # optional: "a|b|c"
    wanted, problems = [], []
    for line, row in rows:
        if isinstance(row, BadRow):
            problems.append(f"line {line}: {row.message}")
            continue
        row = row + [""] * (len(header) - len(row))
        qid, question, reference = (row[i].strip() for i in cols)
        if not (qid and question and reference):
            problems.append(f"line {line}: empty question_id, question or reference_answer")
            continue
        alternatives = [a for a in row[alt_col].split("|") if a.strip()] if alt_col is not None else []
        wanted.append((line, qid, question, reference, alternatives))
    ids, notices = plan_rubric_ids([(w[0], w[1]) for w in wanted], source=csv_path)  # before any write
    for notice in notices:
        print(f"{csv_path}: {notice}", file=sys.stderr)
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    written = 0
    for line, _, question, reference, alternatives in wanted:
        try:
            rubric = _propose(question, reference, rubric_id=ids[line], use_wordnet=use_wordnet, alternatives=alternatives)
        except InputError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        save_rubric(rubric, root / f"{ids[line]}.yaml", root=root)
        written += 1
    for p in problems:
        print(f"{csv_path}: {p}", file=sys.stderr)
    print(f"wrote {written} rubrics to {out_dir}")
    return 0 if written else 2


def cmd_batch(args: argparse.Namespace) -> int:
    """grader batch RUBRIC_FILE_OR_DIR INPUT.csv -o OUTPUT.csv"""
    from grader.batch import check_output_path, estimate_rows, run_batch
    from grader.progress import should_show, track

    check_output_path(args.output)
    if Path(args.output).is_dir():
        raise InputError(f"{args.output}: is a directory, expected an output file name")
    options = dict(answer_col=args.answer_col, question_col=args.question_col, chunk_size=args.chunk_size)
    if args.engine == "dask":
        from grader.dask_engine import run_batch_dask

        summary = run_batch_dask(args.rubrics, args.input, args.output, scheduler=args.scheduler,
                                 workers=args.jobs, **options)  # None: one worker per core
    else:
        if args.scheduler:
            raise InputError("--scheduler needs --engine dask")
        total = estimate_rows(args.input) if should_show(sys.stderr, quiet=args.quiet) else None
        summary = run_batch(
            args.rubrics, args.input, args.output, jobs=args.jobs or 1,
            progress=lambda chunks: track(chunks, size=lambda c: c[0], total=total, quiet=args.quiet),
            **options,
        )
    print(summary.line(), file=sys.stderr)
    return 0


def _graded(args: argparse.Namespace, *, default_split: str | None) -> tuple[Any, list[dict[str, str]], list[int]]:
    """The scorer set and graded rows (filtered to ``--split``) for evaluate, calibrate and suggest."""
    from grader.evaluate import filter_split, load_graded, rows_of_question
    from grader.scorer_set import ScorerSet
    from grader.tabular import find_column

    rubrics = ScorerSet.from_path(args.rubrics)
    rows, lines = load_graded(args.graded)
    split = args.split
    if split is None and any((row.get("split") or "").strip() for row in rows):
        split = default_split  # only a file that uses its split column defaults to `tune`
    if split == "all":
        split = None
    rows, lines = filter_split(rows, lines, split)
    if not Path(args.rubrics).is_dir():  # one rubric file: other questions' rows are not errors, just not ours
        rows, lines, others = rows_of_question(rows, lines, next(iter(rubrics)), question_col=args.question_col)
        if others:
            print(f"{args.graded}: {others} rows answer other questions; using the {len(rows)} rows of "
                  f"{next(iter(rubrics))!r}", file=sys.stderr)
    if not rows:
        raise InputError(f"{args.graded}: no graded rows" + (f" in split {split!r}" if split else ""))
    header = list(next((r for r in rows if r), {}))
    wanted = [(args.score_col, "--score-col"), (args.answer_col, "--answer-col")]
    if len(rubrics) > 1:
        wanted.append((args.question_col, "--question-col"))
    for column, option in wanted:
        find_column(header, column, path=args.graded, option=option)
    return rubrics, rows, lines


def _usable_graded(args: argparse.Namespace) -> tuple[dict[str, Any], list[Any]]:
    """Rubrics and the graded rows that can be used (tune split by default); others reported on stderr."""
    from grader.evaluate import parse_graded_rows

    rubrics, rows, lines = _graded(args, default_split="tune")
    usable, problems = parse_graded_rows(rubrics.rubrics, rows, score_col=args.score_col, answer_col=args.answer_col,
                                         question_col=args.question_col, line_numbers=lines)
    for problem in problems:
        print(f"{args.graded}: {problem}", file=sys.stderr)
    if not usable:
        raise InputError(f"{args.graded}: no usable graded answer")
    return rubrics, usable


def cmd_evaluate(args: argparse.Namespace) -> int:
    """grader evaluate RUBRIC_OR_DIR GRADED.csv [--score-col score] [--split S] [--json]"""
    from grader.evaluate import evaluate_rows, format_report
    from grader.learned import load_learned_all

    rubrics, rows, lines = _graded(args, default_split=None)
    learned = load_learned_all(args.rubrics, rubrics.rubrics)
    report = evaluate_rows(
        rubrics, rows, score_col=args.score_col, answer_col=args.answer_col,
        question_col=args.question_col, line_numbers=lines, top=args.top, learned=learned,
    )
    if learned:
        seen = {(rid, e.text) for rid, lrn in learned.items() for e in lrn.exemplars}
        inside = sum((r.question_id, r.answer[:4000]) in seen for r in report.rows)
        if inside:
            print(f"note: {inside} of these graded answers were learned from (grader learn); their agreement is in-sample",
                  file=sys.stderr)
    for problem in report.problems:
        print(f"{args.graded}: {problem}", file=sys.stderr)
    print(json.dumps(report.to_dict(), ensure_ascii=False) if args.json else format_report(report, top=args.top))
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """grader calibrate RUBRIC_OR_DIR GRADED.csv [--split tune] [--by answer|question] [--dry-run] [--force]"""
    from grader.calibrate import calibrate, format_cross_validation, improved, save_calibrated

    rubrics, usable = _usable_graded(args)
    result = calibrate(
        rubrics, [r.question_id for r in usable], [r.answer for r in usable],
        [r.human for r in usable], by=args.by, folds=args.folds, seed=args.seed, fit_weights=not args.no_weights,
        mapping=args.mapping,
    )
    if args.json:
        print(json.dumps(result.cv.to_dict(), ensure_ascii=False))
    else:
        print(format_cross_validation(result.cv))
    if args.dry_run:
        print("dry run: no rubric written", file=sys.stderr)
        return 0
    if not improved(result.cv) and not args.force:
        print("not written: the cross-validated Pearson r did not improve (use --force to write anyway)", file=sys.stderr)
        return 0
    for f in save_calibrated(result.rubrics, args.rubrics):
        print(f"wrote {f} (previous version kept as {f.name}.bak)", file=sys.stderr)
    return 0


def cmd_suggest(args: argparse.Namespace) -> int:
    """grader suggest RUBRIC_OR_DIR GRADED.csv [--split tune] [--json]"""
    from grader.suggest import format_suggestions, suggest

    rubrics, usable = _usable_graded(args)
    out = []
    for rubric_id in sorted({r.question_id for r in usable}):
        mine = [r for r in usable if r.question_id == rubric_id]
        out.append(suggest(rubrics.rubrics[rubric_id], [r.answer for r in mine], [r.human for r in mine]))
    if args.json:
        print(json.dumps([s.to_dict() for s in out], ensure_ascii=False))
    else:
        print("\n\n".join(format_suggestions(s) for s in out))
    return 0


def cmd_learn(args: argparse.Namespace) -> int:
    """grader learn RUBRIC_FILE_OR_DIR GRADED.csv [--answer-col answer] [--score-col score] [--question-col question_id]"""
    from grader.learn import format_learning, learn
    from grader.learned import save_learned

    rubrics, usable = _usable_graded(args)
    result = learn(rubrics.rubrics, [r.question_id for r in usable], [r.answer for r in usable], [r.human for r in usable],
                   folds=args.folds, seed=args.seed, source=f"{Path(args.graded).name}")
    for reason in result.refused.values():
        print(f"grader: not learned: {reason}", file=sys.stderr)
    assert result.report is not None
    print(json.dumps(result.report.to_dict(), ensure_ascii=False) if args.json else format_learning(result.report))
    if args.dry_run:
        print("dry run: nothing written", file=sys.stderr)
        return 0
    for rid in sorted(result.learned):
        path = save_learned(result.learned[rid], args.rubrics)
        print(f"wrote {path}", file=sys.stderr)
    return 0


def cmd_next(args: argparse.Namespace) -> int:
    """grader next RUBRIC_FILE_OR_DIR ANSWERS.csv [--graded GRADED.csv] [-n 10]"""
    import csv

    from grader.evaluate import load_graded, parse_graded_rows
    from grader.learned import load_learned_all
    from grader.pick import next_to_grade
    from grader.rubric import load_rubrics
    from grader.tabular import BadRow, find_column, read_rows, safe_cell

    rubrics = load_rubrics(args.rubrics)
    single = next(iter(rubrics)) if not Path(args.rubrics).is_dir() else None
    header, rows = read_rows(args.answers)
    answer_idx = find_column(header, args.answer_col, path=args.answers, option="--answer-col")
    question_idx = None if single else find_column(header, args.question_col, path=args.answers, option="--question-col")
    table = [(list(row) + [""] * len(header))[: len(header)] for _, row in rows if not isinstance(row, BadRow)]
    ids = [single if single else row[question_idx].strip() for row in table]  # type: ignore[index]
    keep = [i for i, rid in enumerate(ids) if rid in rubrics]
    graded = []
    if args.graded:
        graded_rows, lines = load_graded(args.graded)
        graded, problems = parse_graded_rows(rubrics, graded_rows, score_col=args.score_col, answer_col=args.answer_col,
                                             question_col=args.question_col, line_numbers=lines)
        for problem in problems:
            print(f"{args.graded}: {problem}", file=sys.stderr)
    picks = next_to_grade(
        rubrics, [ids[i] for i in keep], [table[i][answer_idx] for i in keep],
        graded_ids=[g.question_id for g in graded], graded_answers=[g.answer for g in graded],
        graded_scores=[g.human for g in graded], learned=load_learned_all(args.rubrics, rubrics), n=args.n,
    )
    writer = csv.writer(sys.stdout)
    taken = {h.strip().lower() for h in header}
    writer.writerow([safe_cell(h) for h in [*header, *(f"grader_{c}" if c in taken else c for c in ("rank", "group", "reason"))]])
    for p in picks:
        row = table[keep[p.row]]
        writer.writerow([safe_cell(c) for c in [*row, str(p.rank), f"{p.question_id}:{p.pick.group}", p.pick.reason]])
    print(f"{len(picks)} answers to grade next", file=sys.stderr)
    return 0


def _add_graded_args(p: argparse.ArgumentParser, *, split_help: str) -> None:
    p.add_argument("rubrics", metavar="RUBRIC_OR_DIR", help="rubric YAML file or folder of rubrics")
    p.add_argument("graded", metavar="GRADED.csv", help="CSV or XLSX of answers with human scores")
    p.add_argument("--score-col", default="score", help="column holding the human scores (default: score)")
    p.add_argument("--answer-col", default="answer", help="column holding the answers (default: answer)")
    p.add_argument("--question-col", default="question_id", help="column holding question ids (default: question_id)")
    p.add_argument("--split", help=split_help)
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``grader`` command."""
    parser = _Parser(prog="grader", description="Score essay answers against rubrics, with explanations.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("score", help="score one answer against a rubric")
    p.add_argument("rubric", metavar="RUBRIC_OR_DIR",
                   help="rubric YAML file (scored alone), or a folder: its question set (with --question)")
    p.add_argument("--question", metavar="ID",
                   help="with a folder: id of the rubric to score with, among the other rubrics of the set")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", help="the answer text")
    src.add_argument("--file", help="file holding the answer")
    src.add_argument("-", dest="stdin", action="store_true", help="read the answer from standard input")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_score)

    rubric = sub.add_parser("rubric", help="build and manage rubrics")
    rsub = rubric.add_subparsers(dest="rubric_command", metavar="SUBCOMMAND", parser_class=_Parser)
    rsub.required = True
    b = rsub.add_parser("build", help="propose a rubric from a question and model answer")
    b.add_argument("--question", help="the question text")
    b.add_argument("--model-answer-file", help="file holding the model answer")
    b.add_argument("--id", help="rubric id (default: from the output file name)")
    b.add_argument("-o", "--output", help="output YAML file")
    b.add_argument("--alternative", action="append", metavar="TEXT",
                   help="another acceptable answer (repeatable): any one of them earns the answer's concept")
    b.add_argument("--from-csv", help="CSV with question_id, question, reference_answer columns "
                   "(optional alternatives column: other acceptable answers separated by |)")
    b.add_argument("--out-dir", help="folder for the rubrics built from --from-csv")
    b.add_argument("--no-wordnet", action="store_true",
                   help="do not add derived forms and synonyms from the shipped WordNet table")
    b.set_defaults(func=cmd_rubric_build)

    p = sub.add_parser("batch", help="score a CSV or XLSX of answers")
    p.add_argument("rubrics", metavar="RUBRIC_FILE_OR_DIR",
                   help="one rubric for every row, or a folder: each row uses the rubric whose id is its question id")
    p.add_argument("input", metavar="INPUT.csv", help="CSV or XLSX file of answers")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT.csv",
                   help="output CSV: the input columns plus score, max_score, percent, flags, needs_review")
    p.add_argument("--answer-col", default="answer", help="column holding the answers (default: answer)")
    p.add_argument("--question-col", default="question_id", help="column holding question ids (default: question_id)")
    p.add_argument("--jobs", type=_positive_int, default=None, metavar="N",
                   help="worker processes (default: 1; with --engine dask: local cluster workers, default one per core)")
    p.add_argument("--chunk-size", type=_positive_int, default=2000, metavar="ROWS",
                   help="rows read, scored and written at a time (default: 2000)")
    p.add_argument("--quiet", action="store_true", help="no progress bar (it is only drawn on a terminal anyway)")
    p.add_argument("--engine", choices=("local", "dask"), default="local",
                   help="local processes (default) or Dask (needs the grader[dask] extra)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="with --engine dask: address of a running Dask scheduler (default: start a local cluster)")
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("evaluate", help="measure agreement with human scores")
    _add_graded_args(p, split_help="only rows whose split column has this value (default: all rows)")
    p.add_argument("--top", type=int, default=10, help="how many of the largest disagreements to list (default: 10)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("calibrate", help="fit scoring weights from human scores, with cross-validated figures")
    _add_graded_args(p, split_help="rows to fit on (default: tune when the file has a split column; 'all' for all)")
    p.add_argument("--by", choices=("answer", "question"), default="answer", help="cross-validate by answer or by question")
    p.add_argument("--folds", type=int, default=5, help="number of cross-validation folds (default: 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fold shuffle (default: 0)")
    p.add_argument("--no-weights", action="store_true", help="keep the concept weights; fit only the mix and mapping")
    p.add_argument("--mapping", choices=("isotonic", "cuts"), default="isotonic",
                   help="isotonic map (default) or, for scales of a few whole points, QWK-optimal cut points")
    p.add_argument("--dry-run", action="store_true", help="print the figures, write nothing")
    p.add_argument("--force", action="store_true", help="write even if the cross-validated figures did not improve")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("learn", help="learn from graded answers how to score the rest, with cross-validated figures")
    _add_graded_args(p, split_help="rows to learn from (default: tune when the file has a split column; 'all' for all)")
    p.add_argument("--folds", type=int, default=5, help="number of cross-validation folds (default: 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fold shuffle (default: 0)")
    p.add_argument("--dry-run", action="store_true", help="print the figures, write nothing")
    p.set_defaults(func=cmd_learn)

    p = sub.add_parser("next", help="which answers to grade next for the largest gain")
    p.add_argument("rubrics", metavar="RUBRIC_FILE_OR_DIR", help="rubric YAML file or folder of rubrics")
    p.add_argument("answers", metavar="ANSWERS.csv", help="CSV or XLSX of the answers to choose from")
    p.add_argument("--graded", metavar="GRADED.csv", help="answers already graded (with a score column)")
    p.add_argument("-n", type=_positive_int, default=10, help="answers to pick per question (default: 10)")
    p.add_argument("--answer-col", default="answer", help="column holding the answers (default: answer)")
    p.add_argument("--question-col", default="question_id", help="column holding question ids (default: question_id)")
    p.add_argument("--score-col", default="score", help="column of --graded holding the scores (default: score)")
    p.set_defaults(func=cmd_next)

    p = sub.add_parser("suggest", help="rubric suggestions from human scores")
    _add_graded_args(p, split_help="rows to learn from (default: tune when the file has a split column; 'all' for all)")
    p.set_defaults(func=cmd_suggest)
    return parser


def _on_sigterm(signum: int, frame: Any) -> None:
    """Remove the temporary files of writes in progress, then end as SIGTERM would have."""
    from grader.files import remove_temporary_files

    remove_temporary_files()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


COLUMN_OPTIONS = {"answer_col": "--answer-col", "question_col": "--question-col", "score_col": "--score-col"}
"""Command options that name a column of the input table."""


def _column_option(args: argparse.Namespace, column: str) -> str | None:
    """The option that set ``column`` in this command, if one did."""
    return next((flag for dest, flag in COLUMN_OPTIONS.items() if getattr(args, dest, None) == column), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``grader`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread (an in-process caller): leave signals alone
        previous = None
    try:
        return int(args.func(args) or 0)
    except MissingColumnError as exc:  # the library names the column; the CLI adds the option that sets it
        print(f"grader: error: {exc.message(_column_option(args, exc.column))}", file=sys.stderr)
        return 2
    except GraderError as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
