"""Stored feeds: add, edit, remove, list, and what each has given.

Config-owned feeds are written by the config sync (bot/store/reconcile.py); a poll's outcome by
the poll writer (bot/store/ingest.py). Each function takes a sync `Connection`; the `Store`
runs it in a read or write transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select, update

from bot.models import FeedConfig, FeedState
from bot.store.errors import StoreError
from bot.store.reconcile import new_feed_values
from bot.store.rows import FeedSummary, aware, from_row
from bot.store.schema import article_sources, feeds

EDITABLE = frozenset({"name", "interval", "allow_private_address", "paused"})


def add_feed(
    conn: Connection, feed: FeedConfig, origin: str, now: datetime, *, history: bool
) -> FeedState:
    same = or_(feeds.c.url == feed.url, feeds.c.fetch_url == feed.url)
    existing = conn.execute(select(feeds).where(same)).first()
    if existing is not None:
        moved = f" (moved from {existing.url})" if existing.url != feed.url else ""
        raise StoreError(f"feed {feed.url} is already stored as id {existing.id}{moved}")
    result = conn.execute(
        feeds.insert()
        .values(new_feed_values(feed, origin, now) | {"first_polled": not history})
        .returning(feeds)
    )
    return from_row(FeedState, result.one())


def remove_feed(conn: Connection, feed_id: int) -> FeedState | None:
    found = get_feed(conn, feed_id)
    if found is not None:
        conn.execute(article_sources.delete().where(article_sources.c.feed_id == feed_id))
        conn.execute(feeds.delete().where(feeds.c.id == feed_id))
    return found


def list_feeds(conn: Connection) -> list[FeedState]:
    return [from_row(FeedState, row) for row in conn.execute(select(feeds).order_by(feeds.c.id))]


def get_feed(conn: Connection, feed_id: int) -> FeedState | None:
    row = conn.execute(select(feeds).where(feeds.c.id == feed_id)).first()
    return None if row is None else from_row(FeedState, row)


def edit_feed(conn: Connection, feed_id: int, changes: dict[str, Any]) -> FeedState | None:
    """Change a stored feed's name, interval, allow_private_address or paused."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValueError(f"not a feed setting: {', '.join(sorted(unknown))}")
    if changes:
        conn.execute(update(feeds).where(feeds.c.id == feed_id).values(**changes))
    return get_feed(conn, feed_id)


def feed_summaries(conn: Connection) -> list[FeedSummary]:
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
    return [
        FeedSummary(
            from_row(FeedState, row), int(row.article_count), aware(row.last_new), row.created_at
        )
        for row in conn.execute(query)
    ]
