"""Validity checks on an answer: each yields a :class:`Flag` with a code and a plain message.

A flag may cap the score (``cap``, a fraction of max_score) and sends the answer to the
teacher's review queue (``review``). Checks are pure functions of the answer's tokens and
the rubric's question / model-answer stems.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from grader.text import MAX_ANSWER_CHARS, STOP_WORDS, Token, is_content


@dataclass(frozen=True, slots=True)
class Flag:
    """A warning about an answer: machine code, plain message, optional score cap, review switch."""

    code: str
    message: str
    cap: float | None = None
    review: bool = True


@dataclass(frozen=True, slots=True)
class AnswerContext:
    """What the checks need to know about the rubric, computed once per rubric."""

    question_stems: frozenset[str]
    model_stems: frozenset[str]
    min_words: int
    max_words: int


def check_answer(answer: str, tokens: list[Token], ctx: AnswerContext) -> list[Flag]:
    """Run every validity check on one answer; flags come back in a fixed order."""
    if not tokens:
        return [Flag("empty", "The answer has no words.", cap=0.0)]
    flags: list[Flag] = []
    for check in (_truncated, _length, _copies_question, _keyword_list, _repetition):
        flag = check(answer, tokens, ctx)
        if flag is not None:
            flags.append(flag)
    return flags


def _truncated(answer: str, tokens: list[Token], ctx: AnswerContext) -> Flag | None:
    if len(answer) > MAX_ANSWER_CHARS:
        return Flag("truncated", f"Only the first {MAX_ANSWER_CHARS:,} characters were read.")
    return None


def _length(answer: str, tokens: list[Token], ctx: AnswerContext) -> Flag | None:
    if len(tokens) < ctx.min_words:
        return Flag("too_short", f"The answer is very short ({len(tokens)} words); explain more fully.")
    if len(tokens) > ctx.max_words:
        return Flag("too_long", f"The answer is long ({len(tokens)} words); stay on the question.")
    return None


def _content_stems(tokens: Iterable[Token]) -> list[str]:
    return [t.stem for t in tokens if is_content(t)]


def _copies_question(answer: str, tokens: list[Token], ctx: AnswerContext) -> Flag | None:
    stems = _content_stems(tokens)
    if not stems:
        return None
    new = [s for s in stems if s not in ctx.question_stems]
    repeated = len(stems) - len(new)
    if repeated >= 2 and (len(new) <= 1 or len(new) / len(stems) < 0.25):
        return Flag("copies_question", "The answer mostly repeats the question; add your own explanation.", cap=0.1)
    return None


def _keyword_list(answer: str, tokens: list[Token], ctx: AnswerContext) -> Flag | None:
    if len(tokens) < 6:
        return None
    function_words = sum(1 for t in tokens if t.text in STOP_WORDS)
    if function_words / len(tokens) < 0.12:
        return Flag(
            "keyword_list",
            "This looks like a list of keywords; write full sentences that explain how they connect.",
            cap=0.5,
        )
    return None


def _repetition(answer: str, tokens: list[Token], ctx: AnswerContext) -> Flag | None:
    if len(tokens) < 12:
        return None
    words = [t.text for t in tokens]
    trigrams = list(zip(words, words[1:], words[2:]))
    if len(set(trigrams)) / len(trigrams) < 0.5:
        return Flag("repetition", "The same words are repeated many times; each point counts once.", cap=0.6)
    return None
