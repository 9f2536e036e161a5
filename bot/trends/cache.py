"""Rendered chart PNGs by request, rendered off the event loop, shared while in flight.

There is no clock here: the caller puts the UTC day into the key, so the next day's request is a
new key and gets a fresh chart, and yesterday's entries age out of the LRU.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Literal

DEFAULT_MAX_ENTRIES = 64
CHART_KINDS = ("trend", "share")


@dataclass(frozen=True, slots=True)
class ChartKey:
    """What a chart was made for; ``companies`` is kept sorted and unique so order never matters."""

    kind: Literal["trend", "share"]
    companies: tuple[str, ...]
    days: int
    day: date

    def __post_init__(self) -> None:
        if self.kind not in CHART_KINDS:
            raise ValueError(f"chart kind must be one of {CHART_KINDS}, got {self.kind!r}")
        if self.days < 1:
            raise ValueError(f"days must be >= 1, got {self.days}")
        object.__setattr__(self, "companies", _normalised(self.companies))


def _normalised(companies: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(companies)))


class ChartCache:
    """A bounded LRU of PNG bytes; renders run one at a time in a dedicated thread."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        self._max_entries = max_entries
        self._done: OrderedDict[ChartKey, bytes] = OrderedDict()
        self._pending: dict[ChartKey, asyncio.Future[bytes]] = {}
        # one worker: matplotlib is not thread-safe, and charts must not starve other threads
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chipwire-chart")
        self._closed = False

    def __len__(self) -> int:
        return len(self._done)

    async def get(self, key: ChartKey, render: Callable[[], bytes]) -> bytes:
        """The cached PNG for ``key``, else ``render()`` run in the chart thread (once per key)."""
        cached = self._done.get(key)
        if cached is not None:
            self._done.move_to_end(key)
            return cached
        pending = self._pending.get(key)
        if pending is None:
            pending = self._start(key, render)
        # shield: one waiter giving up must not cancel the render the others are waiting for
        return await asyncio.shield(pending)

    def _start(self, key: ChartKey, render: Callable[[], bytes]) -> asyncio.Future[bytes]:
        if self._closed:
            raise RuntimeError("ChartCache is closed")
        future = asyncio.get_running_loop().run_in_executor(self._executor, render)
        self._pending[key] = future
        future.add_done_callback(lambda done: self._settle(key, done))
        return future

    def _settle(self, key: ChartKey, future: asyncio.Future[bytes]) -> None:
        self._pending.pop(key, None)
        if future.cancelled():
            return
        if future.exception() is not None:
            # read here too, so an error nobody waits for any more is not logged as unretrieved
            return
        self._done[key] = future.result()
        self._done.move_to_end(key)
        while len(self._done) > self._max_entries:
            self._done.popitem(last=False)

    def close(self) -> None:
        """Stop the chart thread: queued renders are cancelled, a running one is not waited for."""
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
