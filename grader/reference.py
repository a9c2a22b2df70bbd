"""The reference pages generated from the code: ``docs/cli.md`` and ``docs/flags.md``.

``make docs`` (``python -m grader.reference docs``) writes them; ``tests/test_project.py``
fails when a page and the code drift apart. The CLI page comes from the argument parser,
the flag page from the flag codes, their default effects (:mod:`grader.rubric`) and the
thresholds of the checks (:mod:`grader.integrity`), so a changed threshold changes the page.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from grader import integrity as checks
from grader.cli import build_parser
from grader.rubric import DEFAULT_FLAG_CAPS, DEFAULT_FLAG_PENALTIES, FLAG_CODES
from grader.text import MAX_ANSWER_CHARS

RAISED_WHEN: dict[str, str] = {
    "empty": "no words at all (empty, spaces, emoji, punctuation)",
    "truncated": f"longer than {MAX_ANSWER_CHARS:,} characters; only the start is read",
    "too_short": "fewer than `min_words` words and a non-answer (\"idk\", \"no idea\") or no rubric word at all; "
                 "a short correct answer is not flagged",
    "too_long": "more than `max_words` words",
    "keyword_list": f"under {checks.KEYWORD_FUNCTION_SHARE:.0%} function words ({checks.KEYWORD_MIN_WORDS}+ words), "
                    f"or a list of {checks.LIST_MIN_SEGMENTS}+ items of 1-{checks.LIST_MAX_SEGMENT_WORDS} words",
    "copies_question": f"{checks.QUESTION_COVERAGE:.0%}+ of the question's words restated with (almost) nothing new, "
                       "no new rubric word and no concept earned",
    "word_salad": "mostly model-answer words whose neighbours are out of the model answer's order, "
                  "or impossible function-word pairs (\"the of\")",
    "repetition": f"a repeated sentence, {checks.REPEATED_SHARE:.0%}+ of the words in phrases said 3+ times, "
                  f"or under {checks.DISTINCT_WORD_SHARE:.0%} distinct words",
    "gibberish": f"{checks.GIBBERISH_MIN_WORDS}+ unpronounceable \"words\" making {checks.GIBBERISH_SHARE:.0%}+ of them "
                 f"(rubric words never count), or {checks.SYMBOL_SOUP_SHARE:.0%}+ symbols in under "
                 f"{checks.SYMBOL_SOUP_MAX_WORDS} words",
    "other_script": "mostly not in the Latin alphabet",
    "off_topic": f"fluent, but under {checks.OFF_TOPIC_VOCAB_SHARE:.0%} of its content words belong to the rubric's "
                 f"vocabulary and it earns no concept (rubrics of {checks.MIN_TOPIC_VOCABULARY}+ vocabulary stems)",
    "wrong_question": "(a question set) another rubric's distinctive words cover much more of it than its own "
                      f"({checks.WRONG_QUESTION_RATIO:g}x)",
    "padding": f"{checks.PADDING_MIN_WORDS}+ words, {checks.PADDING_SHARE:.0%}+ of them in sentences that are not about "
               "the question; the on-topic sentences are scored",
    "contradiction": "a concept's claim reversed (\"censorship tightened\") and the concept not earned elsewhere",
    "negated_concept": "a concept's words in a negated claim (\"did not release prisoners\"); no credit for it",
    "copies_model_answer": f"{checks.COPY_TRIGRAM_SHARE:.0%}+ of its word trigrams are the model answer's",
}
"""When each validity flag is raised, in words (numbers from the checks' constants)."""


def _effect(code: str) -> str:
    cap, penalty = DEFAULT_FLAG_CAPS.get(code), DEFAULT_FLAG_PENALTIES.get(code, 0.0)
    parts = ["score 0" if cap == 0 else f"cap {cap:.0%}"] if cap is not None else []
    parts += [f"-{penalty:.0%}"] if penalty else []
    return ", ".join(parts) or "review only"


def flag_reference() -> str:
    """The flag table in Markdown: code, when it is raised, default effect (``docs/flags.md``)."""
    lines = [
        "# Flags",
        "",
        "Generated from `grader/rubric.py` and `grader/integrity.py` by `make docs`; do not edit by hand.",
        "",
        "Every flag but `empty` (nothing to read) sends the answer to the teacher's review queue. A",
        "rubric may change a flag's cap or penalty (`scoring.flag_caps`, `scoring.flag_penalties`);",
        "the defaults are below.",
        "",
        "| Flag | Raised when | Default effect |",
        "|---|---|---|",
    ]
    lines += [f"| `{code}` | {RAISED_WHEN[code]} | {_effect(code)} |" for code in sorted(FLAG_CODES)]
    lines += [
        "",
        "A matched rubric misconception is reported with the code `misconception` in the `flags`",
        "of `grader score --json` and `grader batch`; it costs the misconception's own penalty.",
    ]
    return "\n".join(lines)


def _commands(parser: argparse.ArgumentParser, prefix: str) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, help, parser) of every leaf command under ``parser``, in definition order."""
    out = []
    for action in parser._actions:  # argparse keeps sub-commands in a private list; there is no public one
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                nested = _commands(sub, f"{prefix} {name}")
                out += nested or [(f"{prefix} {name}", helps.get(name, ""), sub)]
    return out


def cli_reference() -> str:
    """The CLI reference in Markdown, generated from :func:`grader.cli.build_parser` (``docs/cli.md``).

    ``make docs`` writes it.
    """
    lines = ["# CLI reference", "", "Generated from `grader/cli.py` by `make docs`; do not edit by hand.", ""]
    for name, help_text, parser in _commands(build_parser(), "grader"):
        lines += [f"## {name}", "", help_text[:1].upper() + help_text[1:] + ".", "", "| argument | meaning |", "|---|---|"]
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if action.option_strings:
                shown = ", ".join(f"`{o}`" for o in action.option_strings)
                if action.nargs != 0:
                    shown += f" `{action.metavar or action.dest.upper()}`"
            else:
                shown = f"`{action.metavar or action.dest}`"
            meaning = (action.help or "").replace("|", "\\|")
            if action.choices and not isinstance(action, argparse._SubParsersAction):
                meaning += f" (one of: {', '.join(map(str, action.choices))})"
            if action.required and action.option_strings:
                meaning += " (required)"
            lines.append(f"| {shown} | {meaning} |")
        lines.append("")
    return "\n".join(lines)


PAGES = {"cli.md": "cli_reference", "flags.md": "flag_reference"}
"""File name of each generated page and the function that writes its text."""


def write_pages(folder: str | os.PathLike[str]) -> list[Path]:
    """Write every generated page into ``folder``; returns the files written."""
    out = []
    for name, function in PAGES.items():
        path = Path(folder) / name
        path.write_text(globals()[function]() + "\n", encoding="utf-8")
        out.append(path)
    return out


if __name__ == "__main__":  # pragma: no cover - `make docs`
    for written in write_pages(sys.argv[1] if len(sys.argv) > 1 else "docs"):
        print(f"wrote {written}")
