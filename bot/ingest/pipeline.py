"""poll_feeds: the one orchestrator that does I/O for ingest.

Each feed: fetch (aiohttp) → stop early on a 304 or an unchanged body → parse, normalise and
classify the entries it has not given before (pure, in worker processes) → hand the result to one
writer, which stores whatever has arrived in a single transaction and reports per feed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.digest.stories import cluster_stories
from bot.ingest.challenge import challenge_of
from bot.ingest.jobs import ParseJob, Parser
from bot.models import Clock, FeedState, FetchResult, PollOutcome
from bot.store.failures import StoreFailure
from bot.store.ingest import Item
from bot.store.repo import FeedUpdate, PollWrite, Store

if TYPE_CHECKING:  # the HTTP client is loaded by whoever builds a Fetcher (App, on first use)
    from bot.ingest.fetch import Fetcher

log = logging.getLogger(__name__)

KNOWN_GUID_WINDOW = timedelta(days=30)  # guids seen since then are skipped before classifying
STORY_WINDOW = timedelta(hours=48)  # stories are regrouped over articles first seen this recently
_NONE: frozenset[str] = frozenset()
OnOutcome = Callable[[PollOutcome], Awaitable[None] | None]


@dataclass(frozen=True)
class PollContext:
    store: Store
    fetcher: Fetcher
    parser: Parser
    clock: Clock
    max_backoff: int = 24 * 3600  # seconds
    max_in_flight: int = 64  # feeds between fetch and store at once; bounds memory
    max_batch_articles: int = 5000  # per write transaction


@dataclass(frozen=True)
class _Pending:
    """A feed's poll, waiting for the writer; `outcome` lacks the counts only the store knows."""

    write: PollWrite
    outcome: PollOutcome


def next_poll_delay(
    interval: int, consecutive_failures: int, retry_after: float | None, max_backoff: int
) -> float:
    """Seconds until the next poll: the interval, doubled per consecutive failure, capped."""
    if consecutive_failures <= 0:
        delay = float(interval)
    else:
        delay = float(min(max_backoff, interval * 2 ** min(consecutive_failures - 1, 30)))
    return max(delay, retry_after or 0.0)


JITTER = 0.1  # feeds due together drift apart by up to ±10% of their interval


def jitter(feed_id: int, polled_at: datetime) -> float:
    """A factor in [1 - JITTER, 1 + JITTER], the same for the same feed and poll: feeds added
    together (a config file) stop being due together after their first poll, without a random
    source the tests would have to seed."""
    spread = ((feed_id * 2654435761 + int(polled_at.timestamp())) % 10007) / 10006
    return 1 - JITTER + 2 * JITTER * spread


def with_advice(error: str, fetched: FetchResult, feed: FeedState) -> str:
    """Say what to do about a refusal the user can lift: a private address on the feed's own
    host (never a metadata address, nor one a redirect led to)."""
    if fetched.refused == "private" and not feed.allow_private_address:
        return (
            f"{error}; if you host this feed yourself, set allow_private_address = true "
            "for it (or feeds add --allow-private-address)"
        )
    return error


def refusal_text(fetched: FetchResult) -> str:
    """The fetch error, naming the bot protection when the refusal was a challenge page."""
    error = fetched.error or "empty answer"
    who = challenge_of(fetched.body) if fetched.error else None
    return f"{error}: a bot challenge page ({who})" if who else error


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


async def poll_feeds(
    ctx: PollContext, feeds: Sequence[FeedState], on_outcome: OnOutcome | None = None
) -> list[PollOutcome]:
    """Poll every feed concurrently; one feed's failure never stops the others."""
    queue: asyncio.Queue[_Pending | None] = asyncio.Queue(maxsize=ctx.max_in_flight)
    gate = asyncio.Semaphore(ctx.max_in_flight)
    outcomes: list[PollOutcome] = []
    known = KnownGuids(ctx.store, [f.id for f in feeds if f.first_polled], ctx.clock())

    async def one(feed: FeedState) -> None:
        async with gate:
            await queue.put(await _poll_safely(ctx, feed, known))

    async def produce() -> None:
        await asyncio.gather(*(one(feed) for feed in feeds))
        await queue.put(None)

    # One task group: should the writer fail (the store, or a reporter that raised), the polls
    # waiting to hand it their results are cancelled instead of waiting for ever.
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(_write_loop(ctx, queue, outcomes, on_outcome))
            group.create_task(produce())
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    if any(outcome.new_articles or outcome.new_sources for outcome in outcomes):
        await assign_stories(ctx.store, ctx.clock())
    return outcomes


async def assign_stories(store: Store, now: datetime, window: timedelta = STORY_WINDOW) -> int:
    """Regroup the recent relevant articles into stories and store each one's story key, so a
    digest only groups (clustering is the costly part). Returns how many articles changed."""
    recent = await store.story_window(now - window)
    if not recent:
        return 0
    stories = await asyncio.to_thread(cluster_stories, recent)  # pure; keeps the loop answering
    current = {article.id: article.story for article in recent}
    changes = [
        (article_id, story.key)
        for story in stories
        for article_id in story.article_ids
        if current[article_id] != story.key
    ]
    await store.set_story_keys(changes)
    return len(changes)


class KnownGuids:
    """The guids each feed gave recently, loaded in one query the first time a feed needs
    parsing: a poll where every feed answers 304 or an unchanged body never asks."""

    def __init__(self, store: Store, feed_ids: Sequence[int], now: datetime) -> None:
        self._store = store
        self._feed_ids = feed_ids
        self._since = now - KNOWN_GUID_WINDOW
        self._loaded: asyncio.Future[dict[int, frozenset[str]]] | None = None

    async def of(self, feed_id: int) -> frozenset[str]:
        if not self._feed_ids:
            return _NONE
        if self._loaded is None:
            self._loaded = asyncio.ensure_future(
                self._store.recent_guids(self._feed_ids, self._since)
            )
        return (await asyncio.shield(self._loaded)).get(feed_id, _NONE)


async def _poll_safely(ctx: PollContext, feed: FeedState, known: KnownGuids) -> _Pending:
    try:
        return await _poll(ctx, feed, known)
    except StoreFailure:
        raise
    except Exception as exc:  # a bug must not stop the other feeds
        log.exception("feed_id=%s poll failed unexpectedly", feed.id)
        failed = FetchResult(url=feed.url, status=None, error=f"internal error: {exc!r}")
        return _failure(ctx, feed, failed, ctx.clock(), failed.error or "")


async def _poll(ctx: PollContext, feed: FeedState, known: KnownGuids) -> _Pending:
    fetched = await ctx.fetcher.fetch(
        feed.poll_url,
        etag=feed.etag,
        last_modified=feed.last_modified,
        allow_private_address=feed.allow_private_address,
    )
    now = ctx.clock()
    if fetched.not_modified:
        return _success(ctx, feed, fetched, now, body_hash=None, skipped=True)
    if not fetched.ok or fetched.body is None:
        return _failure(ctx, feed, fetched, now, with_advice(refusal_text(fetched), fetched, feed))
    # With nothing to compare against (a first poll), the parse worker computes the hash.
    digest = body_digest(fetched.body) if feed.body_hash else None
    if digest is not None and digest == feed.body_hash:
        return _success(ctx, feed, fetched, now, body_hash=digest, skipped=True)
    guids = await known.of(feed.id) if feed.first_polled else _NONE
    parsed = await ctx.parser.parse(_job(feed, fetched, now, guids, digest))
    if parsed.error is not None:
        return _failure(ctx, feed, fetched, now, parsed.error)
    return _success(
        ctx,
        feed,
        fetched,
        now,
        body_hash=parsed.body_hash,
        items=parsed.items,
        entries=parsed.entries,
    )


def _job(
    feed: FeedState,
    fetched: FetchResult,
    now: datetime,
    known: frozenset[str],
    body_hash: str | None,
) -> ParseJob:
    return ParseJob(
        body=fetched.body or b"",
        content_type=fetched.content_type,
        base_url=fetched.url,
        source=feed.name,
        declared_language=feed.language,
        first_seen=now,
        known_guids=known,
        body_hash=body_hash,
    )


def _success(
    ctx: PollContext,
    feed: FeedState,
    fetched: FetchResult,
    now: datetime,
    *,
    body_hash: str | None,
    skipped: bool = False,
    items: Sequence[Item] = (),
    entries: int | None = None,
) -> _Pending:
    delay = next_poll_delay(feed.interval, 0, fetched.retry_after, ctx.max_backoff)
    delay *= jitter(feed.id, now) if not fetched.retry_after else 1.0
    keep = fetched.not_modified  # a 304 may omit validators: keep the ones that earned it
    update = FeedUpdate(
        polled_at=now,
        next_poll_at=now + timedelta(seconds=delay),
        status=fetched.status,
        error=None,
        success=True,
        etag=fetched.etag or (feed.etag if keep else None),
        last_modified=fetched.last_modified or (feed.last_modified if keep else None),
        body_hash=body_hash,
        new_url=fetched.permanent_url,
        entries=entries,
    )
    return _Pending(
        PollWrite(feed, update, items, parsed=not skipped),
        PollOutcome(feed.id, feed.url, fetched.status, skipped_parse=skipped),
    )


def _failure(
    ctx: PollContext, feed: FeedState, fetched: FetchResult, now: datetime, error: str
) -> _Pending:
    failures = feed.consecutive_failures + 1
    delay = next_poll_delay(feed.interval, failures, fetched.retry_after, ctx.max_backoff)
    update = FeedUpdate(
        polled_at=now,
        next_poll_at=now + timedelta(seconds=delay),
        status=fetched.status,
        error=error,
        success=False,
    )
    return _Pending(
        PollWrite(feed, update), PollOutcome(feed.id, feed.url, fetched.status, error=error)
    )


async def _write_loop(
    ctx: PollContext,
    queue: asyncio.Queue[_Pending | None],
    outcomes: list[PollOutcome],
    on_outcome: OnOutcome | None,
) -> None:
    """The single writer: stores whatever has arrived in one transaction, then reports it.
    When the store itself fails (unwritable, corrupt, …) the rest is drained unwritten and the
    failure raised at the end: the poll stops as a whole, not as one error per feed."""
    failure: StoreFailure | None = None
    done = False
    while not done:
        first = await queue.get()
        if first is None:
            break
        batch, articles = [first], len(first.write.items)
        while articles < ctx.max_batch_articles and not queue.empty():
            pending = queue.get_nowait()
            if pending is None:
                done = True
                break
            batch.append(pending)
            articles += len(pending.write.items)
        if failure is not None:
            continue
        try:
            written = await _write_batch(ctx, batch)
        except StoreFailure as exc:
            failure = exc
            continue
        for outcome in written:
            outcomes.append(outcome)
            if on_outcome is not None and (maybe := on_outcome(outcome)) is not None:
                await maybe
    if failure is not None:
        raise failure


async def _write_batch(ctx: PollContext, batch: list[_Pending]) -> list[PollOutcome]:
    try:
        stored = await ctx.store.write_polls([p.write for p in batch], ctx.clock())
    except StoreFailure:
        raise
    except Exception as exc:  # the store hiccupped: say so per feed; the next poll retries
        log.exception("storing %d feeds' polls failed", len(batch))
        return [
            PollOutcome(p.outcome.feed_id, p.outcome.url, p.outcome.status, error=f"store: {exc}")
            for p in batch
        ]
    return [
        PollOutcome(
            p.outcome.feed_id,
            p.outcome.url,
            p.outcome.status,
            new_articles=result.new_articles,
            new_sources=result.new_sources,
            error=p.outcome.error,
            skipped_parse=p.outcome.skipped_parse,
            new_relevant=result.new_relevant,
        )
        for p, result in zip(batch, stored, strict=True)
    ]
