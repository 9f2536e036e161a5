"""Benchmark: build and render one digest from a store of 100,000 articles, 5,000 of them candidates.

Run: .venv/bin/python bench/digest.py [--articles 100000] [--candidates 5000] [--runs 7]

It fills a temporary SQLite store through the ingest path (Store.ingest), assigns stories as the
bot does after each poll (timed apart: it is not on the digest path), then times, per run: the
candidate query, grouping candidates by story, ranking, building the digest, and rendering it
for the console, Discord and Slack. It prints the median and the worst of the runs per stage.
Target: the whole (query + build + three renders) under 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.feedserver import GENERAL, NOUNS, VERBS
from bot.digest.build import build_digest, rank_stories
from bot.digest.stories import stories_of
from bot.ingest.pipeline import assign_stories
from bot.models import Article, Classification, FeedConfig, Subscription
from bot.platforms.console.render import render_console
from bot.platforms.discord.render import render_discord
from bot.platforms.slack.render import render_slack
from bot.store.repo import Store
from tests.support import ingest

NOW = datetime(2026, 11, 28, 8, tzinfo=UTC)
COMPANIES = ("nvidia", "amd", "huawei", "tsmc", "smic", "intel", "ant-group", "alibaba", "samsung")
NAMES = {c: c.replace("-", " ").title() for c in COMPANIES}
WORDS = [*GENERAL, *NOUNS, *VERBS]  # news-like: mostly general words, some topic words


def fake(n: int, rng: random.Random, fresh: bool) -> tuple[Article, Classification]:
    company = rng.choice(COMPANIES)
    words = " ".join(rng.choice(WORDS) for _ in range(9))
    when = (
        NOW - timedelta(hours=rng.uniform(0, 23))
        if fresh
        else NOW - timedelta(days=rng.uniform(2, 300))
    )
    article = Article(
        guid=f"g{n}",
        url=f"https://news.example/{n}",
        title=f"{company} {words}",
        summary=f"{words} {words} about {company} number {n}.",
        published_at=when,
        language="en",
        author=None,
        source="bench",
        content_hash=f"h{n}",
    )
    verdict = Classification(True, round(rng.uniform(0.5, 1.0), 3), (company,), ("bench",))
    return article, verdict


async def fill(store: Store, total: int, candidates: int) -> None:
    rng = random.Random(7)
    feed = await store.add_feed(
        FeedConfig(url="https://bench.example/old"), "cli", NOW, history=False
    )
    old = [fake(n, rng, fresh=False) for n in range(total - candidates)]
    for start in range(0, len(old), 5000):
        await ingest(store, feed, old[start : start + 5000], NOW - timedelta(days=3))
        feed = await store.get_feed(feed.id) or feed
    fresh_feed = await store.add_feed(
        FeedConfig(url="https://bench.example/new"), "cli", NOW, history=False
    )
    fresh = [fake(n, rng, fresh=True) for n in range(total - candidates, total)]
    for start in range(0, len(fresh), 5000):
        await ingest(store, fresh_feed, fresh[start : start + 5000], NOW - timedelta(hours=1))
        fresh_feed = await store.get_feed(fresh_feed.id) or fresh_feed


async def timed(stages: dict[str, list[float]], name: str, work: Callable[[], object]) -> object:
    started = time.perf_counter()
    result = work()
    if asyncio.iscoroutine(result):
        result = await result
    stages.setdefault(name, []).append((time.perf_counter() - started) * 1000)
    return result


async def one_run(store: Store, stages: dict[str, list[float]]) -> int:
    subscription = Subscription(target="bench", schedule="0 8 * * *", timezone="Europe/Rome")
    since = NOW - timedelta(hours=24)
    found = await timed(
        stages,
        "query candidates",
        lambda: store.digest_candidates(
            target=subscription.target, since=since, until=NOW, min_score=0.5
        ),
    )
    stories = await timed(stages, "group stories", lambda: stories_of(found))  # type: ignore[arg-type]
    ranked = await timed(stages, "rank", lambda: rank_stories(stories, now=NOW))  # type: ignore[arg-type]
    digest = await timed(
        stages,
        "build",
        lambda: build_digest(
            ranked,
            title="bench",
            period_start=since,
            period_end=NOW,
            timezone="Europe/Rome",  # type: ignore[arg-type]
            company_names=NAMES,
            empty_note=None,
        ),
    )
    await timed(stages, "render console", lambda: render_console(digest, NAMES))  # type: ignore[arg-type]
    await timed(stages, "render discord", lambda: render_discord(digest, NAMES))  # type: ignore[arg-type]
    await timed(stages, "render slack", lambda: render_slack(digest, NAMES))  # type: ignore[arg-type]
    return len(found)  # type: ignore[arg-type]


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--candidates", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        store = await Store.open(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")
        try:
            started = time.perf_counter()
            await fill(store, args.articles, args.candidates)
            print(f"filled {args.articles:,} articles in {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            changed = await assign_stories(store, NOW, timedelta(hours=48))
            print(
                f"story assignment after the poll (off the digest path): {changed:,} articles "
                f"in {(time.perf_counter() - started) * 1000:.0f} ms"
            )
            stages: dict[str, list[float]] = {}
            for _ in range(args.runs):
                count = await one_run(store, stages)
        finally:
            await store.close()
    totals = [sum(values[i] for values in stages.values()) for i in range(args.runs)]
    print(f"candidates per digest: {count:,}; runs: {args.runs}")
    print("| stage | median ms | worst ms |\n|---|---|---|")
    for name, values in stages.items():
        print(f"| {name} | {statistics.median(values):.1f} | {max(values):.1f} |")
    print(f"| **total** | **{statistics.median(totals):.1f}** | {max(totals):.1f} |")
    print(f"target: under 200 ms — {'met' if statistics.median(totals) < 200 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
