"""Rubric lifecycle: drafts that students never see, publishing, and what changed.

A question set is a folder of rubric files: those files are the PUBLISHED rubrics (Practice
and batch scoring read only them, so the bundled seed rubrics are published). A draft lives
in the set's ``drafts/`` sub-folder under the same file name until it is published, which
writes it over the published file (previous version kept as ``.bak``) and removes the draft.
:func:`describe_changes` says, in plain lines, what a save changed; the store keeps those
lines with who and when (:meth:`grader.store.Store.add_rubric_change`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from grader.errors import RubricError
from grader.rubric import Rubric, load_rubric, rubric_from_yaml, save_rubric
from grader.yaml_edit import update_yaml

DRAFTS = "drafts"


def draft_path(set_dir: str | os.PathLike[str], rubric_id: str) -> Path:
    """Where the draft of ``rubric_id`` lives: ``<set>/drafts/<id>.yaml``."""
    return Path(set_dir) / DRAFTS / f"{rubric_id}.yaml"


def published_path(set_dir: str | os.PathLike[str], rubric_id: str) -> Path:
    """Where the published ``rubric_id`` lives: ``<set>/<id>.yaml``."""
    return Path(set_dir) / f"{rubric_id}.yaml"


def list_drafts(set_dir: str | os.PathLike[str]) -> dict[str, Rubric]:
    """The drafts of a set, keyed by rubric id (an unreadable draft raises RubricError)."""
    folder = Path(set_dir) / DRAFTS
    if not folder.is_dir():
        return {}
    drafts = {}
    for f in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        rubric = load_rubric(f)
        drafts[rubric.id] = rubric
    return drafts


def _text_for(rubric: Rubric, *candidates: Path) -> str | None:
    """YAML keeping the comments of the first existing file among ``candidates``, if any."""
    for f in candidates:
        if f.is_file():
            return update_yaml(f.read_text(encoding="utf-8-sig"), rubric)
    return None


def save_draft(rubric: Rubric, set_dir: str | os.PathLike[str], *, root: str | os.PathLike[str]) -> Path:
    """Save ``rubric`` as a draft of its set (students do not see it).

    Comments are kept from the existing draft, else from the published file.
    """
    target = draft_path(set_dir, rubric.id)
    return save_rubric(rubric, target, root=root, text=_text_for(rubric, target, published_path(set_dir, rubric.id)))


@dataclass(frozen=True)
class Published:
    """The outcome of publishing: the file written and the rubric it replaced (None if new)."""

    path: Path
    before: Rubric | None
    after: Rubric


def publish(rubric: Rubric, set_dir: str | os.PathLike[str], *, root: str | os.PathLike[str]) -> Published:
    """Make ``rubric`` the published version of its id in the set and drop its draft.

    Comments of the draft (or of the published file) are kept; the previous published file
    stays as ``.bak``.
    """
    target = published_path(set_dir, rubric.id)
    draft = draft_path(set_dir, rubric.id)
    before = load_rubric(target) if target.is_file() else None
    text = _text_for(rubric, draft, target)
    path = save_rubric(rubric, target, root=root, text=text)
    draft.unlink(missing_ok=True)
    draft.with_name(draft.name + ".bak").unlink(missing_ok=True)
    return Published(path, before, rubric)


def publish_draft(set_dir: str | os.PathLike[str], rubric_id: str, *, root: str | os.PathLike[str]) -> Published:
    """Publish the saved draft of ``rubric_id`` as it is."""
    draft = draft_path(set_dir, rubric_id)
    if not draft.is_file():
        raise RubricError(f"no draft of {rubric_id!r} to publish", path=str(draft))
    return publish(rubric_from_yaml(draft.read_text(encoding="utf-8-sig"), source=str(draft)), set_dir, root=root)


def _phrases(before: list[str], after: list[str]) -> str:
    added = [p for p in after if p not in before]
    removed = [p for p in before if p not in after]
    parts = [f"+{p!r}" for p in added] + [f"-{p!r}" for p in removed]
    return ", ".join(parts)


def describe_changes(before: Rubric | None, after: Rubric) -> list[str]:
    """Plain lines saying what changed from ``before`` to ``after`` (``["new rubric"]`` if there was none).

    >>> from grader.rubric import rubric_from_dict
    >>> a = rubric_from_dict({"id": "x", "question": "Q?", "model_answer": "A.", "max_score": 10,
    ...     "concepts": [{"id": "c", "label": "C", "terms": ["gulag"]}]})
    >>> b = a.model_copy(update={"max_score": 12, "concepts": [a.concepts[0].model_copy(update={"synonyms": ["camps"]})]})
    >>> describe_changes(a, b)
    ['max_score: 10 -> 12', "concept c: synonyms +'camps'"]
    """
    if before is None:
        return ["new rubric"]
    lines: list[str] = []
    for name in ("title", "question", "model_answer", "max_score", "show_model_answer_after"):
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            if isinstance(old, str) and isinstance(new, str) and max(len(old), len(new)) > 60:
                lines.append(f"{name} edited")
            else:
                lines.append(f"{name}: {old if not isinstance(old, float) else f'{old:g}'} -> "
                             f"{new if not isinstance(new, float) else f'{new:g}'}")
    for kind in ("concepts", "misconceptions"):
        old_items = {c.id: c for c in getattr(before, kind)}
        new_items = {c.id: c for c in getattr(after, kind)}
        singular = kind[:-1]
        for cid in new_items.keys() - old_items.keys():
            lines.append(f"{singular} {cid} added")
        for cid in old_items.keys() - new_items.keys():
            lines.append(f"{singular} {cid} removed")
        for cid in [c for c in new_items if c in old_items]:
            old, new = old_items[cid].model_dump(), new_items[cid].model_dump()
            parts = []
            for field_name in new:
                if old[field_name] == new[field_name]:
                    continue
                if isinstance(new[field_name], list):
                    parts.append(f"{field_name} {_phrases(old[field_name], new[field_name])}")
                elif isinstance(new[field_name], float):
                    parts.append(f"{field_name} {old[field_name]:g} -> {new[field_name]:g}")
                else:
                    parts.append(f"{field_name} changed")
            if parts:
                lines.append(f"{singular} {cid}: " + "; ".join(parts))
    if before.scoring != after.scoring:
        changed = [k for k, v in after.scoring.model_dump().items() if before.scoring.model_dump()[k] != v]
        lines.append("scoring: " + ", ".join(changed))
    return lines or ["no change"]
