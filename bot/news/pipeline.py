"""poll_feed / poll_feeds: the one orchestrator that does I/O for ingest.

fetch (aiohttp) → skip if 304 or the body is unchanged → parse + normalise + classify (pure, in a
process pool) → store once → record what happened and when to poll next.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.models import FeedState, FetchResult, PollOutcome
from bot.news.fetch import Fetcher
from bot.news.parsejob import ParseJob, ParseOutput, Parser
from bot.store.repo import FeedUpdate, Store

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class PollContext:
    store: Store
    fetcher: Fetcher
    parser: Parser
    clock: Clock
    max_backoff: int = 24 * 3600  # seconds
    max_in_flight: int = 40  # feeds between fetch and store at once; bounds memory


def next_poll_delay(
    interval: int, consecutive_failures: int, retry_after: float | None, max_backoff: int
) -> float:
    """Seconds until the next poll: the interval, doubled per consecutive failure, capped."""
    if consecutive_failures <= 0:
        delay = float(interval)
    else:
        delay = float(min(max_backoff, interval * 2 ** min(consecutive_failures - 1, 30)))
    return max(delay, retry_after or 0.0)


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


async def poll_feeds(
    ctx: PollContext,
    feeds: Sequence[FeedState],
    on_outcome: Callable[[PollOutcome], Awaitable[None] | None] | None = None,
) -> list[PollOutcome]:
    """Poll every feed concurrently; one feed's failure never stops the others."""
    gate = asyncio.Semaphore(ctx.max_in_flight)

    async def one(feed: FeedState) -> PollOutcome:
        async with gate:
            outcome = await poll_feed_safely(ctx, feed)
        if on_outcome is not None:
            maybe = on_outcome(outcome)
            if maybe is not None:
                await maybe
        return outcome

    return list(await asyncio.gather(*(one(feed) for feed in feeds)))


async def poll_feed_safely(ctx: PollContext, feed: FeedState) -> PollOutcome:
    try:
        return await poll_feed(ctx, feed)
    except Exception as exc:  # a bug or a store hiccup must not stop the other feeds
        log.exception("feed_id=%s poll failed unexpectedly", feed.id)
        return PollOutcome(feed.id, feed.url, None, error=f"internal error: {exc!r}")


async def poll_feed(ctx: PollContext, feed: FeedState) -> PollOutcome:
    fetched = await ctx.fetcher.fetch(
        feed.url,
        etag=feed.etag,
        last_modified=feed.last_modified,
        allow_private_address=feed.allow_private_address,
    )
    now = ctx.clock()
    if fetched.not_modified:
        await _record_success(ctx, feed, fetched, now, body_hash=None)
        return PollOutcome(feed.id, feed.url, 304, skipped_parse=True)
    if not fetched.ok or fetched.body is None:
        return await _record_failure(ctx, feed, fetched, now, fetched.error or "empty answer")
    digest = body_digest(fetched.body)
    if digest == feed.body_hash:
        await _record_success(ctx, feed, fetched, now, body_hash=digest)
        return PollOutcome(feed.id, feed.url, fetched.status, skipped_parse=True)
    parsed = await ctx.parser.parse(_job(feed, fetched, now))
    if parsed.error is not None:
        return await _record_failure(ctx, feed, fetched, now, parsed.error)
    stored = await ctx.store.ingest(feed, parsed.items, now)
    await _record_success(ctx, feed, fetched, now, body_hash=digest)
    return PollOutcome(
        feed.id,
        feed.url,
        fetched.status,
        new_articles=stored.new_articles,
        new_sources=stored.new_sources,
    )


def _job(feed: FeedState, fetched: FetchResult, now: datetime) -> ParseJob:
    return ParseJob(
        body=fetched.body or b"",
        content_type=fetched.content_type,
        base_url=fetched.url,
        source=feed.name,
        declared_language=feed.language,
        first_seen=now,
    )


async def _record_success(
    ctx: PollContext, feed: FeedState, fetched: FetchResult, now: datetime, body_hash: str | None
) -> None:
    delay = next_poll_delay(feed.interval, 0, fetched.retry_after, ctx.max_backoff)
    await ctx.store.record_poll(
        feed,
        FeedUpdate(
            polled_at=now,
            next_poll_at=now + timedelta(seconds=delay),
            status=fetched.status,
            error=None,
            success=True,
            etag=fetched.etag or (feed.etag if fetched.not_modified else None),
            last_modified=fetched.last_modified
            or (feed.last_modified if fetched.not_modified else None),
            body_hash=body_hash,
            new_url=fetched.permanent_url,
        ),
    )


async def _record_failure(
    ctx: PollContext, feed: FeedState, fetched: FetchResult, now: datetime, error: str
) -> PollOutcome:
    failures = feed.consecutive_failures + 1
    delay = next_poll_delay(feed.interval, failures, fetched.retry_after, ctx.max_backoff)
    await ctx.store.record_poll(
        feed,
        FeedUpdate(
            polled_at=now,
            next_poll_at=now + timedelta(seconds=delay),
            status=fetched.status,
            error=error,
            success=False,
        ),
    )
    return PollOutcome(feed.id, feed.url, fetched.status, error=error)


__all__ = ["ParseOutput", "PollContext", "next_poll_delay", "poll_feed", "poll_feeds"]
