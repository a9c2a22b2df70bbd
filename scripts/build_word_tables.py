"""Regenerate the word tables shipped in ``grader/data/`` (a maintainer's step, not an install step).

- ``word_rarity.json.gz``: stem -> Zipf frequency (log10 per billion words) of its commonest
  form, from the ``wordfreq`` package's English list (data CC BY-SA 4.0). The concept
  matcher weighs rare words more when it gives partial credit.
- ``wordnet_related.json.gz``: word -> {"syn": [...], "der": [...]} from Princeton WordNet
  3.0 (licence in ``grader/data/LICENSE-wordnet.txt``): ``syn`` are single-word lemmas of
  the word's most frequent sense for each part of speech, kept only when they are common
  words themselves and that sense is their own most frequent one too; ``der`` are
  derivationally related forms and pertainyms that share the word's first five letters
  ("capitalist" -> "capitalism", "communist" -> "communism").

Needs ``pip install -e '.[tables]'`` (wordfreq, nltk) and Debian's ``wordnet-base`` (read through NLTK's reader);
the package itself needs neither at run time. Usage: ``python scripts/build_word_tables.py``
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from wordfreq import top_n_list, zipf_frequency

from grader.text import stem

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


DATA = Path(__file__).resolve().parent.parent / "grader" / "data"
N_WORDS = 80_000
MIN_WORD_ZIPF = 2.5
"""Words rarer than this are not looked up in WordNet (names of plants, chemistry...)."""
MIN_SYNONYM_ZIPF = 3.2
"""A synonym must be at least this common: "encephalon" for "brain" is not how students write."""
MAX_SYNONYMS = 4
DERIVED_PREFIX = 5
"""A derived form must share this many first letters: "capitalist" -> "capitalism", not "contain" -> "continent"."""


def rarity_table() -> dict[str, float]:
    table: dict[str, float] = {}
    for word in top_n_list("en", N_WORDS):
        if not word.isalpha() and not word.isdigit():
            continue
        z = round(zipf_frequency(word, "en"), 2)
        s = stem(word)
        if z > table.get(s, -1):
            table[s] = z
    return table


def related_table() -> dict[str, dict[str, list[str]]]:
    wn = wordnet()
    if wn is None:
        raise SystemExit("WordNet files not found: install Debian's wordnet-base")
    table: dict[str, dict[str, list[str]]] = {}
    for word in top_n_list("en", N_WORDS):
        if not word.isalpha() or zipf_frequency(word, "en") < MIN_WORD_ZIPF:
            continue
        syn: list[str] = []
        der: list[str] = []
        for pos in ("n", "v", "a", "r"):
            synsets = wn.synsets(word, pos=pos)
            if not synsets:
                continue
            for lemma in synsets[0].lemmas():
                name = lemma.name().lower()
                if (name != word and name.isalpha() and lemma.name()[:1].islower() and stem(name) != stem(word)
                        and zipf_frequency(name, "en") >= MIN_SYNONYM_ZIPF and name not in syn
                        and wn.synsets(name, pos=pos)[:1] == synsets[:1]):  # this is the synonym's commonest sense too
                    syn.append(name)
            for synset in synsets:
                for lemma in synset.lemmas():
                    if stem(lemma.name().lower()) != stem(word):  # "declared" -> the lemma "declare"
                        continue
                    for rel in [*lemma.derivationally_related_forms(), *lemma.pertainyms()]:
                        name = rel.name().lower()
                        if (name.isalpha() and name != word and name[:DERIVED_PREFIX] == word[:DERIVED_PREFIX] and stem(name) != stem(word)
                                and zipf_frequency(name, "en") >= MIN_WORD_ZIPF and name not in der):
                            der.append(name)
        entry = {}
        if syn:
            entry["syn"] = syn[:MAX_SYNONYMS]
        if der:
            entry["der"] = der[:MAX_SYNONYMS]
        if entry:
            table[word] = entry
    return table


def write(name: str, data: object) -> None:
    path = DATA / name
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as f:
        json.dump(data, f, separators=(",", ":"), sort_keys=True)
    print(f"{path}: {path.stat().st_size:,} bytes")


def main() -> None:
    DATA.mkdir(exist_ok=True)
    write("word_rarity.json.gz", rarity_table())
    write("wordnet_related.json.gz", related_table())


if __name__ == "__main__":
    main()
