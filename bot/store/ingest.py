"""Writing poll results: many feeds in one transaction, every article stored once.

Dedup order: a guid this feed already gave is skipped (so date-only bumps and edits create
nothing); an article whose canonical URL, or else content hash, is already stored (or claimed by
an earlier feed in the same batch) becomes one more source of it; anything else is new. A feed's
first successful poll stores its entries as history: searchable, never posted as new.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String, Text, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import BindParameter

from bot.models import FeedState
from bot.store import cjk, dialect, mentions
from bot.store.records import ArticleRecord, utc_text
from bot.store.schema import UTCDateTime, article_sources, articles, feeds

CHUNK = 500  # keeps IN (...) lists under SQLite's variable limit

Item = ArticleRecord
_RELEVANT = 11  # position of "relevant" in ARTICLE_COLUMNS
_URL, _TITLE, _SUMMARY = 0, 2, 3

ARTICLE_COLUMNS = (
    "url",
    "guid",
    "title",
    "summary",
    "published_at",
    "first_seen_at",
    "language",
    "author",
    "source",
    "content_hash",
    "is_history",
    "relevant",
    "score",
    "companies",
    "why",
    "publisher_url",
    "mentions",
)


# Built once: an expanding IN parameter binds a whole chunk without per-value coercion.
_VALUES: BindParameter[Any] = bindparam("values", expanding=True)
_IDS_BY_URL = select(articles.c.url, articles.c.id).where(articles.c.url.in_(_VALUES))
_IDS_BY_HASH = select(articles.c.content_hash, articles.c.id).where(
    articles.c.content_hash.in_(_VALUES)
)
_KNOWN_GUIDS = select(article_sources.c.feed_id, article_sources.c.guid).where(
    article_sources.c.feed_id.in_(bindparam("feeds", expanding=True)),
    article_sources.c.guid.in_(_VALUES),
)
_LINKS = select(article_sources.c.article_id, article_sources.c.feed_id).where(
    article_sources.c.article_id.in_(_VALUES)
)


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
    entries: int | None = None  # entries in the document parsed; None when none was parsed


@dataclass(frozen=True)
class PollWrite:
    """One feed's poll, ready to store: its new state and, when it was parsed, its entries."""

    feed: FeedState
    update: FeedUpdate
    items: Sequence[Item] = ()
    parsed: bool = False


@dataclass(frozen=True)
class IngestResult:
    new_articles: int
    new_sources: int
    new_relevant: int = 0


@dataclass
class _Plan:
    """Where each feed's entries go: existing article ids, or URLs of articles to insert."""

    # per feed: (article id or url, guid, the publisher the feed named for it)
    links: list[list[tuple[int | str, str | None, str | None]]]
    new_rows: list[tuple[Any, ...]] = field(default_factory=list)  # in ARTICLE_COLUMNS order
    owner: dict[str, int] = field(default_factory=dict)  # url of a new row → feed index


async def write_polls(
    conn: AsyncConnection, name: str, batch: Sequence[PollWrite], now: datetime
) -> list[IngestResult]:
    fresh = await _drop_known_guids(conn, batch)
    plan = await _plan(conn, name, batch, fresh, now)
    ids, raced = await _insert_articles(conn, name, plan)
    sources = await _insert_sources(conn, name, batch, plan, ids, now)
    await _update_feeds(conn, batch)
    new, relevant = [0] * len(batch), [0] * len(batch)
    relevant_urls = {row[0] for row in plan.new_rows if row[_RELEVANT]}
    for url, owner in plan.owner.items():
        if url not in raced:
            new[owner] += 1
            relevant[owner] += url in relevant_urls
    return [
        IngestResult(n, added - n, r) for n, added, r in zip(new, sources, relevant, strict=True)
    ]


def unique_items(items: Sequence[Item]) -> list[Item]:
    """One item per guid, URL and content hash within a feed document."""
    seen: set[str] = set()
    unique = []
    for item in items:
        article = item
        keys = {article.url, f"hash:{article.content_hash}"}
        if article.guid:
            keys.add(f"guid:{article.guid}")
        if keys & seen:
            continue
        seen |= keys
        unique.append(item)
    return unique


async def recent_guids(
    conn: AsyncConnection, feed_ids: Sequence[int], since: datetime
) -> dict[int, frozenset[str]]:
    """The guids each feed gave since `since`, in one query, so parse workers can skip them
    before classifying (entries older than that are still caught by the writer's own check)."""
    found: dict[int, set[str]] = {}
    ids = sorted(set(feed_ids))
    for start in range(0, len(ids), CHUNK):
        query = select(article_sources.c.feed_id, article_sources.c.guid).where(
            article_sources.c.feed_id.in_(ids[start : start + CHUNK]),
            article_sources.c.guid.is_not(None),
            article_sources.c.seen_at > since,
        )
        for row in await conn.execute(query):
            found.setdefault(row.feed_id, set()).add(row.guid)
    return {feed_id: frozenset(guids) for feed_id, guids in found.items()}


async def _drop_known_guids(conn: AsyncConnection, batch: Sequence[PollWrite]) -> list[list[Item]]:
    per_feed = [unique_items(write.items) for write in batch]
    asked = {w.feed.id for w in batch if w.feed.first_polled and w.items}
    guids = sorted({i.guid for items in per_feed for i in items if i.guid})
    known: set[tuple[int, str]] = set()
    if asked and guids:
        for chunk in chunks(guids):
            rows = await conn.execute(_KNOWN_GUIDS, {"feeds": sorted(asked), "values": chunk})
            known |= {(row.feed_id, row.guid) for row in rows}
    return [
        [i for i in items if not i.guid or (write.feed.id, i.guid) not in known]
        for write, items in zip(batch, per_feed, strict=True)
    ]


async def _plan(
    conn: AsyncConnection,
    name: str,
    batch: Sequence[PollWrite],
    fresh: list[list[Item]],
    now: datetime,
) -> _Plan:
    stored = await existing_ids(conn, [i for items in fresh for i in items])
    plan = _Plan(links=[[] for _ in batch])
    sqlite = dialect.binds_plain_values(name)  # times bound as text
    seen = utc_text(now) if sqlite else now
    claimed_hash: dict[str, str] = {}  # content hash → url of the new row that claimed it
    for index, (write, items) in enumerate(zip(batch, fresh, strict=True)):
        history = not write.feed.first_polled
        for article in items:
            target: int | str | None = stored.get(article.url)
            if target is None:
                target = article.url if article.url in plan.owner else None
                target = target or claimed_hash.get(article.content_hash)
            if target is None:
                target = article.url
                plan.owner[article.url] = index
                claimed_hash[article.content_hash] = article.url
                plan.new_rows.append(_article_row(article, seen, history, sqlite))
            publisher = article.source if article.relayed else None
            plan.links[index].append((target, article.guid, publisher))
    return plan


async def existing_ids(conn: AsyncConnection, batch: Sequence[ArticleRecord]) -> dict[str, int]:
    """Map each article's URL to the stored article it duplicates (same URL, else same content)."""
    by_url: dict[str, int] = {}
    for chunk in chunks(sorted({a.url for a in batch})):
        by_url |= {row.url: row.id for row in await conn.execute(_IDS_BY_URL, {"values": chunk})}
    by_hash: dict[str, int] = {}
    missing = sorted({a.content_hash for a in batch if a.url not in by_url})
    for chunk in chunks(missing):
        rows = await conn.execute(_IDS_BY_HASH, {"values": chunk})
        by_hash |= {row.content_hash: row.id for row in rows}
    found = {}
    for article in batch:
        article_id = by_url.get(article.url) or by_hash.get(article.content_hash)
        if article_id is not None:
            found[article.url] = article_id
    return found


async def _insert_articles(
    conn: AsyncConnection, name: str, plan: _Plan
) -> tuple[dict[str, int], set[str]]:
    """Insert the planned rows; returns url → id for all of them and the URLs another writer
    stored first (they become sources, not new articles)."""
    if not plan.new_rows:
        return {}, set()
    if dialect.binds_plain_values(name):
        return await _insert_articles_sqlite(conn, plan), set()
    statement = dialect.insert(name, articles).on_conflict_do_nothing(index_elements=["url"])
    rows = [dict(zip(ARTICLE_COLUMNS, row, strict=True)) for row in plan.new_rows]
    result = await conn.execute(statement.returning(articles.c.id, articles.c.url), rows)
    ids = {row.url: row.id for row in result}
    raced = {row[0] for row in plan.new_rows if row[0] not in ids}
    await mentions.index_new(conn, list(ids.values()))
    if raced:
        for chunk in chunks(sorted(raced)):
            ids |= {row.url: row.id for row in await conn.execute(_IDS_BY_URL, {"values": chunk})}
    return ids, raced


_SQLITE_ARTICLES = (
    f"INSERT INTO articles ({', '.join(ARTICLE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(ARTICLE_COLUMNS))}) ON CONFLICT (url) DO NOTHING"
)
_SQLITE_INDEX_NEW = (
    "INSERT INTO articles_fts(rowid, title, summary) "
    "SELECT id, title, summary FROM articles WHERE id > ?"
)
_SQLITE_INDEX_CJK = "INSERT INTO articles_fts_cjk(rowid, title, summary) VALUES (?, ?, ?)"


async def _insert_articles_sqlite(conn: AsyncConnection, plan: _Plan) -> dict[str, int]:
    """Binds plain values with one executemany: per-row SQLAlchemy processing costs more than
    SQLite's own work. Races need no handling: one process writes an SQLite store and `Store`
    queues its writers (PostgreSQL, shared by several processes, takes the RETURNING path).
    New rows get ids above the largest before, which also lets one statement index them all
    for full-text search (migration 0002 says why)."""
    before = (await conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM articles")).scalar()
    await conn.exec_driver_sql(_SQLITE_ARTICLES, plan.new_rows)
    await conn.exec_driver_sql(_SQLITE_INDEX_NEW, (before,))
    await mentions.index_new_sqlite(conn, int(before or 0))
    inserted = await conn.exec_driver_sql("SELECT url, id FROM articles WHERE id > ?", (before,))
    ids = {row.url: row.id for row in inserted}
    await _index_cjk_sqlite(conn, plan, ids)
    return ids


async def _index_cjk_sqlite(conn: AsyncConnection, plan: _Plan, ids: dict[str, int]) -> None:
    """New articles holding CJK text, as character pairs too (bot/store/cjk.py says why)."""
    grams = [
        (ids[row[_URL]], cjk.index_text(row[_TITLE]), cjk.index_text(row[_SUMMARY]))
        for row in plan.new_rows
        if row[_URL] in ids and (cjk.has_cjk(row[_TITLE]) or cjk.has_cjk(row[_SUMMARY]))
    ]
    if grams:
        await conn.exec_driver_sql(_SQLITE_INDEX_CJK, grams)


async def _insert_sources(
    conn: AsyncConnection,
    name: str,
    batch: Sequence[PollWrite],
    plan: _Plan,
    ids: dict[str, int],
    now: datetime,
) -> list[int]:
    """Link each feed to its articles; returns how many links each feed added."""
    rows = []
    for write, links in zip(batch, plan.links, strict=True):
        per_article: dict[int, tuple[str | None, str | None]] = {}
        for target, guid, publisher in links:
            article_id = target if isinstance(target, int) else ids.get(target)
            if article_id is not None:
                per_article.setdefault(article_id, (guid, publisher))
        rows += [
            {"article_id": a, "feed_id": write.feed.id, "guid": g, "seen_at": now, "publisher": p}
            for a, (g, p) in per_article.items()
        ]
    added = dict.fromkeys((w.feed.id for w in batch), 0)
    if rows and dialect.binds_plain_values(name):
        return await _insert_sources_sqlite(conn, batch, rows)
    if rows:
        statement = dialect.insert(name, article_sources).on_conflict_do_nothing(
            index_elements=["article_id", "feed_id"]
        )
        result = await conn.execute(statement.returning(article_sources.c.feed_id), rows)
        for row in result:
            added[row.feed_id] += 1
    return [added[w.feed.id] for w in batch]


_SQLITE_SOURCES = (
    "INSERT INTO article_sources (article_id, feed_id, guid, seen_at, publisher) "
    "VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (article_id, feed_id) DO NOTHING"
)


async def _insert_sources_sqlite(
    conn: AsyncConnection, batch: Sequence[PollWrite], rows: list[dict[str, Any]]
) -> list[int]:
    linked = await _existing_links(conn, rows)
    added = dict.fromkeys((w.feed.id for w in batch), 0)
    plain = []
    for row in rows:
        if (row["article_id"], row["feed_id"]) not in linked:
            added[row["feed_id"]] += 1
            plain.append(
                (
                    row["article_id"],
                    row["feed_id"],
                    row["guid"],
                    utc_text(row["seen_at"]),
                    row["publisher"],
                )
            )
    if plain:
        await conn.exec_driver_sql(_SQLITE_SOURCES, plain)
    return [added[w.feed.id] for w in batch]


async def _existing_links(
    conn: AsyncConnection, rows: list[dict[str, Any]]
) -> set[tuple[int, int]]:
    article_ids = sorted({row["article_id"] for row in rows})
    links: set[tuple[int, int]] = set()
    for start in range(0, len(article_ids), CHUNK):
        chunk = article_ids[start : start + CHUNK]
        found = await conn.execute(_LINKS, {"values": chunk})
        links |= {(row.article_id, row.feed_id) for row in found}
    return links


_SUCCESS = (
    update(feeds)
    .where(feeds.c.id == bindparam("b_id", type_=Integer))
    .values(
        last_polled_at=bindparam("b_polled", type_=UTCDateTime()),
        next_poll_at=bindparam("b_next", type_=UTCDateTime()),
        last_status=bindparam("b_status", type_=Integer),
        last_error=None,
        consecutive_failures=0,
        last_success_at=bindparam("b_polled", type_=UTCDateTime()),
        etag=bindparam("b_etag", type_=Text),
        last_modified=bindparam("b_last_modified", type_=Text),
        body_hash=bindparam("b_body_hash", type_=String),
        first_polled=or_(feeds.c.first_polled, bindparam("b_parsed", type_=Boolean)),
        last_entries=func.coalesce(bindparam("b_entries", type_=Integer), feeds.c.last_entries),
    )
)

_FAILURE = (
    update(feeds)
    .where(feeds.c.id == bindparam("b_id", type_=Integer))
    .values(
        last_polled_at=bindparam("b_polled", type_=UTCDateTime()),
        next_poll_at=bindparam("b_next", type_=UTCDateTime()),
        last_status=bindparam("b_status", type_=Integer),
        last_error=bindparam("b_error", type_=Text),
        consecutive_failures=feeds.c.consecutive_failures + 1,
    )
)


async def _update_feeds(conn: AsyncConnection, batch: Sequence[PollWrite]) -> None:
    successes = [_success_row(w) for w in batch if w.update.success]
    failures = [_failure_row(w) for w in batch if not w.update.success]
    if successes:
        await conn.execute(_SUCCESS, successes)
    if failures:
        await conn.execute(_FAILURE, failures)
    for write in batch:
        if write.update.new_url and write.update.success:
            await _move_feed(conn, write.feed, write.update.new_url)


def _success_row(write: PollWrite) -> dict[str, Any]:
    u = write.update
    return {
        "b_id": write.feed.id,
        "b_polled": u.polled_at,
        "b_next": u.next_poll_at,
        "b_status": u.status,
        "b_etag": u.etag,
        "b_last_modified": u.last_modified,
        "b_body_hash": u.body_hash if u.body_hash is not None else write.feed.body_hash,
        "b_parsed": write.parsed,
        "b_entries": u.entries,
    }


def _failure_row(write: PollWrite) -> dict[str, Any]:
    u = write.update
    return {
        "b_id": write.feed.id,
        "b_polled": u.polled_at,
        "b_next": u.next_poll_at,
        "b_status": u.status,
        "b_error": u.error,
    }


async def _move_feed(conn: AsyncConnection, feed: FeedState, new_url: str) -> None:
    """A 301/308 changes what is fetched, never the feed's identity (`url`, the config's URL),
    so the next start matches the config to this feed instead of adding the old URL again."""
    fetch_url = None if new_url == feed.url else new_url
    if fetch_url != feed.fetch_url:
        await conn.execute(update(feeds).where(feeds.c.id == feed.id).values(fetch_url=fetch_url))


def _article_row(item: ArticleRecord, seen: Any, history: bool, sqlite: bool) -> tuple[Any, ...]:
    # A date after the moment we first saw the entry is a feed's mistake (a wrong zone, a
    # scheduled post); left alone it would top "latest" until it came true. Search relies on
    # published <= first seen too (repo.Store.search).
    published = min(item.published_text, seen) if sqlite else min(item.published_at, seen)
    return (
        item.url,
        item.guid,
        item.title,
        item.summary,
        published,
        seen,
        item.language,
        item.author,
        item.source,
        item.content_hash,
        history,
        item.relevant,
        item.score,
        item.companies,
        item.why,
        (item.publisher_url or "") if item.relayed else None,
        item.mentions,
    )


def chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]
