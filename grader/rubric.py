"""Rubric schema (pydantic), YAML loading with located errors, and atomic saving with a backup."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from grader import strict_yaml
from grader.errors import OutputError, RubricError
from grader.files import atomic_write
from grader.ids import SAFE_NAME


def _check_id(value: str) -> str:
    if not SAFE_NAME.fullmatch(value):
        raise ValueError(f"must be letters, digits, '.', '_' or '-' (at most 80). Got {value!r}")
    return value


Id = Annotated[str, AfterValidator(_check_id)]
"""The id of a rubric, concept or misconception: also a file name (:data:`grader.ids.SAFE_NAME`)."""

MAX_RUBRIC_BYTES = 1_000_000

FLAG_CODES: frozenset[str] = frozenset(
    {
        "empty", "truncated", "too_short", "too_long", "copies_question", "keyword_list", "word_salad",
        "repetition", "gibberish", "other_script", "off_topic", "wrong_question", "padding",
        "contradiction", "negated_concept", "copies_model_answer",
    }
)
"""Codes of the validity flags (see :mod:`grader.integrity`); rubrics may set their cap or penalty."""
DEFAULT_FLAG_CAPS: dict[str, float] = {
    "empty": 0.0, "copies_question": 0.1, "keyword_list": 0.5, "word_salad": 0.2, "repetition": 0.6,
    "gibberish": 0.1, "off_topic": 0.2, "wrong_question": 0.2,
}
"""Default cap (fraction of max_score) a flag puts on the score."""
DEFAULT_FLAG_PENALTIES: dict[str, float] = {"padding": 0.1, "contradiction": 0.1}
"""Default penalty (fraction of max_score) a flag takes off the score."""


class _Strict(BaseModel):
    # Frozen: one loaded rubric is shared by every user of the app (Streamlit's cache) and by
    # every scorer; a change is a new rubric (model_copy / rubric_from_dict), never an edit in place.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Concept(_Strict):
    """One idea a good answer must contain.

    ``terms`` and ``synonyms`` are phrases; a phrase matches when all of its content words
    (stemmed, misspellings tolerated) occur close together in one clause of the answer and
    are not negated. ``hint`` is what a student sees when the concept is missing, so it
    must point at the idea without giving away its wording.
    """

    id: Id
    label: str
    hint: str = ""
    weight: float = 1.0
    terms: list[str] = Field(min_length=1)
    synonyms: list[str] = Field(default_factory=list)
    required: bool = False

    @field_validator("weight")
    @classmethod
    def _check_weight(cls, value: float) -> float:
        if not value > 0:
            raise ValueError(f"must be > 0. Got {value}")
        return value

    @field_validator("terms", "synonyms")
    @classmethod
    def _check_phrases(cls, value: list[str]) -> list[str]:
        cleaned = [p.strip() for p in value]
        if any(not p for p in cleaned):
            raise ValueError("phrases must not be empty")
        return cleaned

    @property
    def phrases(self) -> list[str]:
        """Terms then synonyms: every phrase that earns this concept."""
        return [*self.terms, *self.synonyms]


class Misconception(_Strict):
    """A wrong claim: phrases that signal it, the fraction of max_score it costs, and feedback."""

    id: Id
    phrases: list[str] = Field(min_length=1)
    penalty: float = Field(default=0.2, ge=0, le=1)
    feedback: str


class Calibration(_Strict):
    """A monotone piecewise-linear map from the raw score (0..1) to the score fraction (0..1)."""

    points: list[tuple[float, float]] = Field(min_length=2)
    source: str = ""

    @field_validator("points")
    @classmethod
    def _check_points(cls, value: list[tuple[float, float]]) -> list[tuple[float, float]]:
        xs = [x for x, _ in value]
        ys = [y for _, y in value]
        if xs != sorted(xs) or len(set(xs)) != len(xs):
            raise ValueError("x values must be strictly increasing")
        if ys != sorted(ys):
            raise ValueError("y values must not decrease (the map must be monotone)")
        if any(not 0 <= v <= 1 for v in xs + ys):
            raise ValueError("all values must lie in [0, 1]")
        return value


class Scoring(_Strict):
    """How concept coverage, similarity and penalties combine into a score."""

    concept_weight: float = Field(default=0.75, ge=0)
    similarity_weight: float = Field(default=0.25, ge=0)
    similarity_floor: float = Field(default=0.05, ge=0, le=1)
    similarity_ceiling: float = Field(default=0.5, gt=0, le=1)
    question_word_weight: float = Field(default=0.15, ge=0, le=1)
    coverage_target: float = Field(default=0.8, gt=0, le=1)
    partial_credit: bool = False
    """Concepts no phrase matches whole earn in proportion to the weighted share of a phrase's
    words one sentence holds (see :mod:`grader.concepts`); rubric builds turn it on."""
    missing_required_cap: float = Field(default=0.6, ge=0, le=1)
    min_words: int = Field(default=6, ge=0)
    max_words: int = Field(default=600, ge=1)
    score_step: float = Field(default=0.5, ge=0)
    pass_mark: float = Field(default=0.5, ge=0, le=1)
    review_margin: float = Field(default=0.03, ge=0, le=1)
    calibration: Calibration | None = None
    flag_caps: dict[str, float] = Field(default_factory=dict)
    """Overrides of :data:`DEFAULT_FLAG_CAPS`: flag code -> cap (fraction of max_score)."""
    flag_penalties: dict[str, float] = Field(default_factory=dict)
    """Overrides of :data:`DEFAULT_FLAG_PENALTIES`: flag code -> penalty (fraction of max_score)."""

    @field_validator("flag_caps", "flag_penalties")
    @classmethod
    def _check_flag_effects(cls, value: dict[str, float]) -> dict[str, float]:
        for code, amount in value.items():
            if code not in FLAG_CODES:
                raise ValueError(f"unknown flag code {code!r}; known: {', '.join(sorted(FLAG_CODES))}")
            if not 0 <= amount <= 1:
                raise ValueError(f"{code} must be in [0, 1]. Got {amount}")
        return value

    def flag_cap(self, code: str) -> float | None:
        """The cap a flag puts on the score fraction (None: no cap)."""
        return self.flag_caps.get(code, DEFAULT_FLAG_CAPS.get(code))

    def flag_penalty(self, code: str) -> float:
        """The fraction of max_score a flag takes off (0: none)."""
        return self.flag_penalties.get(code, DEFAULT_FLAG_PENALTIES.get(code, 0.0))

    @model_validator(mode="after")
    def _check(self) -> "Scoring":
        if self.concept_weight + self.similarity_weight <= 0:
            raise ValueError("concept_weight + similarity_weight must be > 0")
        if self.similarity_floor >= self.similarity_ceiling:
            raise ValueError(
                f"similarity_floor must be below similarity_ceiling. Got {self.similarity_floor} >= {self.similarity_ceiling}"
            )
        return self


class Rubric(_Strict):
    """A question, its model answer, the concepts a good answer covers, and scoring settings."""

    id: Id
    title: str = ""
    question: str
    model_answer: str
    alternatives: list[str] = Field(default_factory=list)
    """Other acceptable answers to a short-answer question; similarity takes the best of the
    model answer and these (the builder also makes each one a term of the answer's concept)."""
    max_score: float = Field(default=10, gt=0)
    concepts: list[Concept] = Field(min_length=1)
    misconceptions: list[Misconception] = Field(default_factory=list)
    scoring: Scoring = Field(default_factory=Scoring)
    show_model_answer_after: int | None = Field(default=None, ge=1)

    @field_validator("alternatives")
    @classmethod
    def _check_alternatives(cls, value: list[str]) -> list[str]:
        if any(not a.strip() for a in value):
            raise ValueError("must not hold an empty answer")
        return [a.strip() for a in value]

    @field_validator("question", "model_answer")
    @classmethod
    def _check_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @model_validator(mode="after")
    def _unique_ids(self) -> "Rubric":
        for name, items in (("concepts", self.concepts), ("misconceptions", self.misconceptions)):
            seen: set[str] = set()
            for i, item in enumerate(items):
                if item.id in seen:
                    raise ValueError(f"{name}[{i}].id: duplicate id {item.id!r}")
                seen.add(item.id)
        return self

    @property
    def total_weight(self) -> float:
        """Sum of concept weights."""
        return sum(c.weight for c in self.concepts)


def _location(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def rubric_from_dict(data: Any, *, source: str = "<rubric>") -> Rubric:
    """Validate ``data`` as a rubric; raise :class:`RubricError` naming the first bad field.

    >>> rubric_from_dict({"id": "x", "question": "Q?", "model_answer": "A.",
    ...                   "concepts": [{"id": "c", "label": "C", "terms": ["a b"]}]}).id
    'x'
    """
    if not isinstance(data, dict):
        raise RubricError(f"expected a mapping at the top level, got {type(data).__name__}", path=source)
    try:
        return Rubric.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = _location(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling)"
        elif err["type"] == "missing":
            msg = "required field is missing"
        more = len(exc.errors()) - 1
        if more:
            msg += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise RubricError(msg, path=source, location=loc or None) from None


def load_rubric(path: str | os.PathLike[str], *, name: str | None = None) -> Rubric:
    """Read and validate one YAML rubric file.

    ``name`` is how errors name the file (default: its path).

    Raises
    ------
    RubricError
        With the file name and the line (for YAML syntax) or the field path.
    """
    p = Path(path)
    name = str(p) if name is None else name
    try:
        info = p.stat()
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(info.st_mode):  # /dev/zero never ends, a FIFO blocks: refuse before opening
            raise RubricError("not a regular file", path=name)
        if info.st_size > MAX_RUBRIC_BYTES:
            raise RubricError(f"file is larger than {MAX_RUBRIC_BYTES:,} bytes", path=name)
        with p.open("rb") as fh:
            raw = fh.read(MAX_RUBRIC_BYTES + 1)
        if len(raw) > MAX_RUBRIC_BYTES:  # grew since stat (or /proc-like size 0)
            raise RubricError(f"file is larger than {MAX_RUBRIC_BYTES:,} bytes", path=name)
    except FileNotFoundError:
        raise RubricError("file not found", path=name) from None
    except IsADirectoryError:
        raise RubricError("is a directory, expected a .yaml file", path=name) from None
    except OSError as exc:
        raise RubricError(f"cannot read file ({exc.strerror})", path=name) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RubricError(f"not UTF-8 text (byte {exc.start})", path=name) from None
    return rubric_from_yaml(text, source=name)


def rubric_from_yaml(text: str, *, source: str = "<rubric>") -> Rubric:
    """Parse YAML text and validate it as a rubric."""
    if len(text) > MAX_RUBRIC_BYTES:
        raise RubricError(f"text is larger than {MAX_RUBRIC_BYTES:,} characters", path=source)
    try:
        data = strict_yaml.load(text) or {}
    except RecursionError:
        raise RubricError(f"invalid YAML: nested deeper than {strict_yaml.MAX_DEPTH} levels", path=source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise RubricError(f"invalid YAML: {problem}", path=source, location=where) from None
    return rubric_from_dict(data, source=source)


def load_rubrics(path: str | os.PathLike[str]) -> dict[str, Rubric]:
    """Load one rubric file, or every ``*.yaml``/``*.yml`` file of a directory, keyed by id.

    A directory without rubric files of its own is read as a folder of question sets: the
    rubrics of all its sub-folders are loaded (ids must be unique across sets). Raises
    :class:`RubricError` if two files share an id or the directory holds none.
    """
    p = Path(path)
    if not p.is_dir():
        rubric = load_rubric(p)
        return {rubric.id: rubric}
    files = sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
    if not files:  # a folder of question sets (rubrics/<set>/*.yaml), as the app keeps them
        files = sorted(f for f in [*p.glob("*/*.yaml"), *p.glob("*/*.yml")] if f.parent.name != "drafts")
    if not files:
        raise RubricError("directory holds no .yaml rubric files (nor sub-folders of them)", path=str(p))
    rubrics: dict[str, Rubric] = {}
    for f in files:
        rubric = load_rubric(f)
        if rubric.id in rubrics:
            raise RubricError(f"duplicate rubric id {rubric.id!r} (also in another file)", path=str(f), location="id")
        rubrics[rubric.id] = rubric
    return rubrics


def load_rubric_set(path: str | os.PathLike[str]) -> tuple[dict[str, Rubric], list[RubricError]]:
    """Every valid rubric of a folder keyed by id, and the problem of each file left out.

    Unlike :func:`load_rubrics`, one broken file (invalid YAML, bad field, an id already
    taken by an earlier file in name order) does not take the whole set down: it is
    skipped and its one-line :class:`RubricError` returned (naming the file by its name in
    the folder), so a page can serve the other questions and tell teachers what to fix.
    """
    p = Path(path)
    rubrics: dict[str, Rubric] = {}
    problems: list[RubricError] = []
    for f in sorted([*p.glob("*.yaml"), *p.glob("*.yml")]):
        try:
            rubric = load_rubric(f, name=f.name)
        except RubricError as exc:
            problems.append(exc)
            continue
        if rubric.id in rubrics:
            problems.append(RubricError(f"duplicate rubric id {rubric.id!r} (also in another file); skipped", path=f.name, location="id"))
            continue
        rubrics[rubric.id] = rubric
    return rubrics, problems


def rubric_to_yaml(rubric: Rubric) -> str:
    """Serialise a rubric to YAML in schema order, omitting unset optional parts."""
    data = rubric.model_dump(mode="json", exclude_none=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def save_rubric(
    rubric: Rubric, path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None, text: str | None = None
) -> Path:
    """Write ``rubric`` to ``path`` atomically, keeping the previous file as ``<name>.bak``.

    If ``root`` is given, ``path`` must resolve inside it (upload or rubric names cannot
    write elsewhere). The target and its ``.bak`` must be regular files or absent (see
    :func:`grader.files.atomic_write`). ``text`` is the YAML to write (default
    :func:`rubric_to_yaml`; the studio passes :func:`grader.yaml_edit.update_yaml` to keep
    comments); it is validated again and must read back as ``rubric`` before it replaces
    the old file.
    """
    target = Path(path)
    if text is None:
        text = rubric_to_yaml(rubric)
    if rubric_from_yaml(text, source=str(target)) != rubric:
        raise RubricError("the YAML text to write does not match the rubric", path=str(target))
    try:
        with atomic_write(path, root=root, backup=True, suffix=".tmp") as fh:
            fh.write(text)
    except OutputError as exc:
        raise RubricError(exc.detail, path=exc.path) from None
    return Path(path)
