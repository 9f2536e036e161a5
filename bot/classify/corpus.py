"""Real feed text for the labelled set, read in place from a corpus of feed files.

The labels (tests/data/real_labelled.jsonl) name an entry by corpus file and entry key, never
holding its text: the text belongs to the feeds' authors, so it is read from the corpus at run
time, through the same parse → normalise path the bot uses for a fetched feed. An entry's key is
its guid, else its link, else its title; a key a file repeats gets "#2", "#3" … in order.

Passages: where a feed carries an article's full content beside its summary, the paragraphs past
what the summary holds are real running text too. `passages()` cuts the full content into its
paragraphs (block ends in the HTML), keeps those of PASSAGE_MIN characters or more that the stored
summary does not already hold, and numbers them from 0; a label names one by entry key and number.

A plain-text file (a `.txt` article: title on the first line, then the body) is one entry, key
"text".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.ingest.normalise import SUMMARY_MAX, normalise_entry, plain_text
from bot.ingest.parse.feedparser import FeedRejected, entry_bodies, parse_feed

_FIRST_SEEN = datetime(2000, 1, 1, tzinfo=UTC)  # entries without a date keep a fixed one
PASSAGE_MIN = 200  # shorter blocks are captions, bylines and link lists, not running text
TEXT_KEY = "text"
_PARAGRAPH_END = re.compile(
    r"</(?:p|li|blockquote|div|h[1-6]|pre|table)\s*>|<br\s*/?>\s*<br\s*/?>", re.IGNORECASE
)


@dataclass(frozen=True)
class CorpusEntry:
    file: str
    key: str
    title: str
    summary: str
    language: str | None
    published_at: datetime


def read_feed_entries(path: Path) -> dict[str, CorpusEntry]:
    """Every entry of one feed file by key; {} for a file the bot would reject."""
    try:
        feed = parse_feed(path.read_bytes())
    except FeedRejected:
        return {}
    entries: dict[str, CorpusEntry] = {}
    for raw in feed.entries:
        article = normalise_entry(
            raw, feed=feed, source=path.name, declared_language=None, first_seen=_FIRST_SEEN
        )
        if article is None:
            continue
        base = (raw.guid or "").strip() or (raw.link or "").strip() or article.title
        key, n = base, 1
        while key in entries:
            n += 1
            key = f"{base}#{n}"
        entries[key] = CorpusEntry(
            path.name, key, article.title, article.summary, article.language, article.published_at
        )
    return entries


def read_text_entry(path: Path) -> dict[str, CorpusEntry]:
    """A plain-text article as one entry: the first line its title, the rest its summary."""
    title, _, body = path.read_text(encoding="utf-8").strip().partition("\n")
    entry = CorpusEntry(
        path.name,
        TEXT_KEY,
        " ".join(title.split()),
        plain_text(body, SUMMARY_MAX),
        None,
        _FIRST_SEEN,
    )
    return {TEXT_KEY: entry}


def passages(html: str, summary: str) -> tuple[str, ...]:
    """The paragraphs of an article's full content that its stored summary does not hold."""
    blocks = (plain_text(block, SUMMARY_MAX) for block in _PARAGRAPH_END.split(html))
    held = summary.removesuffix("…")
    return tuple(b for b in blocks if len(b) >= PASSAGE_MIN and b[:PASSAGE_MIN] not in held)


def _body_keys(path: Path) -> dict[str, str]:
    """Entry key → full HTML body, keyed as read_feed_entries keys (guid, else link); a text
    file's body with each line a paragraph."""
    if path.suffix == ".txt":
        lines = path.read_text(encoding="utf-8").strip().split("\n")[1:]
        return {TEXT_KEY: "</p>".join(lines)}
    bodies: dict[str, str] = {}
    for guid, link, html in entry_bodies(path.read_bytes()):
        base = (guid or "").strip() or (link or "").strip()
        key, n = base, 1
        while key in bodies:
            n += 1
            key = f"{base}#{n}"
        if base:
            bodies[key] = html
    return bodies


class Corpus:
    """Feed files (and plain-text articles) under one folder, parsed once each, on demand."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._files: dict[str, dict[str, CorpusEntry]] = {}
        self._bodies: dict[str, dict[str, str]] = {}

    def _path(self, file: str) -> Path:
        path = self.folder / file
        if not path.is_file():
            raise FileNotFoundError(f"corpus file {path} not found")
        return path

    def entry(self, file: str, key: str) -> CorpusEntry:
        if file not in self._files:
            path = self._path(file)
            read = read_text_entry if path.suffix == ".txt" else read_feed_entries
            self._files[file] = read(path)
        try:
            return self._files[file][key]
        except KeyError:
            raise KeyError(f"{file}: no entry with key {key!r}") from None

    def passage(self, file: str, key: str, number: int) -> str:
        """Passage `number` (from 0) of an entry's full content; see the module docstring."""
        summary = self.entry(file, key).summary
        if file not in self._bodies:
            self._bodies[file] = _body_keys(self._path(file))
        found = passages(self._bodies[file].get(key, ""), summary)
        if not 0 <= number < len(found):
            raise KeyError(f"{file}: entry {key!r} has no passage {number} ({len(found)} passages)")
        return found[number]
