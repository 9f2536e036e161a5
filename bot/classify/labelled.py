"""The labelled sets `chipwire eval` scores, each split into a dev part (tuned on) and a test part.

real_labelled.jsonl
    Entries of real feeds nobody here wrote, by corpus file and entry key; the text is read
    from the corpus at run time (bot/classify/corpus.py), never stored here. `corpus` names the
    folder under the corpora (default real-feeds; a `.txt` file there is one article), and
    `passage` (a number) makes the item one paragraph of the entry's full content, with no
    title. Labels: the companies an item is `about` (its subjects), those it `mentions` in
    passing, and whether it is AI-chip news. An item added to the set takes its part by a fixed
    rule (split_of: a passage its entry's part, so one article is never in both).
classify_traps.jsonl
    Short texts we wrote for the senses the issue quoted (a committee's "Intel", a body's
    "arm", a car's accelerator …) and their company counterparts, with the same labels.
story_pairs.jsonl
    Pairs of articles labelled same story / different story. Each side is a real-feed entry,
    a demo-feed entry (bot/demo_feeds), or a text written here with its publication time.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.classify.corpus import Corpus, CorpusEntry

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
REAL_LABELS = DATA / "real_labelled.jsonl"
TRAP_LABELS = DATA / "classify_traps.jsonl"
STORY_PAIRS = DATA / "story_pairs.jsonl"
DEMO_FEEDS = REPO / "bot" / "demo_feeds"
CORPORA_ENV = "CHIPWIRE_CORPORA"
SPLITS = ("dev", "test")
REAL_FOLDER = "real-feeds"


def default_corpora() -> Path:
    """../shared/corpora beside the checkout, or $CHIPWIRE_CORPORA."""
    return Path(os.environ.get(CORPORA_ENV) or REPO.parent / "shared" / "corpora")


@dataclass(frozen=True)
class SalienceItem:
    id: str
    lang: str
    title: str
    summary: str
    about: tuple[str, ...]
    mentions: tuple[str, ...]
    relevant: bool
    trap: bool
    split: str
    real: bool


@dataclass(frozen=True)
class PairSide:
    title: str
    summary: str
    language: str | None
    published_at: datetime
    origin: str  # "real", "demo" or "written"


@dataclass(frozen=True)
class StoryPair:
    id: str
    a: PairSide
    b: PairSide
    same: bool
    split: str
    note: str

    @property
    def real(self) -> bool:
        return self.a.origin == "real" or self.b.origin == "real"


class LabelError(ValueError):
    """A labelled line that is malformed or names an entry the corpus does not hold."""


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield n, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise LabelError(f"{path}:{n}: not JSON ({exc.msg})") from None


def _split(path: Path, n: int, record: dict[str, Any]) -> str:
    split = record.get("split")
    if split not in SPLITS:
        raise LabelError(f"{path}:{n}: split must be one of {SPLITS}, got {split!r}")
    return str(split)


def split_of(file: str, key: str) -> str:
    """The part a newly labelled entry joins, fixed by its reference before anything is scored."""
    digest = hashlib.sha256(f"{file}\n{key}".encode()).digest()
    return SPLITS[digest[0] % 2]


def _real_text(corpora: dict[str, Corpus], root: Path, d: dict[str, Any]) -> tuple[str, str]:
    folder = str(d.get("corpus", REAL_FOLDER))
    if folder not in corpora:
        corpora[folder] = Corpus(root / folder)
    corpus = corpora[folder]
    entry = corpus.entry(d["file"], d["key"])
    if "passage" in d:
        return "", corpus.passage(d["file"], d["key"], int(d["passage"]))
    return entry.title, entry.summary


def load_real(path: Path, corpora: Path) -> tuple[SalienceItem, ...]:
    """Real-text labels with their text read from `corpora` (real-feeds unless they say)."""
    opened: dict[str, Corpus] = {}
    items = []
    for n, d in _lines(path):
        try:
            title, summary = _real_text(opened, corpora, d)
            items.append(
                SalienceItem(
                    id=f"{d['file']}#{n}",
                    lang=str(d["lang"]),
                    title=title,
                    summary=summary,
                    about=tuple(d["about"]),
                    mentions=tuple(d["mentions"]),
                    relevant=bool(d["relevant"]),
                    trap=False,
                    split=_split(path, n, d),
                    real=True,
                )
            )
        except (KeyError, TypeError, ValueError, FileNotFoundError) as exc:
            raise LabelError(f"{path}:{n}: {exc}") from None
    return tuple(items)


def load_written(path: Path) -> tuple[SalienceItem, ...]:
    """Labelled texts written here (the traps)."""
    items = []
    for n, d in _lines(path):
        try:
            items.append(
                SalienceItem(
                    id=str(d["id"]),
                    lang=str(d["lang"]),
                    title=str(d["title"]),
                    summary=str(d["summary"]),
                    about=tuple(d["about"]),
                    mentions=tuple(d["mentions"]),
                    relevant=bool(d["relevant"]),
                    trap=bool(d.get("trap", False)),
                    split=_split(path, n, d),
                    real=False,
                )
            )
        except (KeyError, TypeError) as exc:
            raise LabelError(f"{path}:{n}: missing or bad field {exc}") from None
    return tuple(items)


def _side(ref: dict[str, Any], real: Corpus | None, demo: Corpus) -> PairSide:
    if "set" in ref:
        corpus = demo if ref["set"] == "demo" else real
        if corpus is None:
            raise FileNotFoundError("the real-feed corpus is not available")
        entry: CorpusEntry = corpus.entry(ref["file"], ref["key"])
        origin = "demo" if ref["set"] == "demo" else "real"
        return PairSide(entry.title, entry.summary, entry.language, entry.published_at, origin)
    when = datetime.fromisoformat(ref["published_at"])
    return PairSide(ref["title"], ref["summary"], ref["lang"], when, "written")


def load_pairs(path: Path, corpora: Path | None) -> tuple[StoryPair, ...]:
    """Story pairs; with `corpora` None, pairs that need the real-feed corpus are left out."""
    real = Corpus(corpora / "real-feeds") if corpora is not None else None
    demo = Corpus(DEMO_FEEDS)
    pairs = []
    for n, d in _lines(path):
        needs_real = any(side.get("set") == "real-feeds" for side in (d["a"], d["b"]))
        if needs_real and real is None:
            continue
        try:
            a, b = _side(d["a"], real, demo), _side(d["b"], real, demo)
        except (KeyError, TypeError, ValueError, FileNotFoundError) as exc:
            raise LabelError(f"{path}:{n}: {exc}") from None
        pairs.append(StoryPair(f"pair-{n}", a, b, bool(d["same"]), _split(path, n, d), d["note"]))
    return tuple(pairs)
