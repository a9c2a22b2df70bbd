"""What ``grader learn`` stores beside a rubric: plain, validated JSON (never pickle).

A rubric folder is shared between teachers, so loading it must never run code. What was
learned from graded answers is therefore plain data: the graded answers kept as exemplars
(text and score), the coefficients of a small linear model over named features, and the
cut points that turn its output into points. :func:`load_learned` reads
``<rubric-id>.learned.json`` beside a rubric, checks its size, that it is UTF-8 JSON (a
pickle or YAML payload is refused, never parsed) and validates it against a strict schema
(:class:`Learned`); a broken or hostile file is one :class:`grader.errors.RubricError`
naming the file. A rubric with no such file scores exactly as it always did.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from grader.errors import RubricError
from grader.rubric import Rubric

FORMAT = "grader-learned/1"
SUFFIX = ".learned.json"
MAX_LEARNED_BYTES = 20_000_000
"""A learned file larger than this is refused unread."""
MAX_EXEMPLARS = 5_000
MAX_EXEMPLAR_CHARS = 4_000
MAX_FEATURES = 2_000
MAX_WORDS = 5_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Exemplar(_Strict):
    """A graded answer kept for nearest-neighbour scoring and explanations."""

    text: str = Field(max_length=MAX_EXEMPLAR_CHARS)
    score: float = Field(ge=0)


class Learned(_Strict):
    """Everything learned for one rubric (see :mod:`grader.learn` for how it is used).

    ``features`` names the inputs of the linear model (``coef`` one per feature, applied
    to ``(x - mean) / scale``); its output is a score fraction mapped to points through
    ``cuts`` (fraction thresholds of whole-point scales) or rounded to the rubric's step.
    ``words`` are the weights of :mod:`grader.words` (feature ``words``, when learned from
    enough answers). ``confidence`` holds the logistic coefficients of the confidence (see
    :data:`grader.learned_scoring.CONFIDENCE_INPUTS`). ``concept_ids`` and ``max_score`` record the
    rubric version it was learned for.
    """

    format: Literal["grader-learned/1"] = FORMAT
    rubric_id: str = Field(max_length=80)
    max_score: float = Field(gt=0)
    concept_ids: list[str] = Field(max_length=MAX_FEATURES)
    exemplars: list[Exemplar] = Field(min_length=1, max_length=MAX_EXEMPLARS)
    k: int = Field(default=10, ge=1, le=100)
    features: list[str] = Field(min_length=1, max_length=MAX_FEATURES)
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    cuts: list[float] | None = Field(default=None, max_length=100)
    words: dict[str, float] = Field(default_factory=dict, max_length=MAX_WORDS)
    words_intercept: float = 0.0
    confidence: list[float] = Field(default_factory=lambda: [0.0, 0.0, 0.0], min_length=3, max_length=3)
    confidence_intercept: float = 0.0
    confidence_threshold: float = Field(default=0.5, ge=0, le=1)
    pass_mark: float | None = Field(default=None, ge=0, le=1)
    source: str = Field(default="", max_length=500)
    cv: dict[str, dict[str, float | None]] = Field(default_factory=dict)

    @field_validator("words")
    @classmethod
    def _finite_words(cls, value: dict[str, float]) -> dict[str, float]:
        if not all(math.isfinite(v) and len(k) <= 200 for k, v in value.items()):
            raise ValueError("word weights must be finite numbers of terms of at most 200 characters")
        return value

    @field_validator("mean", "scale", "coef", "cuts", "confidence")
    @classmethod
    def _finite(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and not all(math.isfinite(v) for v in value):
            raise ValueError("numbers must be finite")
        return value

    @model_validator(mode="after")
    def _shapes(self) -> "Learned":
        n = len(self.features)
        for name in ("mean", "scale", "coef"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} must have one number per feature ({n}). Got {len(getattr(self, name))}")
        if any(s <= 0 for s in self.scale):
            raise ValueError("scale values must be > 0")
        if self.cuts is not None and self.cuts != sorted(self.cuts):
            raise ValueError("cuts must be increasing")
        if any(e.score > self.max_score for e in self.exemplars):
            raise ValueError(f"an exemplar score exceeds max_score {self.max_score:g}")
        return self


def learned_path(rubric_path: str | os.PathLike[str], rubric_id: str) -> Path:
    """Where the learned data of ``rubric_id`` lives: ``<rubric-id>.learned.json`` in the rubric's folder
    (for a folder of question sets, the set folder holding ``<rubric-id>.yaml``).

    >>> learned_path("rubrics/thaw.yaml", "thaw").name
    'thaw.learned.json'
    """
    p = Path(rubric_path)
    folder = p if p.is_dir() else p.parent
    if p.is_dir() and not any(p.glob("*.y*ml")):  # a folder of question sets: beside the rubric's own file
        own = sorted(f.parent for f in [*p.glob(f"*/{rubric_id}.yaml"), *p.glob(f"*/{rubric_id}.yml")] if f.parent.name != "drafts")
        if own:
            folder = own[0]
    return folder / f"{rubric_id}{SUFFIX}"


def learned_from_json(text: str, *, source: str) -> Learned:
    """Parse and validate learned data; :class:`RubricError` naming ``source`` and the first bad field."""
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except (json.JSONDecodeError, ValueError) as exc:
        raise RubricError(f"not valid learned data (JSON: {exc})", path=source) from None
    if not isinstance(data, dict):
        raise RubricError(f"not valid learned data: expected a JSON object, got {type(data).__name__}", path=source)
    try:
        return Learned.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or None
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        raise RubricError(f"not valid learned data: {msg}", path=source, location=loc) from None


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed")


def load_learned(rubric_path: str | os.PathLike[str], rubric: Rubric) -> Learned | None:
    """The learned data stored beside ``rubric`` (loaded from ``rubric_path``), or None if there is none.

    Raises
    ------
    RubricError
        One line naming the file: too large, not UTF-8 JSON (e.g. a pickle), invalid, or
        learned for another version of the rubric (other concepts or max_score).
    """
    path = learned_path(rubric_path, rubric.id)
    if not path.is_file():
        return None
    try:
        if path.stat().st_size > MAX_LEARNED_BYTES:
            raise RubricError(f"learned data is larger than {MAX_LEARNED_BYTES:,} bytes", path=str(path))
        raw = path.read_bytes()
    except OSError as exc:
        raise RubricError(f"cannot read learned data ({exc.strerror})", path=str(path)) from None
    if raw[:1] == b"\x80":
        raise RubricError("refusing a pickle file: learned data must be JSON", path=str(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RubricError(f"not valid learned data (not UTF-8 text, byte {exc.start})", path=str(path)) from None
    learned = learned_from_json(text, source=str(path))
    check_matches(learned, rubric, source=str(path))
    return learned


def check_matches(learned: Learned, rubric: Rubric, *, source: str) -> None:
    """Refuse learned data made for another rubric or another version of it."""
    if learned.rubric_id != rubric.id:
        raise RubricError(f"learned data is for rubric {learned.rubric_id!r}, not {rubric.id!r}", path=source)
    if learned.max_score != rubric.max_score or learned.concept_ids != [c.id for c in rubric.concepts]:
        raise RubricError(
            f"learned data is for another version of rubric {rubric.id!r} (its concepts or max_score changed); "
            "learn again from the graded answers", path=source,
        )


def load_learned_all(rubric_path: str | os.PathLike[str], rubrics: dict[str, Rubric]) -> dict[str, Learned]:
    """Learned data of every rubric loaded from ``rubric_path`` (a file or folder) that has some."""
    out = {}
    for rid, rubric in rubrics.items():
        learned = load_learned(rubric_path, rubric)
        if learned is not None:
            out[rid] = learned
    return out


def learned_to_json(learned: Learned) -> str:
    """Serialise learned data (stable key order, so the same learning gives the same file)."""
    return json.dumps(learned.model_dump(mode="json"), ensure_ascii=False, indent=1, allow_nan=False) + "\n"


def save_learned(learned: Learned, rubric_path: str | os.PathLike[str]) -> Path:
    """Write ``learned`` beside its rubric atomically (validated again first); returns the path."""
    target = learned_path(rubric_path, learned.rubric_id)
    text = learned_to_json(learned)
    learned_from_json(text, source=str(target))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise RubricError(f"cannot write learned data ({exc.strerror or exc})", path=str(target)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise RubricError(f"cannot write learned data ({exc.strerror or exc})", path=str(target)) from None
        raise
    return target
