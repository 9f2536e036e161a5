"""Parsing work as values, so it can run inline or in worker processes on every core.

The worker does parse → normalise → classify, all pure, and hands back plain values.
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from bot.models import Article, Classification
from bot.news.catalog import load_catalog
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
    body_hash: str | None = None  # None: the worker computes it (a first poll has none to match)


@dataclass(frozen=True)
class ParseOutput:
    items: tuple[ArticleRecord, ...] = ()
    error: str | None = None
    body_hash: str | None = None


class Parser(Protocol):
    async def parse(self, job: ParseJob) -> ParseOutput: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ClassifierSpec:
    """How each parsing process builds its classifier; `enabled=False` stores no verdicts."""

    catalog_path: str | None = None
    threshold: float = 0.5
    enabled: bool = True


_classify: Callable[[Article], Classification] | None = None  # per process, see configure


def configure_classifier(spec: ClassifierSpec) -> None:
    """Build the classifier once per process (compiling the catalog is the costly part)."""
    global _classify
    catalog = Path(spec.catalog_path) if spec.catalog_path else None
    _classify = build_classifier(catalog, spec.threshold) if spec.enabled else None


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
    digest = job.body_hash or hashlib.sha256(job.body).hexdigest()
    return ParseOutput(items=tuple(items), body_hash=digest)


class InlineParser:
    """Parses in the event loop's process; for small runs and tests."""

    def __init__(self, spec: ClassifierSpec | None = None) -> None:
        configure_classifier(spec or ClassifierSpec())

    async def parse(self, job: ParseJob) -> ParseOutput:
        return run_job(job)

    def close(self) -> None:
        pass


class PoolParser:
    """Parses on worker processes so both cores work while the loop fetches and stores.

    The pool starts with the first job, so commands and polls that parse nothing start no
    processes; workers fork from a server that has imported only the parsing stack. A pool
    broken by a dead worker is replaced once per job rather than failing every later feed.
    """

    def __init__(self, workers: int, spec: ClassifierSpec) -> None:
        load_catalog(extra=Path(spec.catalog_path) if spec.catalog_path else None)  # fail early
        self._workers = workers
        self._spec = spec
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])
            self._pool = ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=context,
                initializer=configure_classifier,
                initargs=(self._spec,),
            )
        return self._pool

    async def parse(self, job: ParseJob) -> ParseOutput:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor(), run_job, job)
        except BrokenProcessPool:
            self._discard()
            return await loop.run_in_executor(self._executor(), run_job, job)

    def _discard(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def make_parser(workers: int, spec: ClassifierSpec | None = None) -> InlineParser | PoolParser:
    """workers: 0 parses inline, -1 means one worker per core, N means N workers."""
    spec = spec or ClassifierSpec()
    count = (os.cpu_count() or 1) if workers < 0 else workers
    return InlineParser(spec) if count == 0 else PoolParser(count, spec)
