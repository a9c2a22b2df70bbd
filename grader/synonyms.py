"""Build-time synonym lookup in WordNet, read offline from Debian's ``wordnet-base`` files.

Only the rubric builder uses this; what it finds is stored in the rubric, so scoring never
depends on WordNet being installed. If no WordNet files are found, lookups return nothing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

WORDNET_DIRS = ("/usr/share/wordnet",)
_LEXNAMES = [
    "adj.all 3", "adj.pert 3", "adv.all 4", "noun.Tops 1", "noun.act 1", "noun.animal 1",
    "noun.artifact 1", "noun.attribute 1", "noun.body 1", "noun.cognition 1",
    "noun.communication 1", "noun.event 1", "noun.feeling 1", "noun.food 1", "noun.group 1",
    "noun.location 1", "noun.motive 1", "noun.object 1", "noun.person 1", "noun.phenomenon 1",
    "noun.plant 1", "noun.possession 1", "noun.process 1", "noun.quantity 1", "noun.relation 1",
    "noun.shape 1", "noun.state 1", "noun.substance 1", "noun.time 1", "verb.body 2",
    "verb.change 2", "verb.cognition 2", "verb.communication 2", "verb.competition 2",
    "verb.consumption 2", "verb.contact 2", "verb.creation 2", "verb.emotion 2",
    "verb.motion 2", "verb.perception 2", "verb.possession 2", "verb.social 2",
    "verb.stative 2", "verb.weather 2", "adj.ppl 3",
]


def _layout(source: Path) -> Path:
    """Lay the WordNet files out as an NLTK data folder (copies plus a generated lexnames)."""
    root = Path(tempfile.gettempdir()) / f"grader-nltk-data-{os.getuid()}"
    target = root / "corpora" / "wordnet"
    target.mkdir(parents=True, exist_ok=True)
    for f in source.iterdir():
        link = target / f.name
        if f.is_file() and not link.exists():
            shutil.copyfile(f, link)  # copies: NLTK refuses symlinks that resolve outside its data path
    index_sense = target / "index.sense"
    if not index_sense.exists():  # Debian omits it; NLTK opens it but synset lookups do not need it
        index_sense.write_text("")
    lexnames = target / "lexnames"
    if not lexnames.exists():
        lexnames.write_text("".join(f"{i:02d}\t{n.replace(' ', chr(9))}\n" for i, n in enumerate(_LEXNAMES)))
    return root


@lru_cache(maxsize=1)
def wordnet() -> Any | None:
    """NLTK's WordNet reader over the local files, or None when they are not installed."""
    for d in WORDNET_DIRS:
        source = Path(d)
        if (source / "data.noun").exists():
            try:
                import nltk
                from nltk.corpus.reader.wordnet import WordNetCorpusReader

                root = _layout(source)
                if str(root) not in nltk.data.path:
                    nltk.data.path.append(str(root))
                return WordNetCorpusReader(str(root / "corpora" / "wordnet"), None)
            except Exception:  # an unreadable WordNet only means fewer suggestions
                return None
    return None


def synonyms(word: str, *, limit: int = 4) -> list[str]:
    """Up to ``limit`` WordNet synonyms of ``word`` from its most common senses (may be empty).

    >>> isinstance(synonyms("prisoner"), list)
    True
    """
    wn = wordnet()
    if wn is None or not word.isalpha():
        return []
    found: list[str] = []
    for synset in wn.synsets(word.lower())[:2]:
        for lemma in synset.lemmas():
            raw = lemma.name()
            if raw[:1].isupper():  # abbreviations ("C", "H2O") and proper nouns ("North") are no synonyms
                continue
            name = raw.replace("_", " ").lower()
            if name != word.lower() and name not in found:
                found.append(name)
    return found[:limit]
