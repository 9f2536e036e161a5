"""The Store: the one way into the database, for every other part of the bot.

Each method names what it asks or changes and runs one topic module's function (feeds.py,
articles.py, digests.py, queries.py, outbox.py, delivery_log.py, reconcile.py, ingest.py) in a
read connection or a write transaction. Rows come back as frozen values (rows.py); what differs
between SQLite and PostgreSQL is in dialect.py. `read`/`write` run any such function, for the
delivery queue and the chat commands' questions.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, nullcontext
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.models import (
    Classification,
    DigestArticle,
    FeedConfig,
    FeedState,
    Subscription,
    SubscriptionConfig,
)
from bot.settings import safe_url
from bot.store import (
    articles,
    delivery_log,
    dialect,
    digests,
    feeds,
    mentions,
    outbox,
    queries,
    reconcile,
)
from bot.store.errors import Conflict, StoreError
from bot.store.failures import StoreFailure, failure_from
from bot.store.failures import install as install_failures
from bot.store.ingest import FeedUpdate, IngestResult, PollWrite, recent_guids, write_polls
from bot.store.migrate import upgrade_to_head
from bot.store.reconcile import SyncPlan
from bot.store.rows import ArticleText, FeedSummary, StoredArticle

T = TypeVar("T")


class Store:
    """One interface over SQLite and PostgreSQL (SQLAlchemy 2 Core, async)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._write_lock = asyncio.Lock() if dialect.one_writer(self.dialect) else None
        self.failure: StoreFailure | None = None  # the last write's, until one succeeds

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True) -> Store:
        engine = create_engine(url)
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

    async def read(self, query: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a topic module's sync read function."""
        async with self.engine.connect() as conn:
            return await conn.run_sync(lambda c: query(c, *args, **kwargs))

    async def write(self, change: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a topic module's sync write function in its own transaction; Conflict when a
        unique constraint refuses it."""
        async with self._writing() as conn:
            return await conn.run_sync(lambda c: change(c, *args, **kwargs))

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

    # config sync and feeds ---------------------------------------------------------------------

    async def sync_config(
        self,
        configured_feeds: Sequence[FeedConfig] | None,
        configured_subscriptions: Sequence[SubscriptionConfig] | None,
        now: datetime,
    ) -> SyncPlan:
        """Make config-owned feeds and subscriptions match the file; None leaves that kind alone."""
        return await self.write(
            reconcile.sync_config, configured_feeds, configured_subscriptions, now
        )

    async def add_feed(
        self, feed: FeedConfig, origin: str, now: datetime, *, history: bool = True
    ) -> FeedState:
        """Store a new feed. With history=False its first poll counts as new, not as history."""
        return await self.write(feeds.add_feed, feed, origin, now, history=history)

    async def remove_feed(self, feed_id: int) -> FeedState | None:
        return await self.write(feeds.remove_feed, feed_id)

    async def list_feeds(self) -> list[FeedState]:
        return await self.read(feeds.list_feeds)

    async def get_feed(self, feed_id: int) -> FeedState | None:
        return await self.read(feeds.get_feed, feed_id)

    async def edit_feed(self, feed_id: int, **changes: Any) -> FeedState | None:
        """Change a stored feed's name, interval, allow_private_address or paused."""
        return await self.write(feeds.edit_feed, feed_id, changes)

    async def feed_summaries(self) -> list[FeedSummary]:
        return await self.read(feeds.feed_summaries)

    # polls ---------------------------------------------------------------------------------

    async def write_polls(self, batch: Sequence[PollWrite], now: datetime) -> list[IngestResult]:
        """Store many feeds' poll results in one transaction (see bot.store.ingest)."""
        async with self._writing() as conn:
            return await write_polls(conn, self.dialect, batch, now)

    async def recent_guids(
        self, feed_ids: Sequence[int], since: datetime
    ) -> dict[int, frozenset[str]]:
        async with self.engine.connect() as conn:
            return await recent_guids(conn, feed_ids, since)

    # articles ------------------------------------------------------------------------------

    async def article_texts(self, batch_size: int = 2000) -> AsyncIterator[list[ArticleText]]:
        """Every stored article's text, in id order, a batch at a time (keyset pagination)."""
        last_id = 0
        while batch := await self.read(articles.texts_after, last_id, batch_size):
            yield batch
            last_id = batch[-1].id

    async def set_classifications(self, verdicts: Sequence[tuple[int, Classification]]) -> None:
        if not verdicts:
            return
        async with self._writing() as conn:
            await conn.run_sync(articles.set_verdicts, verdicts)
            await mentions.reindex(conn, self.dialect, [article_id for article_id, _ in verdicts])

    async def find_article(self, reference: str) -> StoredArticle | None:
        """By numeric id, else by (canonical) URL."""
        return await self.read(articles.find_article, reference)

    async def count_articles(self) -> int:
        return await self.read(articles.count_articles)

    async def recent_articles(self, limit: int = 20) -> list[StoredArticle]:
        return await self.read(articles.recent_articles, limit)

    async def latest_articles(
        self, company_id: str | None, *, limit: int, min_score: float
    ) -> list[StoredArticle]:
        """The newest relevant articles, about `company_id` when given."""
        return await self.read(
            queries.latest_articles, company_id, limit=limit, min_score=min_score
        )

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
        return await self.read(articles.search, text, limit, company=company, since=since)

    async def trend_counts(
        self, company_ids: Sequence[str], since: datetime, until: datetime, *, min_score: float
    ) -> tuple[list[tuple[str, str, int]], int]:
        """(company, UTC day, stories) for the window, and how many feeds carried them."""
        async with self.engine.connect() as conn:
            days = await conn.run_sync(
                queries.first_day_counts, company_ids, since, until, min_score=min_score
            )
            sources = await conn.run_sync(
                queries.source_count, company_ids, since, until, min_score=min_score
            )
        return days, sources

    # subscriptions, digests and deliveries -------------------------------------------------

    async def list_subscriptions(self) -> list[Subscription]:
        return await self.read(digests.list_subscriptions)

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
        return await self.read(
            digests.candidates,
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

    async def story_window(self, since: datetime) -> list[DigestArticle]:
        return await self.read(digests.story_window, since)

    async def set_story_keys(self, keys: Sequence[tuple[int, str]]) -> None:
        await self.write(digests.set_story_keys, keys)

    async def alerts_since(self, subscription_id: int, since: datetime) -> int:
        return await self.read(digests.alerts_since, subscription_id, since)

    async def digest_state(self, subscription_id: int, period_end: datetime) -> str | None:
        return await self.read(digests.run_state, subscription_id, period_end)

    async def release_stale_leases(self) -> None:
        """With one writer process every lease found at start is a dead predecessor's."""
        if dialect.one_writer(self.dialect):
            await self.write(outbox.release_leases)

    async def delivery_posts(
        self, *, target: str | None = None, article_id: int | None = None, limit: int = 50
    ) -> list[delivery_log.PostRecord]:
        return await self.read(
            delivery_log.posts, target=target, article_id=article_id, limit=limit
        )

    async def article_verdicts(
        self, article_id: int, target: str | None = None
    ) -> list[delivery_log.TargetVerdict] | None:
        return await self.read(delivery_log.article_verdicts, article_id, target)


def create_engine(url: str) -> AsyncEngine:
    """The engine for `url`, its database errors classified (bot/store/failures.py)."""
    engine = dialect.create_engine(url)
    install_failures(engine, url)
    return engine


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


__all__ = [
    "FeedSummary",
    "FeedUpdate",
    "IngestResult",
    "PollWrite",
    "Store",
    "StoreError",
    "StoredArticle",
]
