"""Where parsing runs: inline in the event loop's process, or in worker processes on every core.

The worker does parse → normalise → classify, all pure, and hands back plain values.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from bot.classify.catalog import load_catalog
from bot.ingest.jobs import ClassifierSpec, ParseJob, ParseOutput


def _configure_worker(spec: ClassifierSpec) -> None:
    from bot.ingest.worker import configure_classifier

    configure_classifier(spec)


def _init_pool_worker(spec: ClassifierSpec) -> None:
    # Ctrl-C reaches the whole process group; the bot stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _configure_worker(spec)


def _ready() -> bool:
    import bot.ingest.worker  # noqa: F401  (loads the parsing stack)

    return True


def _run_in_worker(job: ParseJob) -> ParseOutput:
    # Imported here so the event-loop process never loads the parsing stack in pool mode.
    from bot.ingest.worker import run_job

    return run_job(job)


class InlineParser:
    """Parses in the event loop's process; for small runs and tests."""

    def __init__(self, spec: ClassifierSpec | None = None) -> None:
        _configure_worker(spec or ClassifierSpec())

    async def start(self) -> None:
        pass

    async def parse(self, job: ParseJob) -> ParseOutput:
        return _run_in_worker(job)

    def close(self) -> None:
        pass


class PoolParser:
    """Parses on worker processes so both cores work while the loop fetches and stores.

    The pool starts with the first job, so commands and polls that parse nothing start no
    processes. A pool broken by a dead worker is replaced once per job rather than failing
    every later feed.
    """

    def __init__(self, workers: int, spec: ClassifierSpec) -> None:
        load_catalog(extra=Path(spec.catalog_path) if spec.catalog_path else None)  # fail early
        self._workers = workers
        self._spec = spec
        self._pool: ProcessPoolExecutor | None = None

    async def start(self) -> None:
        """Start every worker now, so the first poll does not wait for them to load."""
        loop = asyncio.get_running_loop()
        pool = self._executor()
        await asyncio.gather(*(loop.run_in_executor(pool, _ready) for _ in range(self._workers)))

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_init_pool_worker,
                initargs=(self._spec,),
            )
        return self._pool

    async def parse(self, job: ParseJob) -> ParseOutput:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor(), _run_in_worker, job)
        except BrokenProcessPool:
            self._discard()
            return await loop.run_in_executor(self._executor(), _run_in_worker, job)

    def _discard(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def default_workers() -> int:
    """One core stays with the event loop, which fetches and stores; the rest parse."""
    return max(1, (os.cpu_count() or 1) - 1)


def make_parser(workers: int, spec: ClassifierSpec | None = None) -> InlineParser | PoolParser:
    """workers: 0 parses inline, -1 chooses `default_workers()`, N means N workers."""
    spec = spec or ClassifierSpec()
    count = default_workers() if workers < 0 else workers
    return InlineParser(spec) if count == 0 else PoolParser(count, spec)
