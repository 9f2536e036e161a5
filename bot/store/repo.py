"""The questions and writes the rest of the bot may ask of the store, named for what they do."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, nullcontext
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.models import (
    Article,
    Classification,
    DigestArticle,
    FeedConfig,
    FeedState,
    Subscription,
    SubscriptionConfig,
)
from bot.settings import safe_url
from bot.store import delivery_log, dialect, digests, mentions, outbox, reconcile
from bot.store.errors import Conflict, StoreError
from bot.store.failures import StoreFailure, failure_from
from bot.store.ingest import (
    FeedUpdate,
    IngestResult,
    PollWrite,
    recent_guids,
    write_polls,
)
from bot.store.migrate import upgrade_to_head
from bot.store.reconcile import SyncPlan, new_feed_values
from bot.store.records import article_record, verdict_columns
from bot.store.rows import ArticleText, FeedSummary, StoredArticle, aware, from_row
from bot.store.schema import article_sources, articles, feeds

T = TypeVar("T")


class Store:
    """One interface over SQLite and PostgreSQL (SQLAlchemy 2 Core, async)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        # SQLite has one writer; queueing here beats SQLITE_BUSY when a read turns into a write
        self._write_lock = asyncio.Lock() if dialect.one_writer(self.dialect) else None
        self.failure: StoreFailure | None = None  # the last write's, until one succeeds

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction for queries kept elsewhere (bot.store.queries)."""
        async with self._writing() as conn:
            yield conn

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._write_lock or nullcontext(), self.engine.begin() as conn:
                yield conn
        except StoreFailure as exc:
            self.failure = exc
            raise
        except IntegrityError as exc:
            raise Conflict(_first_line(exc)) from exc
        self.failure = None

    async def probe_write(self) -> None:
        """Raise StoreFailure unless a write would succeed now. The probe rewrites the schema
        revision with itself and rolls back: nothing changes, but a read-only file, folder,
        database or role answers with its error (remembered in `failure` for /healthz)."""
        try:
            async with self._write_lock or nullcontext(), self.engine.connect() as conn:
                await conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
                await conn.rollback()
        except StoreFailure as exc:
            self.failure = exc
            raise
        self.failure = None

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True) -> Store:
        engine = dialect.create_engine(url)
        store = cls(engine)
        try:
            if migrate:
                await upgrade_to_head(engine)
            else:
                await store.ping()
        except Exception as exc:
            await engine.dispose()
            failure = failure_from(exc, url)
            if failure is not None:
                raise failure from exc
            if not isinstance(exc, SQLAlchemyError | OSError | sqlite3.Error):
                raise
            raise StoreError(
                f"cannot open the store at {safe_url(url)}: {_first_line(exc)}"
            ) from exc
        return store

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))

    # feeds ---------------------------------------------------------------------------------

    async def plan_sync(
        self,
        configured_feeds: Sequence[FeedConfig] | None,
        configured_subscriptions: Sequence[SubscriptionConfig] | None,
    ) -> SyncPlan:
        """What `sync_config` would change; reads only (see bot.store.reconcile)."""
        async with self.engine.connect() as conn:
            return await conn.run_sync(
                reconcile.plan_sync, configured_feeds, configured_subscriptions
            )

    async def sync_config(
        self,
        configured_feeds: Sequence[FeedConfig] | None,
        configured_subscriptions: Sequence[SubscriptionConfig] | None,
        now: datetime,
    ) -> SyncPlan:
        """Make config-owned feeds and subscriptions match the file; None leaves that kind alone."""
        async with self._writing() as conn:
            return await conn.run_sync(
                reconcile.sync_config, configured_feeds, configured_subscriptions, now
            )

    async def sync_config_feeds(self, configured: Sequence[FeedConfig], now: datetime) -> None:
        await self.sync_config(configured, None, now)

    async def add_feed(
        self, feed: FeedConfig, origin: str, now: datetime, *, history: bool = True
    ) -> FeedState:
        """Store a new feed. With history=False its first poll counts as new, not as history."""
        async with self._writing() as conn:
            same = or_(feeds.c.url == feed.url, feeds.c.fetch_url == feed.url)
            existing = (await conn.execute(select(feeds).where(same))).first()
            if existing is not None:
                moved = f" (moved from {existing.url})" if existing.url != feed.url else ""
                raise StoreError(f"feed {feed.url} is already stored as id {existing.id}{moved}")
            result = await conn.execute(
                feeds.insert()
                .values(new_feed_values(feed, origin, now) | {"first_polled": not history})
                .returning(feeds)
            )
            return from_row(FeedState, result.one())

    async def remove_feed(self, feed_id: int) -> FeedState | None:
        async with self._writing() as conn:
            row = (await conn.execute(select(feeds).where(feeds.c.id == feed_id))).first()
            if row is None:
                return None
            await conn.execute(article_sources.delete().where(article_sources.c.feed_id == feed_id))
            await conn.execute(feeds.delete().where(feeds.c.id == feed_id))
            return from_row(FeedState, row)

    async def list_feeds(self) -> list[FeedState]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(feeds).order_by(feeds.c.id))
            return [from_row(FeedState, row) for row in rows]

    async def get_feed(self, feed_id: int) -> FeedState | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(feeds).where(feeds.c.id == feed_id))).first()
            return None if row is None else from_row(FeedState, row)

    async def due_feeds(self, now: datetime) -> list[FeedState]:
        return [
            f
            for f in await self.list_feeds()
            if not f.paused and (f.next_poll_at is None or f.next_poll_at <= now)
        ]

    async def edit_feed(self, feed_id: int, **changes: Any) -> FeedState | None:
        """Change a stored feed's name, interval, allow_private_address or paused."""
        allowed = {"name", "interval", "allow_private_address", "paused"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"not a feed setting: {', '.join(sorted(unknown))}")
        async with self._writing() as conn:
            if changes:
                await conn.execute(update(feeds).where(feeds.c.id == feed_id).values(**changes))
            row = (await conn.execute(select(feeds).where(feeds.c.id == feed_id))).first()
            return None if row is None else from_row(FeedState, row)

    async def feed_summaries(self) -> list[FeedSummary]:
        counts = (
            select(
                article_sources.c.feed_id,
                func.count().label("n"),
                func.max(article_sources.c.seen_at).label("last_new_at"),
            )
            .group_by(article_sources.c.feed_id)
            .subquery()
        )
        query = (
            select(
                feeds,
                func.coalesce(counts.c.n, 0).label("article_count"),
                counts.c.last_new_at.label("last_new"),
            )
            .outerjoin(counts, counts.c.feed_id == feeds.c.id)
            .order_by(feeds.c.id)
        )
        async with self.engine.connect() as conn:
            rows = await conn.execute(query)
            return [
                FeedSummary(
                    from_row(FeedState, row),
                    int(row.article_count),
                    aware(row.last_new),
                    row.created_at,
                )
                for row in rows
            ]

    async def write_polls(self, batch: Sequence[PollWrite], now: datetime) -> list[IngestResult]:
        """Store many feeds' poll results in one transaction (see bot.store.ingest)."""
        async with self._writing() as conn:
            return await write_polls(conn, self.dialect, batch, now)

    async def record_poll(self, feed: FeedState, result: FeedUpdate) -> FeedState:
        await self.write_polls([PollWrite(feed, result)], result.polled_at)
        stored = await self.get_feed(feed.id)
        assert stored is not None
        return stored

    async def ingest(
        self, feed: FeedState, items: Sequence[tuple[Article, Classification | None]], now: datetime
    ) -> IngestResult:
        """One feed's entries, as a successful poll without new validators."""
        update = FeedUpdate(now, now, 200, None, success=True, body_hash=feed.body_hash)
        records = [article_record(a, c) for a, c in items]
        [result] = await self.write_polls([PollWrite(feed, update, records, parsed=True)], now)
        return result

    async def recent_guids(
        self, feed_ids: Sequence[int], since: datetime
    ) -> dict[int, frozenset[str]]:
        async with self.engine.connect() as conn:
            return await recent_guids(conn, feed_ids, since)

    async def article_texts(self, batch_size: int = 2000) -> AsyncIterator[list[ArticleText]]:
        """Every stored article's text, in id order, a batch at a time (keyset pagination)."""
        columns = (articles.c.id, articles.c.title, articles.c.summary, articles.c.language)
        last_id = 0
        while True:
            query = (
                select(*columns)
                .where(articles.c.id > last_id)
                .order_by(articles.c.id)
                .limit(batch_size)
            )
            async with self.engine.connect() as conn:
                batch = [from_row(ArticleText, row) for row in await conn.execute(query)]
            if not batch:
                return
            yield batch
            last_id = batch[-1].id

    async def set_classifications(self, verdicts: Sequence[tuple[int, Classification]]) -> None:
        if not verdicts:
            return
        statement = (
            update(articles)
            .where(articles.c.id == bindparam("article_id"))
            .values(
                relevant=bindparam("relevant"),
                score=bindparam("score"),
                companies=bindparam("companies"),
                why=bindparam("why"),
                mentions=bindparam("mentions"),
            )
        )
        rows = [
            {"article_id": article_id} | verdict_columns(verdict)
            for article_id, verdict in verdicts
        ]
        async with self._writing() as conn:
            await conn.execute(statement, rows)
            await mentions.reindex(conn, self.dialect, [article_id for article_id, _ in verdicts])

    async def find_article(self, reference: str) -> StoredArticle | None:
        """By numeric id, else by (canonical) URL."""
        condition = (
            articles.c.id == int(reference) if reference.isdigit() else articles.c.url == reference
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(articles).where(condition))).first()
            return None if row is None else from_row(StoredArticle, row)

    # subscriptions and digests (bot.store.digests) ---------------------------------------------

    async def sync_config_subscriptions(
        self, configured: Sequence[SubscriptionConfig], now: datetime
    ) -> None:
        await self.sync_config(None, configured, now)

    async def list_subscriptions(self) -> list[Subscription]:
        async with self.engine.connect() as conn:
            return await conn.run_sync(digests.list_subscriptions)

    async def digest_candidates(
        self,
        *,
        target: str,
        since: datetime | None = None,
        until: datetime | None = None,
        min_score: float,
        languages: Sequence[str] = (),
        limit: int = 5000,
        after_id: int | None = None,
        upto_id: int | None = None,
        include_history: bool = False,
    ) -> list[DigestArticle]:
        async with self.engine.connect() as conn:
            return await conn.run_sync(
                lambda c: digests.candidates(
                    c,
                    target=target,
                    since=since,
                    until=until,
                    min_score=min_score,
                    languages=languages,
                    limit=limit,
                    after_id=after_id,
                    upto_id=upto_id,
                    include_history=include_history,
                )
            )

    async def story_window(self, since: datetime) -> list[DigestArticle]:
        async with self.engine.connect() as conn:
            return await conn.run_sync(digests.story_window, since)

    async def set_story_keys(self, keys: Sequence[tuple[int, str]]) -> None:
        async with self._writing() as conn:
            await conn.run_sync(digests.set_story_keys, keys)

    async def alerts_since(self, subscription_id: int, since: datetime) -> int:
        async with self.engine.connect() as conn:
            return await conn.run_sync(digests.alerts_since, subscription_id, since)

    # the delivery queue (bot.store.outbox) ---------------------------------------------------

    async def read(self, query: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one of the store modules' sync read functions."""
        async with self.engine.connect() as conn:
            return await conn.run_sync(lambda c: query(c, *args, **kwargs))

    async def write(self, query: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one of the store modules' sync write functions in its own transaction."""
        async with self._writing() as conn:
            return await conn.run_sync(lambda c: query(c, *args, **kwargs))

    async def release_stale_leases(self) -> None:
        """On SQLite (one process by design) every lease at start is a dead predecessor's."""
        if dialect.one_writer(self.dialect):
            await self.write(outbox.release_leases)

    async def digest_state(self, subscription_id: int, period_end: datetime) -> str | None:
        async with self.engine.connect() as conn:
            return await conn.run_sync(digests.run_state, subscription_id, period_end)

    async def delivery_posts(
        self, *, target: str | None = None, article_id: int | None = None, limit: int = 50
    ) -> list[delivery_log.PostRecord]:
        async with self.engine.connect() as conn:
            return await conn.run_sync(
                lambda c: delivery_log.posts(c, target=target, article_id=article_id, limit=limit)
            )

    async def article_verdicts(
        self, article_id: int, target: str | None = None
    ) -> list[delivery_log.TargetVerdict] | None:
        async with self.engine.connect() as conn:
            return await conn.run_sync(delivery_log.article_verdicts, article_id, target)

    async def count_articles(self) -> int:
        async with self.engine.connect() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(articles))).scalar_one()
            )

    async def recent_articles(self, limit: int = 20) -> list[StoredArticle]:
        query = select(articles).order_by(articles.c.published_at.desc()).limit(limit)
        async with self.engine.connect() as conn:
            return [from_row(StoredArticle, row) for row in await conn.execute(query)]

    async def search(
        self,
        text: str,
        limit: int = 20,
        *,
        company: str | None = None,
        since: datetime | None = None,
    ) -> list[StoredArticle]:
        """Full-text search over title and summary, newest first; only articles naming
        `company` and published after `since` when given."""
        terms = _search_terms(text)
        if not terms:
            return []
        async with self.engine.connect() as conn:
            rows = await conn.run_sync(
                lambda sync: dialect.newest_matches(
                    sync, terms, limit=limit, company=company, since=since
                )
            )
        return [from_row(StoredArticle, row) for row in rows]


# helpers -----------------------------------------------------------------------------------


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _search_terms(text: str) -> list[str]:
    return [term for term in text.split() if term.strip()][:16]


__all__ = [
    "FeedSummary",
    "FeedUpdate",
    "IngestResult",
    "PollWrite",
    "Store",
    "StoreError",
    "StoredArticle",
]
