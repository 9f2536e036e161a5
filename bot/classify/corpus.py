"""Real feed text for the labelled set, read in place from a corpus of feed files.

The labels (tests/data/real_labelled.jsonl) name an entry by corpus file and entry key, never
holding its text: the text belongs to the feeds' authors, so it is read from the corpus at run
time, through the same parse → normalise path the bot uses for a fetched feed. An entry's key is
its guid, else its link, else its title; a key a file repeats gets "#2", "#3" … in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.ingest.normalise import normalise_entry
from bot.ingest.parse.feedparser import FeedRejected, parse_feed

_FIRST_SEEN = datetime(2000, 1, 1, tzinfo=UTC)  # entries without a date keep a fixed one


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


class Corpus:
    """Feed files under one folder, parsed once each, on demand."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._files: dict[str, dict[str, CorpusEntry]] = {}

    def entry(self, file: str, key: str) -> CorpusEntry:
        if file not in self._files:
            path = self.folder / file
            if not path.is_file():
                raise FileNotFoundError(f"corpus file {path} not found")
            self._files[file] = read_feed_entries(path)
        try:
            return self._files[file][key]
        except KeyError:
            raise KeyError(f"{file}: no entry with key {key!r}") from None
