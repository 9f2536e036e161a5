"""ChartCache: one render per key however many ask, off the event loop, bounded, errors not kept."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import date

import pytest

from bot.trends.cache import ChartCache, ChartKey
from bot.trends.chart import render_trend_png
from tests.trends.support import png_size, trend

DAY = date(2026, 11, 28)


def key(*companies: str, day: date = DAY, kind: str = "trend", days: int = 30) -> ChartKey:
    return ChartKey(kind, companies, days, day)  # type: ignore[arg-type]


class Renderer:
    """A render function that counts its calls, may wait on a gate, and may fail."""

    def __init__(self, *, gated: bool = False, fail: bool = False) -> None:
        self.calls = 0
        self.threads: list[threading.Thread] = []
        self.gate = threading.Event()
        if not gated:
            self.gate.set()
        self.fail = fail

    def __call__(self) -> bytes:
        self.calls += 1
        self.threads.append(threading.current_thread())
        assert self.gate.wait(timeout=5), "gate never opened"
        if self.fail:
            raise RuntimeError("render failed")
        return f"png {self.calls}".encode()


@pytest.fixture
async def cache() -> AsyncIterator[ChartCache]:
    chart_cache = ChartCache()
    yield chart_cache
    chart_cache.close()


async def _settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_concurrent_requests_for_one_key_share_one_render(cache: ChartCache) -> None:
    render = Renderer(gated=True)
    tasks = [asyncio.create_task(cache.get(key("nvidia", "amd"), render)) for _ in range(3)]
    await _settle()
    render.gate.set()
    assert await asyncio.gather(*tasks) == [b"png 1"] * 3
    assert render.calls == 1
    assert await cache.get(key("amd", "nvidia"), render) == b"png 1"
    assert render.calls == 1


async def test_the_next_day_renders_again(cache: ChartCache) -> None:
    render = Renderer()
    assert await cache.get(key("nvidia"), render) == b"png 1"
    assert await cache.get(key("nvidia", day=date(2026, 11, 29)), render) == b"png 2"
    assert await cache.get(key("nvidia"), render) == b"png 1"
    assert render.calls == 2


async def test_kind_and_window_are_part_of_the_key(cache: ChartCache) -> None:
    render = Renderer()
    await cache.get(key("nvidia"), render)
    await cache.get(key("nvidia", kind="share"), render)
    await cache.get(key("nvidia", days=7), render)
    assert render.calls == 3


async def test_a_failed_render_reaches_every_waiter_and_is_not_cached(cache: ChartCache) -> None:
    failing = Renderer(gated=True, fail=True)
    tasks = [asyncio.create_task(cache.get(key("nvidia"), failing)) for _ in range(2)]
    await _settle()
    failing.gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert [str(r) for r in results] == ["render failed", "render failed"]
    assert all(isinstance(r, RuntimeError) for r in results)
    assert failing.calls == 1
    assert len(cache) == 0
    working = Renderer()
    assert await cache.get(key("nvidia"), working) == b"png 1"
    assert working.calls == 1


async def test_least_recently_used_entry_is_evicted() -> None:
    cache = ChartCache(max_entries=2)
    try:
        renders = {name: Renderer() for name in ("a", "b", "c")}
        await cache.get(key("a"), renders["a"])
        await cache.get(key("b"), renders["b"])
        await cache.get(key("a"), renders["a"])  # a is now the most recently used
        await cache.get(key("c"), renders["c"])  # evicts b
        assert len(cache) == 2
        await cache.get(key("a"), renders["a"])
        await cache.get(key("c"), renders["c"])
        assert (renders["a"].calls, renders["c"].calls) == (1, 1)
        await cache.get(key("b"), renders["b"])
        assert renders["b"].calls == 2
    finally:
        cache.close()


async def test_render_runs_in_the_chart_thread(cache: ChartCache) -> None:
    render = Renderer()
    await cache.get(key("nvidia"), render)
    (thread,) = render.threads
    assert thread is not threading.main_thread()
    assert thread is not threading.current_thread()
    assert thread.name.startswith("chipwire-chart")


async def test_one_waiter_cancelled_does_not_cancel_the_render(cache: ChartCache) -> None:
    render = Renderer(gated=True)
    impatient = asyncio.create_task(cache.get(key("nvidia"), render))
    patient = asyncio.create_task(cache.get(key("nvidia"), render))
    await _settle()
    impatient.cancel()
    await _settle()
    render.gate.set()
    assert await patient == b"png 1"
    assert impatient.cancelled()
    assert render.calls == 1


async def test_renders_a_real_chart_off_the_loop(cache: ChartCache) -> None:
    data = trend(("nvidia", "Nvidia", (1, 2, 3, 4, 5, 6, 7)))

    def render() -> bytes:
        return render_trend_png(data, {"nvidia": "#1f77b4"}, "Nvidia")

    png = await cache.get(key("nvidia", days=7), render)
    assert png_size(png) == (1200, 675)


async def test_closed_cache_refuses_new_renders() -> None:
    cache = ChartCache()
    cache.close()
    with pytest.raises(RuntimeError, match="closed"):
        await cache.get(key("nvidia"), Renderer())


def test_chart_key_sorts_and_deduplicates_companies() -> None:
    assert key("nvidia", "amd", "nvidia").companies == ("amd", "nvidia")
    assert key("nvidia", "amd") == key("amd", "nvidia")
    assert hash(key("nvidia", "amd")) == hash(key("amd", "nvidia"))


@pytest.mark.parametrize(
    ("kind", "days", "message"), [("pie", 30, "chart kind"), ("trend", 0, "days must be >= 1")]
)
def test_chart_key_rejects_bad_values(kind: str, days: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        key("nvidia", kind=kind, days=days)


def test_cache_needs_room_for_one_entry() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        ChartCache(max_entries=0)
