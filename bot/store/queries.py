"""Questions the chat commands ask that the store's named queries do not cover.

Each function takes a sync `Connection`; run it with `Store.read(fn, ...)` (writes with
`Store.write`), as the commands' `read(ctx, fn, ...)` and `write(ctx, fn, ...)` do. Companies
are stored as a JSON array of ids, and an id cannot hold a quote, so `companies LIKE '%"id"%'`
matches exactly that id; per-company questions read the `article_companies` table (one row per
mention, clustered by company and time) instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, String, cast, distinct, func, literal, select, update
from sqlalchemy.sql.elements import ColumnElement

from bot.models import Subscription, SubscriptionConfig
from bot.store import dialect
from bot.store.digests import subscription_values, to_subscription
from bot.store.rows import StoredArticle, from_row
from bot.store.schema import article_companies as named
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


def latest_articles(
    conn: Connection, company_id: str | None, *, limit: int, min_score: float
) -> list[StoredArticle]:
    """The newest relevant articles, about `company_id` when given."""
    if company_id is None:
        query = (
            select(articles)
            .where(articles.c.relevant.is_(True), articles.c.score >= min_score)
            .order_by(articles.c.published_at.desc(), articles.c.id.desc())
        )
    else:
        query = (
            select(articles)
            .join(named, named.c.article_id == articles.c.id)
            .where(named.c.company_id == company_id, named.c.relevant.is_(True))
            .where(named.c.score >= min_score)
            .order_by(named.c.published_at.desc(), named.c.article_id.desc())
        )
    return [from_row(StoredArticle, row) for row in conn.execute(query.limit(limit))]


def weekly_mentions(conn: Connection, company_id: str, now: datetime) -> tuple[int, int]:
    """Articles naming the company published in the last 7 days and in the 7 days before."""
    this_week = _count_between(conn, company_id, now - WEEK, now)
    last_week = _count_between(conn, company_id, now - 2 * WEEK, now - WEEK)
    return this_week, last_week


def _count_between(conn: Connection, company_id: str, since: datetime, until: datetime) -> int:
    query = (
        select(func.count())
        .select_from(named)
        .where(named.c.company_id == company_id, named.c.published_at > since)
        .where(named.c.published_at <= until)
    )
    return int(conn.execute(query).scalar_one())


def top_sources(
    conn: Connection, company_id: str, *, since: datetime | None = None, limit: int = 5
) -> list[tuple[str, int]]:
    """Publishers that carried the most articles naming the company, with their counts: the
    feed's name, or the publisher an aggregator item named."""
    count = func.count(distinct(article_sources.c.article_id)).label("n")
    publisher = func.coalesce(article_sources.c.publisher, feeds.c.name).label("name")
    query = (
        select(publisher, count)
        .select_from(named)
        .join(article_sources, article_sources.c.article_id == named.c.article_id)
        .join(feeds, feeds.c.id == article_sources.c.feed_id)
        .where(named.c.company_id == company_id)
        .group_by(publisher)
        .order_by(count.desc(), publisher)
        .limit(limit)
    )
    if since is not None:
        query = query.where(named.c.published_at > since)
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
        # subscribing again from the channel shows it is back: a disabled one is enabled
        changed = values | {"origin": CHAT, "disabled_reason": None}
        conn.execute(update(subs).where(subs.c.id == row.id).values(changed))
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


def first_day_counts(
    conn: Connection,
    company_ids: Sequence[str],
    since: datetime,
    until: datetime,
    *,
    min_score: float,
) -> list[tuple[str, str, int]]:
    """(company, UTC day "YYYY-MM-DD", stories) for the relevant articles naming the companies
    published in [since, until): a story counts once, on the day of its first article; an
    article not yet grouped is its own story. Counted in the database: a year of a busy
    company is tens of thousands of mentions."""
    story = func.coalesce(articles.c.story_key, literal("article:") + cast(articles.c.id, String))
    day = dialect.utc_day(conn.dialect.name, named.c.published_at)
    firsts = (
        select(named.c.company_id, func.min(day).label("day"))
        .join(articles, articles.c.id == named.c.article_id)
        .where(*_relevant_mentions(company_ids, since, until, min_score))
        .group_by(named.c.company_id, story)
        .subquery()
    )
    query = select(firsts.c.company_id, firsts.c.day, func.count().label("n")).group_by(
        firsts.c.company_id, firsts.c.day
    )
    return [(row.company_id, row.day, int(row.n)) for row in conn.execute(query)]


def _relevant_mentions(
    company_ids: Sequence[str], since: datetime, until: datetime, min_score: float
) -> tuple[ColumnElement[bool], ...]:
    return (
        named.c.company_id.in_(list(company_ids)),
        named.c.relevant.is_(True),
        named.c.score >= min_score,
        named.c.published_at >= since,
        named.c.published_at < until,
    )


def source_count(
    conn: Connection,
    company_ids: Sequence[str],
    since: datetime,
    until: datetime,
    *,
    min_score: float,
) -> int:
    """How many feeds carried the relevant articles naming these companies in [since, until)."""
    ids = select(named.c.article_id).where(
        *_relevant_mentions(company_ids, since, until, min_score)
    )
    query = select(func.count(distinct(article_sources.c.feed_id))).where(
        article_sources.c.article_id.in_(ids)
    )
    return int(conn.execute(query).scalar_one())
