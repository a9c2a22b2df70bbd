"""Validity checks on an answer: each yields a :class:`Flag` with a code and a plain message.

Students learn fast how to game a keyword scorer: keyword lists, a copied question, the
model answer's words shuffled, repeated sentences, random characters, fluent text about
something else, long padding around a short correct core. Each check here catches one such
trick with cheap, dictionary-free signals (stems, word n-grams, function words, letter
patterns) and yields a flag that caps or lowers the score as the rubric says
(:meth:`grader.rubric.Scoring.flag_cap`, :meth:`~grader.rubric.Scoring.flag_penalty`) and
sends the answer to the teacher's review queue. Messages are shown to students, so they
never quote the model answer or the rubric's terms.

The signals come from :mod:`grader.signals` (:func:`~grader.signals.measure`, all in one pass,
against an :class:`~grader.signals.AnswerContext` computed once per rubric), so
:func:`check_answer` is a set of thresholds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from grader.signals import (
    PADDING_MIN_WORDS,
    AnswerContext,
    Signals,
    _sentences,
    measure,
    on_topic_sentences,
    rubric_vocabulary,  # noqa: F401 - re-exported: public API (grader.rubric_vocabulary) since before the split
)
from grader.concepts import occurrences_around
from grader.text import MAX_ANSWER_CHARS, Token, is_negated


@dataclass(frozen=True, slots=True)
class Flag:
    """A warning about an answer: machine code, plain message, optional cap or penalty, review switch.

    ``cap`` and ``penalty`` are fractions of max_score; ``review`` sends the answer to the
    teacher's review queue.
    """

    code: str
    message: str
    cap: float | None = None
    review: bool = True
    penalty: float = 0.0


# --- thresholds (tuned on the gaming corpus in tests/gaming and the `tune` split only) ---
KEYWORD_FUNCTION_SHARE = 0.12
"""Below this share of function words (6+ words) an answer is a keyword list."""
OFF_TOPIC_VOCAB_SHARE = 0.2
"""Below this share of content words from the rubric's vocabulary (6+ content words): off topic."""
WRONG_QUESTION_RATIO = 2.0
"""Another rubric's distinctive vocabulary covers this many times more of the answer: wrong question."""
RICH_VOCABULARY = 60
"""Rubrics with fewer vocabulary stems get proportionally lower off-topic / wrong-question bars."""
MIN_TOPIC_VOCABULARY = 30
"""Below this many vocabulary stems (a one-sentence model answer, no synonyms) a rubric says too
little about its topic to call an answer off topic, padded, meant for another question, or too
short for lack of rubric words: honest answers in their own words share no word with it."""
QUESTION_COVERAGE = 0.4
"""copies_question needs 40%+ of the question's words: choosing "run-time error" from a question
that offers two options is an answer, not a restatement."""
PADDING_SHARE = 0.5
"""Padding: 60+ words of which at least half sit in sentences with no rubric vocabulary."""
SALAD_MODEL_SHARE = 0.6
SALAD_MIN_PAIRS = 6
SALAD_ORDER_SHARE = 0.25
"""Word salad: 60%+ of the content words come from the model answer, yet of 6+ neighbouring
pairs of them fewer than 25% keep the model answer's order (within ORDER_REACH words)."""
SALAD_BAD_PAIRS = 0.12
COPY_TRIGRAM_SHARE = 0.6
GIBBERISH_SHARE = 0.35
TRIGRAM_UNIQUE_SHARE = 0.5
DISTINCT_WORD_SHARE = 0.2
REPEATED_SHARE = 0.6
"""Repetition: a sentence repeated (3+ times if under 4 words), 60%+ of the words inside 4-word
phrases said three times or more or under half the trigrams distinct (12+ words), or under 20% distinct words.
Naming a term several times ("the binary search tree ...") or enumerating combinations
("constant pointer to nonconstant data, ...") stays below these."""

_NON_ANSWER = re.compile(
    r"\b(idk|dunno|don'?t know|do not know|no idea|not sure|no clue|pass|skip|n/?a|none)\b", re.IGNORECASE
)

REVERSAL_SLACK = 2


def _flag(ctx: AnswerContext, code: str, message: str) -> Flag:
    return Flag(code, message, cap=ctx.caps.get(code), penalty=ctx.penalties.get(code, 0.0))


def check_answer(
    answer: str,
    tokens: list[Token],
    ctx: AnswerContext,
    *,
    matched: frozenset[str] = frozenset(),
    known_spans: tuple[tuple[int, int], ...] = (),
) -> list[Flag]:
    """Run every validity check on one answer; flags come back in a fixed order.

    ``matched`` holds the ids of concepts the answer earned (a reversed claim of an earned
    concept is not a contradiction: "repression eased, then returned under Brezhnev"; an
    answer that earns a concept neither copies the question nor is off topic, even when it
    says it in the question's words: "declared our independence");
    ``known_spans`` are spans of matched misconceptions, which already cost points and
    are named in the feedback.

    >>> ctx = AnswerContext(frozenset(), frozenset(), 6, 600)
    >>> [f.code for f in check_answer("", [], ctx)]
    ['empty']
    """
    if not tokens:
        return [_flag(ctx, "empty", "The answer has no words.")]
    s = measure(answer, tokens, ctx)
    flags: list[Flag] = []
    if len(answer) > MAX_ANSWER_CHARS:
        flags.append(_flag(ctx, "truncated", f"Only the first {MAX_ANSWER_CHARS:,} characters were read."))
    rich = s.vocab_size >= MIN_TOPIC_VOCABULARY
    if s.words < ctx.min_words and (_NON_ANSWER.search(answer) or rich and s.vocab_hits == 0):
        flags.append(_flag(ctx, "too_short", f"The answer is very short ({s.words} words); explain more fully."))
    elif s.words > ctx.max_words:
        flags.append(_flag(ctx, "too_long", f"The answer is long ({s.words} words); stay on the question."))
    if s.latin_share < LATIN_MIN_SHARE:
        flags.append(_flag(ctx, "other_script", "The answer is mostly not in the Latin alphabet; a teacher will read it."))
        return flags
    gibberish = _is_gibberish(s)
    if gibberish:
        flags.append(_flag(ctx, "gibberish", "Parts of the answer are random characters, not words."))
    if (not matched and s.question_hits >= COPY_QUESTION_MIN_HITS and s.question_coverage >= QUESTION_COVERAGE
            and not s.new_relevant
            and (s.new_vs_question <= COPY_QUESTION_NEW_WORDS or s.new_vs_question / s.content < COPY_QUESTION_NEW_SHARE)):
        flags.append(_flag(ctx, "copies_question", "The answer mostly repeats the question; add your own explanation."))
    copy = s.words >= COPY_MIN_WORDS and s.model_trigram_share >= COPY_TRIGRAM_SHARE
    if not copy and not gibberish and _is_keyword_list(s):
        flags.append(_flag(
            ctx, "keyword_list", "This looks like a list of keywords; write full sentences that explain how they connect."
        ))
    elif not copy and _is_word_salad(s):
        flags.append(_flag(ctx, "word_salad", "The words are not in sentences that make sense; explain in your own words."))
    if (s.repeated_sentences or s.words >= REPETITION_MIN_WORDS and s.repeated_share >= REPEATED_SHARE
            or s.words >= REPETITION_MIN_WORDS and s.trigram_unique_share < TRIGRAM_UNIQUE_SHARE
            or s.words >= DISTINCT_MIN_WORDS and s.distinct_word_share < DISTINCT_WORD_SHARE):
        flags.append(_flag(ctx, "repetition", "The same words are repeated; each point counts once."))
    if not gibberish and rich:
        # an answer that earns a concept is on topic, even in the question's own words
        flags.extend(f for f in _topic_flags(s, ctx) if not (matched and f.code == "off_topic"))
    flags.extend(_contradictions(answer, tokens, ctx, matched, known_spans))
    if copy:
        flags.append(_flag(ctx, "copies_model_answer", "The answer is very close to the model answer word for word."))
    return flags


SYMBOL_SOUP_SHARE = 0.6
SYMBOL_SOUP_MAX_WORDS = 20
"""Symbol soup: 60%+ of the visible characters are symbols in under 20 words (code such as
"a[i] = *(a+i)" stays below)."""
GIBBERISH_MIN_WORDS = 3
"""Random-letter words needed (with GIBBERISH_SHARE of the Latin words) to call an answer gibberish."""
KEYWORD_MIN_WORDS = 6
LIST_MIN_SEGMENTS = 4
LIST_MAX_SEGMENT_WORDS = 3
LIST_FUNCTION_SHARE = 0.2
"""A keyword list: 6+ words almost without function words, or 4+ comma/semicolon/bullet
segments of at most 3 words with under 20% function words."""
SALAD_MIN_CONTENT = 8
SALAD_MIN_WORDS = 12
"""Word salad needs 8+ content words; the function-word-pairs test needs 12+ words."""
LATIN_MIN_SHARE = 0.5
"""Under this share of Latin letters an answer is ``other_script`` (a teacher reads it; no other check runs)."""
COPY_QUESTION_MIN_HITS = 2
"""``copies_question`` needs at least this many of the question's words."""
COPY_QUESTION_NEW_WORDS = 1
"""... and at most this many new content words (beside the question's) ..."""
COPY_QUESTION_NEW_SHARE = 0.25
"""... or new content words under this share of all its content words."""
COPY_MIN_WORDS = 8
"""``copies_model_answer`` needs this many words (a short answer shares a trigram with any model answer)."""
REPETITION_MIN_WORDS = 12
"""The repeated-phrase and distinct-trigram tests of ``repetition`` need this many words."""
DISTINCT_MIN_WORDS = 3
"""The distinct-word test of ``repetition`` needs this many words."""
TOPIC_MIN_CONTENT = 6
"""``off_topic``, ``wrong_question`` and ``padding`` need this many content words."""
WRONG_QUESTION_SHARE = 0.25
"""``wrong_question``: another rubric's distinctive words make at least this share of the answer ..."""
WRONG_QUESTION_MIN_HITS = 3
"""... and are at least this many words ..."""
WRONG_QUESTION_OWN_FLOOR = 0.05
"""... and WRONG_QUESTION_RATIO times the answer's share of its own rubric's words, taken as at least this ..."""
WRONG_QUESTION_OWN_VOCAB = 0.5
"""... while under this share (times the rubric's richness) of its content words are its own rubric's vocabulary."""


def _is_gibberish(s: Signals) -> bool:
    if s.symbol_share >= SYMBOL_SOUP_SHARE and s.words < SYMBOL_SOUP_MAX_WORDS:
        return True
    return s.implausible_words >= GIBBERISH_MIN_WORDS and s.implausible_share >= GIBBERISH_SHARE


def _is_keyword_list(s: Signals) -> bool:
    if s.words >= KEYWORD_MIN_WORDS and s.function_share < KEYWORD_FUNCTION_SHARE:
        return True
    return (s.list_segments >= LIST_MIN_SEGMENTS and s.list_segment_words <= LIST_MAX_SEGMENT_WORDS
            and s.function_share < LIST_FUNCTION_SHARE)


def _is_word_salad(s: Signals) -> bool:
    if s.content < SALAD_MIN_CONTENT:
        return False
    if s.model_share >= SALAD_MODEL_SHARE and s.model_pairs >= SALAD_MIN_PAIRS and s.model_order_share < SALAD_ORDER_SHARE:
        return True
    return s.words >= SALAD_MIN_WORDS and s.bad_pair_share >= SALAD_BAD_PAIRS


def _topic_flags(s: Signals, ctx: AnswerContext) -> list[Flag]:
    if s.content < TOPIC_MIN_CONTENT:
        return []
    # A rubric with a one-sentence model answer has a thin vocabulary: honest answers use
    # their own words, so the bar for "not about the question" drops in proportion.
    richness = min(1.0, s.vocab_size / RICH_VOCABULARY)
    if s.other_best is not None:
        rid, other_share, own_share, other_hits = s.other_best
        if (other_share >= WRONG_QUESTION_SHARE and other_hits >= WRONG_QUESTION_MIN_HITS
                and other_share >= WRONG_QUESTION_RATIO * max(own_share, WRONG_QUESTION_OWN_FLOOR)
                and s.vocab_share < WRONG_QUESTION_OWN_VOCAB * richness):
            return [_flag(ctx, "wrong_question", "This answer seems to answer a different question; check which question you answered.")]
    if s.vocab_share < OFF_TOPIC_VOCAB_SHARE * richness:
        return [_flag(ctx, "off_topic", "The answer seems to be about something else; answer the question asked.")]
    if s.words >= PADDING_MIN_WORDS and s.padding_share >= PADDING_SHARE:
        return [_flag(ctx, "padding", "Much of the answer is not about the question; only the relevant part was scored.")]
    return []


def on_topic_core(answer: str, tokens: list[Token], ctx: AnswerContext) -> str:
    """The sentences of ``answer`` that use the rubric's vocabulary, joined (what a padded answer is scored on).

    >>> from grader.text import tokenize
    >>> ctx = AnswerContext(frozenset(), frozenset(), 6, 600, vocabulary=frozenset({"thaw"}))
    >>> text = "My cat likes fish and naps all day. The Thaw freed writers."
    >>> on_topic_core(text, tokenize(text), ctx)
    'The Thaw freed writers'
    """
    vocab = ctx.vocabulary or (ctx.model_stems | ctx.question_stems)
    keep = on_topic_sentences(tokens, vocab)
    return " ".join(answer[s[0].start : s[-1].end] for s in _sentences(tokens) if s[0].sentence in keep)


def _contradictions(
    answer: str, tokens: list[Token], ctx: AnswerContext, matched: frozenset[str], known_spans: tuple[tuple[int, int], ...]
) -> list[Flag]:
    if not ctx.reversals:
        return []
    needed = ctx.reversal_stems or frozenset(s for rev in ctx.reversals for s in rev.stems)
    stems = [t.stem for t in tokens]
    if needed.isdisjoint(stems):  # most answers
        return []
    positions: dict[str, list[int]] = {}
    for i, stem in enumerate(stems):
        if stem in needed:
            positions.setdefault(stem, []).append(i)
    flags: list[Flag] = []
    flagged: set[str] = set()
    for rev in ctx.reversals:
        if rev.concept_id in matched or rev.concept_id in flagged or rev.stems[0] not in positions:
            continue
        lists = [positions.get(s) for s in rev.stems]
        if any(not lst for lst in lists):
            continue
        # nearest occurrence of each word (the earlier one on a tie), one forward pointer per word: linear
        pointers = [0] * len(lists)
        for anchor in lists[0]:  # type: ignore[union-attr]
            chosen = []
            for k, lst in enumerate(lists):
                pointers[k], near = occurrences_around(lst, pointers[k], anchor)  # type: ignore[arg-type]
                chosen.append(min(near, key=lambda p: (abs(p - anchor), p)))
            lo, hi = min(chosen), max(chosen)
            if hi - lo >= len(chosen) + REVERSAL_SLACK * 2 or len({tokens[i].sentence for i in chosen}) > 1:
                continue
            if any(is_negated(tokens, i) for i in chosen):
                continue
            start, end = tokens[lo].start, tokens[hi].end
            if any(a < end and start < b for a, b in known_spans):
                continue
            flagged.add(rev.concept_id)
            flags.append(_flag(
                ctx, "contradiction", f'"{answer[start:end]}" says the opposite of a key point; check which way it went.'
            ))
            break
    return flags
