"""Benchmark: `company`, `latest` and `search` answering on a store of 1,000,000 articles.

Run: .venv/bin/python bench/commands.py [--articles 1000000] [--runs 50]

It fills a temporary SQLite store through the ingest path (Store.ingest; a year of news about
the tracked companies, a tenth of it relevant, stored in publication order as a running bot
stores it), then runs each command through the shared
dispatcher (`bot.commands.table.dispatch`, as Discord, Slack and `chipwire ask` do) `--runs` times
with varied arguments, and prints p50 / p95 / worst per command. Target: p95 under 50 ms.
It also times `trend` and `share` rendering their charts afresh (no cache), for the record.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.feedserver import GENERAL, NOUNS, VERBS
from bot.classify.catalog import load_catalog
from bot.commands.messages import Command
from bot.commands.table import dispatch, make_context
from bot.models import Article, Classification, FeedConfig
from bot.settings import settings_from_mapping
from bot.store.repo import Store
from tests.support import ingest

NOW = datetime(2026, 11, 28, 8, tzinfo=UTC)
YEAR = timedelta(days=365)
COMPANIES = ("nvidia", "amd", "huawei", "tsmc", "smic", "intel", "ant-group", "alibaba", "samsung")
WORDS = [*GENERAL, *NOUNS, *VERBS]
QUERIES = {
    "company": ["huawei", "华为", "NVDA", "tsmc", "AMD", "smic"],
    "latest": ["", "nvidia", "huawei 5", "tsmc 10"],
    "search": ["export rules", "HBM supply", "foundry capacity", "chip nvidia", "training 30"],
}
# Charts, rendered afresh each time (no cache): the chat adapters defer first, so these answer
# against Discord's 15-minute follow-up window, not the 50 ms target; measured to show the margin.
CHARTS = {
    "trend": ["nvidia huawei 30", "amd intel tsmc 90", "smic 7", "nvidia amd huawei tsmc 365"],
    "share": ["7", "30"],
}


def fake(n: int, published_at: datetime, rng: random.Random) -> tuple[Article, Classification]:
    company = rng.choice(COMPANIES)
    words = " ".join(rng.choice(WORDS) for _ in range(9))
    article = Article(
        guid=f"g{n}",
        url=f"https://news.example/{n}",
        title=f"{company} {words}",
        summary=f"{words} {' '.join(rng.choice(WORDS) for _ in range(30))}.",
        published_at=published_at,
        language="en",
        author=None,
        source="bench",
        content_hash=f"h{n}",
    )
    relevant = rng.random() < 0.1
    verdict = Classification(relevant, 0.8 if relevant else 0.2, (company,), ("bench",))
    return article, verdict


async def fill(store: Store, total: int, *, at_once: bool = False) -> None:
    """A year of news stored as a running bot stores it: in the order it was published, each
    batch a few minutes after its newest article. `at_once`: the same year imported in one go,
    every article first seen now and stored in no date order (search's worst case)."""
    rng = random.Random(11)
    feeds = [
        await store.add_feed(
            FeedConfig(url=f"https://src{k}.example/rss", name=f"Source {k}"),
            "cli",
            NOW - YEAR,
            history=False,
        )
        for k in range(20)
    ]
    ages = [rng.uniform(0, YEAR.total_seconds()) for _ in range(total)]
    if not at_once:
        ages.sort(reverse=True)
    batch = 2_000
    for start in range(0, total, batch):
        feed = feeds[(start // batch) % len(feeds)]
        times = [NOW - timedelta(seconds=age) for age in ages[start : start + batch]]
        items = [fake(start + k, when, rng) for k, when in enumerate(times)]
        seen = NOW if at_once else max(times) + timedelta(minutes=rng.uniform(1, 15))
        await ingest(store, feed, items, seen)


async def measure(
    store: Store, runs: int, commands: dict[str, list[str]]
) -> dict[str, list[float]]:
    settings = settings_from_mapping({}, Path("bench.toml"))
    ctx = make_context(store, load_catalog(), lambda: NOW, settings)
    timings: dict[str, list[float]] = {name: [] for name in commands}
    for k in range(runs):
        for name, variants in commands.items():
            args = tuple(variants[k % len(variants)].split())
            command = Command(name, args, "console", "bench", True)
            started = time.perf_counter()
            reply = await dispatch(ctx, command)
            timings[name].append((time.perf_counter() - started) * 1000)
            if reply.error:
                raise SystemExit(f"{name} {args}: {reply.title}")
    return timings


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument(
        "--db", type=Path, help="keep the filled store in this file and reuse it on later runs"
    )
    parser.add_argument(
        "--at-once",
        action="store_true",
        help="fill as one big import (no date order): the worst case for search",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = args.db or Path(folder) / "bench.db"
        store = await Store.open(f"sqlite+aiosqlite:///{path}")
        try:
            stored = await store.count_articles()
            if stored not in (0, args.articles):
                raise SystemExit(f"{path} holds {stored:,} articles, not {args.articles:,}")
            if stored == 0:
                started = time.perf_counter()
                await fill(store, args.articles, at_once=args.at_once)
                print(f"filled {args.articles:,} articles in {time.perf_counter() - started:.0f} s")
            await measure(store, 3, QUERIES | CHARTS)  # warm the page cache, as a bot's is
            timings = await measure(store, args.runs, QUERIES)
            charts = await measure(store, max(4, args.runs // 5), CHARTS)
        finally:
            await store.close()
    print("| command | p50 ms | p95 ms | worst ms |\n|---|---|---|---|")
    for name, values in (timings | charts).items():
        print(
            f"| {name} | {statistics.median(values):.1f} | {p95(values):.1f} | {max(values):.1f} |"
        )
    worst = max(p95(values) for values in timings.values())
    print(f"target: company, latest, search p95 under 50 ms — {'met' if worst < 50 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
