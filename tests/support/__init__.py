"""Shared test helpers: stores on SQLite and a real PostgreSQL, articles as values."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from bot.models import Article, Classification, FeedConfig, FeedState, SubscriptionConfig
from bot.store.ingest import FeedUpdate, IngestResult, PollWrite
from bot.store.records import article_record
from bot.store.repo import Store

POSTGRES_ADMIN_URL = os.environ.get(
    "CHIPWIRE_TEST_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


async def postgres_available() -> str | None:
    """None when PostgreSQL answers, else the reason to skip."""
    engine = create_async_engine(POSTGRES_ADMIN_URL)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:
        return f"no PostgreSQL at {POSTGRES_ADMIN_URL} ({type(exc).__name__}): set CHIPWIRE_TEST_POSTGRES"
    finally:
        await engine.dispose()


@asynccontextmanager
async def fresh_postgres_url() -> AsyncIterator[str]:
    """A new, empty database for one test, dropped afterwards."""
    name = f"chipwire_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@asynccontextmanager
async def open_store(kind: str, tmp_path: Path) -> AsyncIterator[Store]:
    if kind == "sqlite":
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
        try:
            yield store
        finally:
            await store.close()
        return
    async with fresh_postgres_url() as url:
        store = await Store.open(url)
        try:
            yield store
        finally:
            await store.close()


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def article(
    n: int, *, url: str | None = None, guid: str | None = None, **changes: object
) -> Article:
    values: dict[str, object] = {
        "guid": guid if guid is not None else f"guid-{n}",
        "url": url or f"https://news.example/{n}",
        "title": f"Story number {n} about Nvidia H20 exports",
        "summary": f"Summary {n}: chips, export controls and accelerators.",
        "published_at": at(20),
        "language": "en",
        "author": None,
        "source": "Example",
        "content_hash": f"hash-{n}",
    }
    values.update(changes)
    return Article(**values)  # type: ignore[arg-type]


# What tests ask of a store beyond what the bot does --------------------------------------------


async def ingest(
    store: Store,
    feed: FeedState,
    items: Sequence[tuple[Article, Classification | None]],
    now: datetime,
) -> IngestResult:
    """One feed's entries stored as a successful poll without new validators."""
    update = FeedUpdate(now, now, 200, None, success=True, body_hash=feed.body_hash)
    records = [article_record(a, c) for a, c in items]
    [result] = await store.write_polls([PollWrite(feed, update, records, parsed=True)], now)
    return result


async def record_poll(store: Store, feed: FeedState, result: FeedUpdate) -> FeedState:
    """A poll's outcome stored; the feed as it is now."""
    await store.write_polls([PollWrite(feed, result)], result.polled_at)
    stored = await store.get_feed(feed.id)
    assert stored is not None
    return stored


async def sync_config_feeds(store: Store, configured: Sequence[FeedConfig], now: datetime) -> None:
    await store.sync_config(configured, None, now)


async def sync_config_subscriptions(
    store: Store, configured: Sequence[SubscriptionConfig], now: datetime
) -> None:
    await store.sync_config(None, configured, now)


async def due_feeds(store: Store, now: datetime) -> list[FeedState]:
    """The feeds a poll at `now` would fetch (pause and next_poll_at, no leases)."""
    return [
        f
        for f in await store.list_feeds()
        if not f.paused and (f.next_poll_at is None or f.next_poll_at <= now)
    ]


def writing(store: Store) -> AbstractAsyncContextManager[AsyncConnection]:
    """A write transaction straight on the store's engine, for what a test arranges by hand."""
    return store.engine.begin()
