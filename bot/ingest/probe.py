"""`chipwire check --feeds`: fetch and parse each configured feed once, store nothing, and say
per feed what came back (the same verdicts `feeds list` gives after a first poll)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.ingest.challenge import rejection_text
from bot.ingest.feedhealth import Verdict, poll_verdict
from bot.ingest.fetch import Fetcher
from bot.ingest.parse.feedparser import FeedRejected, parse_feed
from bot.ingest.pipeline import refusal_text
from bot.models import FeedConfig, ParsedFeed

MAX_IN_FLIGHT = 16

_FORMATS = {"rss20": "RSS 2.0", "atom10": "Atom 1.0", "json1": "JSON Feed", "json11": "JSON Feed"}


@dataclass(frozen=True)
class Probe:
    feed: FeedConfig
    status: int | None
    error: str | None = None
    verdict: Verdict | None = None
    entries: int = 0
    format: str | None = None
    newest: datetime | None = None
    moved_to: str | None = None  # a 301/308 answered: the URL to put in the config

    @property
    def ok(self) -> bool:
        return self.error is None and self.verdict is None


async def probe_feeds(fetcher: Fetcher, feeds: Sequence[FeedConfig]) -> list[Probe]:
    """Every feed once, concurrently (the fetcher keeps its per-host limits); in config order."""
    gate = asyncio.Semaphore(MAX_IN_FLIGHT)

    async def one(feed: FeedConfig) -> Probe:
        async with gate:
            return await probe_feed(fetcher, feed)

    return list(await asyncio.gather(*(one(feed) for feed in feeds)))


async def probe_feed(fetcher: Fetcher, feed: FeedConfig) -> Probe:
    fetched = await fetcher.fetch(feed.url, allow_private_address=feed.allow_private_address)
    if not fetched.ok or fetched.body is None:
        error = refusal_text(fetched)
        return Probe(feed, fetched.status, error, poll_verdict(fetched.status, error, None))
    try:
        parsed = await asyncio.to_thread(
            parse_feed, fetched.body, content_type=fetched.content_type, base_url=fetched.url
        )
    except FeedRejected as exc:
        error = rejection_text(fetched.body, exc)
        return Probe(feed, fetched.status, error, poll_verdict(fetched.status, error, None))
    return _read(feed, fetched.status, parsed, fetched.permanent_url)


def _read(feed: FeedConfig, status: int | None, parsed: ParsedFeed, moved: str | None) -> Probe:
    times = [e.published or e.updated for e in parsed.entries]
    newest = max((t for t in times if t is not None), default=None)
    return Probe(
        feed,
        status,
        verdict=poll_verdict(status, None, len(parsed.entries)),
        entries=len(parsed.entries),
        format=_FORMATS.get(parsed.format, parsed.format),
        newest=newest,
        moved_to=moved if moved != feed.url else None,
    )


def probe_line(probe: Probe) -> str:
    """One line (two with advice) of `check --feeds` output."""
    where = f"{probe.feed.name or probe.feed.url} <{probe.feed.url}>"
    if probe.verdict is not None:
        verdict = probe.verdict
        return (
            f"{verdict.flag.upper():<12} {where}: received {verdict.received}\n"
            f"{'':<12} try: {verdict.advice}"
        )
    if probe.error is not None:
        return f"{'FAILED':<12} {where}: {probe.error} (a later poll may get through)"
    newest = f", newest {probe.newest:%Y-%m-%d}" if probe.newest else ""
    moved = f"; moved to {probe.moved_to}: put that URL in the config" if probe.moved_to else ""
    return f"{'ok':<12} {where}: {probe.format}, {probe.entries} items{newest}{moved}"


def probe_summary(probes: Sequence[Probe]) -> str:
    counts: dict[str, int] = {}
    for probe in probes:
        key = probe.verdict.flag if probe.verdict else ("failed" if probe.error else "ok")
        counts[key] = counts.get(key, 0) + 1
    return "feeds: " + ", ".join(f"{n} {key}" for key, n in sorted(counts.items()))
