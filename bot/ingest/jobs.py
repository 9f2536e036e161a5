"""Parsing work as values: what a parser is given, what it hands back, and how it classifies.

Plain frozen values, so a job can cross into a worker process and back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.store.records import ArticleRecord

MAX_ENTRIES_PER_FEED = 2000  # a feed with more is almost surely broken or hostile


@dataclass(frozen=True)
class ParseJob:
    body: bytes
    content_type: str | None
    base_url: str
    source: str
    declared_language: str | None
    first_seen: datetime
    known_guids: frozenset[str] = frozenset()  # entries this feed gave before: skipped
    body_hash: str | None = None  # None: the worker computes it (a first poll has none to match)


@dataclass(frozen=True)
class ParseOutput:
    items: tuple[ArticleRecord, ...] = ()
    error: str | None = None
    body_hash: str | None = None
    entries: int | None = None  # entries in the document, known ones included


class Parser(Protocol):
    async def start(self) -> None: ...

    async def parse(self, job: ParseJob) -> ParseOutput: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ClassifierSpec:
    """How each parsing process builds its classifier; `enabled=False` stores no verdicts."""

    catalog_path: str | None = None
    threshold: float = 0.5
    enabled: bool = True
