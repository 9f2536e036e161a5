"""The questions and writes the rest of the bot may ask of the store, named for what they do."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, event, func, literal_column, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.models import Article, Classification, FeedConfig, FeedState
from bot.settings import safe_url
from bot.store.migrate import upgrade_to_head
from bot.store.schema import article_sources, articles, feeds

_CHUNK = 500  # keeps IN (...) lists under SQLite's variable limit


class StoreError(Exception):
    """The store cannot be opened or used; the message says what to check."""


@dataclass(frozen=True)
class FeedUpdate:
    """What one poll learnt about a feed."""

    polled_at: datetime
    next_poll_at: datetime
    status: int | None
    error: str | None
    success: bool
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    new_url: str | None = None


@dataclass(frozen=True)
class IngestResult:
    new_articles: int
    new_sources: int


@dataclass(frozen=True)
class FeedSummary:
    feed: FeedState
    article_count: int


@dataclass(frozen=True)
class StoredArticle:
    id: int
    url: str
    title: str
    summary: str
    published_at: datetime
    language: str | None
    source: str
    is_history: bool
    relevant: bool | None
    score: float | None
    companies: tuple[str, ...]
    why: tuple[str, ...] = ()


@dataclass(frozen=True)
class ArticleText:
    """What the classifier reads of a stored article."""

    id: int
    title: str
    summary: str
    language: str | None


class Store:
    """One interface over SQLite and PostgreSQL (SQLAlchemy 2 Core, async)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        # SQLite has one writer; queueing here beats SQLITE_BUSY when a read turns into a write
        self._write_lock = asyncio.Lock() if self.dialect == "sqlite" else None

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        async with self._write_lock or nullcontext(), self.engine.begin() as conn:
            yield conn

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True) -> Store:
        engine = _create_engine(url)
        store = cls(engine)
        try:
            if migrate:
                await upgrade_to_head(engine)
            else:
                await store.ping()
        except (SQLAlchemyError, OSError) as exc:
            await engine.dispose()
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

    async def sync_config_feeds(self, configured: Sequence[FeedConfig], now: datetime) -> None:
        """Insert configured feeds the store lacks and refresh settings of config-owned ones."""
        async with self._writing() as conn:
            known = {row.url: row for row in await conn.execute(select(feeds))}
            for feed in configured:
                row = known.get(feed.url)
                if row is None:
                    await conn.execute(
                        feeds.insert().values(**_new_feed_values(feed, "config", now))
                    )
                elif row.origin == "config":
                    await conn.execute(
                        update(feeds).where(feeds.c.id == row.id).values(**_feed_settings(feed))
                    )

    async def add_feed(
        self, feed: FeedConfig, origin: str, now: datetime, *, history: bool = True
    ) -> FeedState:
        """Store a new feed. With history=False its first poll counts as new, not as history."""
        async with self._writing() as conn:
            existing = (await conn.execute(select(feeds).where(feeds.c.url == feed.url))).first()
            if existing is not None:
                raise StoreError(f"feed {feed.url} is already stored as id {existing.id}")
            result = await conn.execute(
                feeds.insert()
                .values(_new_feed_values(feed, origin, now) | {"first_polled": not history})
                .returning(feeds)
            )
            return _feed_state(result.one())

    async def remove_feed(self, feed_id: int) -> FeedState | None:
        async with self._writing() as conn:
            row = (await conn.execute(select(feeds).where(feeds.c.id == feed_id))).first()
            if row is None:
                return None
            await conn.execute(article_sources.delete().where(article_sources.c.feed_id == feed_id))
            await conn.execute(feeds.delete().where(feeds.c.id == feed_id))
            return _feed_state(row)

    async def list_feeds(self) -> list[FeedState]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(feeds).order_by(feeds.c.id))
            return [_feed_state(row) for row in rows]

    async def get_feed(self, feed_id: int) -> FeedState | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(feeds).where(feeds.c.id == feed_id))).first()
            return None if row is None else _feed_state(row)

    async def due_feeds(self, now: datetime) -> list[FeedState]:
        return [
            f for f in await self.list_feeds() if f.next_poll_at is None or f.next_poll_at <= now
        ]

    async def feed_summaries(self) -> list[FeedSummary]:
        counts = (
            select(article_sources.c.feed_id, func.count().label("n"))
            .group_by(article_sources.c.feed_id)
            .subquery()
        )
        query = (
            select(feeds, func.coalesce(counts.c.n, 0).label("article_count"))
            .outerjoin(counts, counts.c.feed_id == feeds.c.id)
            .order_by(feeds.c.id)
        )
        async with self.engine.connect() as conn:
            rows = await conn.execute(query)
            return [FeedSummary(_feed_state(row), int(row.article_count)) for row in rows]

    async def record_poll(self, feed: FeedState, result: FeedUpdate) -> FeedState:
        values: dict[str, Any] = {
            "last_polled_at": result.polled_at,
            "next_poll_at": result.next_poll_at,
            "last_status": result.status,
            "last_error": result.error,
        }
        if result.success:
            values |= {"consecutive_failures": 0, "last_success_at": result.polled_at}
            values |= {"etag": result.etag, "last_modified": result.last_modified}
            if result.body_hash is not None:
                values["body_hash"] = result.body_hash
        else:
            values["consecutive_failures"] = feeds.c.consecutive_failures + 1
        async with self._writing() as conn:
            if result.new_url and not await _url_taken(conn, result.new_url):
                values["url"] = result.new_url
            await conn.execute(update(feeds).where(feeds.c.id == feed.id).values(**values))
            row = (await conn.execute(select(feeds).where(feeds.c.id == feed.id))).one()
            return _feed_state(row)

    # articles ------------------------------------------------------------------------------

    async def ingest(
        self,
        feed: FeedState,
        items: Sequence[tuple[Article, Classification | None]],
        now: datetime,
    ) -> IngestResult:
        """Store a feed's entries once each: by guid (per feed), then canonical URL, then content.

        The feed's first poll stores its entries as history: searchable, never posted as new.
        """
        fresh = _unique_in_batch(items)
        async with self._writing() as conn:
            fresh = await _drop_known_guids(conn, feed.id, fresh)
            existing = await _existing_ids(conn, [a for a, _ in fresh])
            matched = [(existing[_key(a)], a.guid) for a, _ in fresh if _key(a) in existing]
            unseen = [(a, c) for a, c in fresh if _key(a) not in existing]
            inserted, raced = await self._insert_articles(
                conn, unseen, now, history=not feed.first_polled
            )
            new_sources = await self._insert_sources(conn, feed.id, matched + raced + inserted, now)
            if not feed.first_polled:
                await conn.execute(
                    update(feeds).where(feeds.c.id == feed.id).values(first_polled=True)
                )
        return IngestResult(new_articles=len(inserted), new_sources=new_sources - len(inserted))

    async def _insert_articles(
        self,
        conn: AsyncConnection,
        items: Sequence[tuple[Article, Classification | None]],
        now: datetime,
        *,
        history: bool,
    ) -> tuple[list[tuple[int, str | None]], list[tuple[int, str | None]]]:
        """Insert unseen articles; returns (inserted, stored meanwhile by another writer)."""
        if not items:
            return [], []
        rows = [_article_values(a, c, now, history) for a, c in items]
        statement = self._insert(articles).on_conflict_do_nothing(index_elements=["url"])
        result = await conn.execute(statement.returning(articles.c.id, articles.c.url), rows)
        ids = {row.url: row.id for row in result}
        inserted = [(ids[a.url], a.guid) for a, _ in items if a.url in ids]
        lost = [a for a, _ in items if a.url not in ids]
        again = await _existing_ids(conn, lost) if lost else {}
        return inserted, [(again[_key(a)], a.guid) for a in lost if _key(a) in again]

    async def _insert_sources(
        self,
        conn: AsyncConnection,
        feed_id: int,
        pairs: Sequence[tuple[int, str | None]],
        now: datetime,
    ) -> int:
        if not pairs:
            return 0
        rows = [
            {"article_id": article_id, "feed_id": feed_id, "guid": guid, "seen_at": now}
            for article_id, guid in dict(pairs).items()
        ]
        statement = self._insert(article_sources).on_conflict_do_nothing(
            index_elements=["article_id", "feed_id"]
        )
        result = await conn.execute(statement.returning(article_sources.c.article_id), rows)
        return len(result.all())

    def _insert(self, table: Any) -> Any:
        module = postgresql if self.dialect == "postgresql" else sqlite
        return module.insert(table)

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
                batch = [ArticleText(*row) for row in await conn.execute(query)]
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
            )
        )
        rows = [
            {"article_id": article_id} | _classification_values(verdict)
            for article_id, verdict in verdicts
        ]
        async with self._writing() as conn:
            await conn.execute(statement, rows)

    async def find_article(self, reference: str) -> StoredArticle | None:
        """By numeric id, else by (canonical) URL."""
        condition = (
            articles.c.id == int(reference) if reference.isdigit() else articles.c.url == reference
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(articles).where(condition))).first()
            return None if row is None else _stored_article(row)

    async def count_articles(self) -> int:
        async with self.engine.connect() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(articles))).scalar_one()
            )

    async def recent_articles(self, limit: int = 20) -> list[StoredArticle]:
        query = select(articles).order_by(articles.c.published_at.desc()).limit(limit)
        async with self.engine.connect() as conn:
            return [_stored_article(row) for row in await conn.execute(query)]

    async def search(self, text: str, limit: int = 20) -> list[StoredArticle]:
        """Full-text search over title and summary, newest first."""
        terms = _search_terms(text)
        if not terms:
            return []
        async with self.engine.connect() as conn:
            query = self._search_query(terms).order_by(articles.c.published_at.desc()).limit(limit)
            return [_stored_article(row) for row in await conn.execute(query)]

    def _search_query(self, terms: list[str]) -> Any:
        if self.dialect == "postgresql":
            tsquery = func.plainto_tsquery("simple", " ".join(terms))
            return select(articles).where(literal_column("articles.search").op("@@")(tsquery))
        match = " ".join('"' + term.replace('"', '""') + '"' for term in terms)
        ids = text("SELECT rowid FROM articles_fts WHERE articles_fts MATCH :match")
        return select(articles).where(articles.c.id.in_(ids.bindparams(match=match)))


# helpers -----------------------------------------------------------------------------------


def _create_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _new_feed_values(feed: FeedConfig, origin: str, now: datetime) -> dict[str, Any]:
    return _feed_settings(feed) | {
        "url": feed.url,
        "origin": origin,
        "consecutive_failures": 0,
        "first_polled": False,
        "created_at": now,
    }


def _feed_settings(feed: FeedConfig) -> dict[str, Any]:
    return {
        "name": feed.name,
        "language": feed.language,
        "interval": feed.interval,
        "allow_private_address": feed.allow_private_address,
    }


def _feed_state(row: Row[Any]) -> FeedState:
    m = row._mapping
    return FeedState(
        id=m["id"],
        url=m["url"],
        name=m["name"],
        language=m["language"],
        interval=m["interval"],
        allow_private_address=bool(m["allow_private_address"]),
        etag=m["etag"],
        last_modified=m["last_modified"],
        body_hash=m["body_hash"],
        last_status=m["last_status"],
        last_error=m["last_error"],
        consecutive_failures=m["consecutive_failures"],
        last_polled_at=m["last_polled_at"],
        last_success_at=m["last_success_at"],
        next_poll_at=m["next_poll_at"],
        first_polled=bool(m["first_polled"]),
    )


def _article_values(
    article: Article, classification: Classification | None, now: datetime, history: bool
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "url": article.url,
        "guid": article.guid,
        "title": article.title,
        "summary": article.summary,
        "published_at": article.published_at,
        "first_seen_at": now,
        "language": article.language,
        "author": article.author,
        "source": article.source,
        "content_hash": article.content_hash,
        "is_history": history,
        "relevant": None,
        "score": None,
        "companies": None,
        "why": None,
    }
    if classification is not None:
        values |= _classification_values(classification)
    return values


def _classification_values(classification: Classification) -> dict[str, Any]:
    return {
        "relevant": classification.relevant,
        "score": classification.score,
        "companies": json.dumps(list(classification.companies)),
        "why": json.dumps(list(classification.why), ensure_ascii=False),
    }


def _stored_article(row: Row[Any]) -> StoredArticle:
    m = row._mapping
    return StoredArticle(
        id=m["id"],
        url=m["url"],
        title=m["title"],
        summary=m["summary"],
        published_at=m["published_at"],
        language=m["language"],
        source=m["source"],
        is_history=bool(m["is_history"]),
        relevant=m["relevant"],
        score=m["score"],
        companies=tuple(json.loads(m["companies"])) if m["companies"] else (),
        why=tuple(json.loads(m["why"])) if m["why"] else (),
    )


def _key(article: Article) -> str:
    return article.url


def _unique_in_batch(
    items: Sequence[tuple[Article, Classification | None]],
) -> list[tuple[Article, Classification | None]]:
    seen: set[str] = set()
    unique = []
    for article, classification in items:
        keys = {article.url, f"hash:{article.content_hash}"}
        if article.guid:
            keys.add(f"guid:{article.guid}")
        if keys & seen:
            continue
        seen |= keys
        unique.append((article, classification))
    return unique


async def _drop_known_guids(
    conn: AsyncConnection, feed_id: int, items: list[tuple[Article, Classification | None]]
) -> list[tuple[Article, Classification | None]]:
    guids = [a.guid for a, _ in items if a.guid]
    known: set[str] = set()
    for chunk in _chunks(guids):
        query = select(article_sources.c.guid).where(
            article_sources.c.feed_id == feed_id, article_sources.c.guid.in_(chunk)
        )
        known |= set((await conn.execute(query)).scalars())
    return [(a, c) for a, c in items if not a.guid or a.guid not in known]


async def _existing_ids(conn: AsyncConnection, batch: Sequence[Article]) -> dict[str, int]:
    """Map each article's URL to the stored article it duplicates (same URL, else same content)."""
    by_url: dict[str, int] = {}
    for chunk in _chunks([a.url for a in batch]):
        query = select(articles.c.url, articles.c.id).where(articles.c.url.in_(chunk))
        by_url |= {row.url: row.id for row in await conn.execute(query)}
    by_hash: dict[str, int] = {}
    missing = [a.content_hash for a in batch if a.url not in by_url]
    for chunk in _chunks(missing):
        query = select(articles.c.content_hash, articles.c.id).where(
            articles.c.content_hash.in_(chunk)
        )
        by_hash |= {row.content_hash: row.id for row in await conn.execute(query)}
    found = {}
    for article in batch:
        article_id = by_url.get(article.url) or by_hash.get(article.content_hash)
        if article_id is not None:
            found[article.url] = article_id
    return found


async def _url_taken(conn: AsyncConnection, url: str) -> bool:
    return (await conn.execute(select(feeds.c.id).where(feeds.c.url == url))).first() is not None


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _search_terms(text: str) -> list[str]:
    return [term for term in text.split() if term.strip()][:16]


__all__ = ["FeedSummary", "FeedUpdate", "IngestResult", "Store", "StoreError", "StoredArticle"]
