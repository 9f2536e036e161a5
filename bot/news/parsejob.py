"""Parsing work as values, so it can run inline or in worker processes on every core.

The worker does parse → normalise → classify, all pure, and hands back plain values.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from bot.news.classify_hook import build_classifier
from bot.news.normalise import normalise_entry
from bot.news.parse import FeedRejected, parse_feed
from bot.store.records import ArticleRecord, article_record

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


@dataclass(frozen=True)
class ParseOutput:
    items: tuple[ArticleRecord, ...] = ()
    error: str | None = None


class Parser(Protocol):
    async def parse(self, job: ParseJob) -> ParseOutput: ...


_classify = None  # set per process by configure_classifier


def configure_classifier(catalog_path: str | None, threshold: float = 0.5) -> None:
    """Build the classifier once per process (compiling the catalog is the costly part)."""
    global _classify
    _classify = build_classifier(Path(catalog_path) if catalog_path else None, threshold)


def run_job(job: ParseJob) -> ParseOutput:
    try:
        parsed = parse_feed(job.body, content_type=job.content_type, base_url=job.base_url)
    except FeedRejected as exc:
        return ParseOutput(error=f"not parsed: {exc}")
    items = []
    for entry in parsed.entries[:MAX_ENTRIES_PER_FEED]:
        if entry.guid and entry.guid.strip() in job.known_guids:
            continue
        article = normalise_entry(
            entry,
            feed=parsed,
            source=job.source,
            declared_language=job.declared_language,
            first_seen=job.first_seen,
        )
        if article is not None:
            verdict = _classify(article) if _classify is not None else None
            items.append(article_record(article, verdict))
    return ParseOutput(items=tuple(items))


class InlineParser:
    """Parses in the event loop's process; for small runs and tests."""

    def __init__(
        self, catalog_path: str | None = None, threshold: float = 0.5, *, classify: bool = True
    ) -> None:
        global _classify
        if classify:
            configure_classifier(catalog_path, threshold)
        else:
            _classify = None

    async def parse(self, job: ParseJob) -> ParseOutput:
        return run_job(job)

    def close(self) -> None:
        pass


class PoolParser:
    """Parses on worker processes so both cores work while the loop fetches and stores."""

    def __init__(
        self, workers: int, catalog_path: str | None = None, threshold: float = 0.5
    ) -> None:
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=configure_classifier,
            initargs=(catalog_path, threshold),
        )

    async def parse(self, job: ParseJob) -> ParseOutput:
        return await asyncio.get_running_loop().run_in_executor(self._pool, run_job, job)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def make_parser(
    workers: int, catalog_path: str | None = None, threshold: float = 0.5
) -> InlineParser | PoolParser:
    """workers: 0 parses inline, -1 means one worker per core, N means N workers.

    The catalog is read here first, so a bad one fails at start with a clear error rather than
    inside a worker.
    """
    count = (os.cpu_count() or 1) if workers < 0 else workers
    if count == 0:
        return InlineParser(catalog_path, threshold)
    return PoolParser(count, catalog_path, threshold)
