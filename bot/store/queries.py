"""Questions the chat commands ask that the store's named queries do not cover.

Each function takes a sync `Connection`; call it through
`async with store.engine.connect() as conn: await conn.run_sync(fn, ...)` (writes through
`store.engine.begin()`). Companies are stored as a JSON array of ids, and an id cannot hold a
quote, so `companies LIKE '%"id"%'` matches exactly that id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, distinct, func, select, update
from sqlalchemy.sql.elements import ColumnElement

from bot.models import Subscription, SubscriptionConfig
from bot.store.digests import subscription_values, to_subscription
from bot.store.repo import StoredArticle, stored_article
from bot.store.schema import article_sources, articles, feeds
from bot.store.schema import subscriptions as subs

CHAT = "chat"
WEEK = timedelta(days=7)


class ConfigOwnedError(ValueError):
    """The subscription comes from the config file; chat must not change it (the next start
    would put it back)."""


@dataclass(frozen=True)
class OwnedSubscription:
    subscription: Subscription
    origin: str  # config | chat | cli


def mentions(company_id: str) -> ColumnElement[bool]:
    return articles.c.companies.contains(json.dumps(company_id), autoescape=True)


def latest_articles(
    conn: Connection, company_id: str | None, *, limit: int, min_score: float
) -> list[StoredArticle]:
    """The newest relevant articles, about `company_id` when given."""
    query = (
        select(articles)
        .where(articles.c.relevant.is_(True), articles.c.score >= min_score)
        .order_by(articles.c.published_at.desc(), articles.c.id.desc())
        .limit(limit)
    )
    if company_id is not None:
        query = query.where(mentions(company_id))
    return [stored_article(row) for row in conn.execute(query)]


def weekly_mentions(conn: Connection, company_id: str, now: datetime) -> tuple[int, int]:
    """Articles naming the company published in the last 7 days and in the 7 days before."""
    this_week = _count_between(conn, company_id, now - WEEK, now)
    last_week = _count_between(conn, company_id, now - 2 * WEEK, now - WEEK)
    return this_week, last_week


def _count_between(conn: Connection, company_id: str, since: datetime, until: datetime) -> int:
    query = (
        select(func.count())
        .select_from(articles)
        .where(mentions(company_id), articles.c.published_at > since)
        .where(articles.c.published_at <= until)
    )
    return int(conn.execute(query).scalar_one())


def top_sources(
    conn: Connection, company_id: str, *, since: datetime | None = None, limit: int = 5
) -> list[tuple[str, int]]:
    """Feed names that carried the most articles naming the company, with their counts."""
    named = select(articles.c.id).where(mentions(company_id))
    if since is not None:
        named = named.where(articles.c.published_at > since)
    count = func.count(distinct(article_sources.c.article_id)).label("n")
    # Driven from the articles (an index range on published_at), not from every source row.
    query = (
        select(feeds.c.name, count)
        .select_from(article_sources)
        .join(feeds, feeds.c.id == article_sources.c.feed_id)
        .where(article_sources.c.article_id.in_(named))
        .group_by(feeds.c.name)
        .order_by(count.desc(), feeds.c.name)
        .limit(limit)
    )
    return [(row.name, int(row.n)) for row in conn.execute(query)]


def subscriptions_of(conn: Connection, target: str | None = None) -> list[OwnedSubscription]:
    """Every subscription (of `target` when given) with where it came from."""
    query = select(subs).order_by(subs.c.id)
    if target is not None:
        query = query.where(subs.c.target == target)
    return [OwnedSubscription(to_subscription(row), row.origin) for row in conn.execute(query)]


def save_chat_subscription(
    conn: Connection, config: SubscriptionConfig, now: datetime
) -> Subscription:
    """Create or change the target's subscription; refuse one the config file owns."""
    row = _row_of(conn, config.target)
    values = subscription_values(config)
    if row is None:
        conn.execute(subs.insert().values(values | {"origin": CHAT, "created_at": now}))
    else:
        _refuse_config(row)
        conn.execute(update(subs).where(subs.c.id == row.id).values(values | {"origin": CHAT}))
    saved = _row_of(conn, config.target)
    assert saved is not None
    return to_subscription(saved)


def remove_chat_subscription(conn: Connection, target: str) -> Subscription | None:
    """Delete the target's subscription (its digest runs and alerts go with it)."""
    row = _row_of(conn, target)
    if row is None:
        return None
    _refuse_config(row)
    conn.execute(subs.delete().where(subs.c.id == row.id))
    return to_subscription(row)


def _row_of(conn: Connection, target: str) -> Any:
    return conn.execute(select(subs).where(subs.c.target == target)).first()


def _refuse_config(row: Any) -> None:
    if row.origin == "config":
        raise ConfigOwnedError(
            f"subscription {row.id} comes from the config file; change it there "
            "(chat changes would be undone at the next start)"
        )
