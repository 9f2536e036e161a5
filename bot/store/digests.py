"""Subscriptions, digest runs and deliveries: the store's half of "posted exactly once".

A digest run is claimed per (subscription, period) when its digest is queued, together with one
delivery row per (target, article) it carries (bot.store.outbox); candidates exclude what a target
was already shown or has queued, so no story reaches a channel twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.engine import Row

from bot.models import DigestArticle, Subscription, SubscriptionConfig
from bot.store import dialect
from bot.store.rows import from_row, mapper
from bot.store.schema import alerts, article_sources, articles, deliveries, digest_runs, feeds
from bot.store.schema import subscriptions as subs

SENT, PENDING, FAILED = "sent", "pending", "failed"


def subscription_values(config: SubscriptionConfig) -> dict[str, Any]:
    return {
        "target": config.target,
        "companies": json.dumps(list(config.companies)),
        "languages": json.dumps(list(config.languages)),
        "min_relevance": config.min_relevance,
        "schedule": config.schedule,
        "timezone": config.timezone,
        "empty_note": config.empty_note,
        "live_alerts": config.live_alerts,
        "alert_threshold": config.alert_threshold,
        "alerts_per_hour": config.alerts_per_hour,
        "top_stories": config.top_stories,
        "per_company": config.per_company,
    }


def to_subscription(row: Row[Any]) -> Subscription:
    return from_row(Subscription, row, columns={"disabled": "disabled_reason"})


def list_subscriptions(conn: Connection) -> list[Subscription]:
    return [to_subscription(row) for row in conn.execute(select(subs).order_by(subs.c.id))]


_DIGEST_COLUMNS = (
    "id",
    "url",
    "title",
    "summary",
    "published_at",
    "language",
    "source",
    "score",
    "companies",
    "story_key",
    "publisher_url",
)
_DIGEST_NAMES = {"story": "story_key"}


def candidates(
    conn: Connection,
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
    """Relevant, non-history (unless `include_history`: previews only) articles that `target` has not seen, first seen in (since, until]
    and ingested in (after_id, upto_id]: the ingest sequence bounds a digest period, so a clock
    stepping back never hides an article."""
    shown = select(deliveries.c.article_id).where(deliveries.c.target == target)
    columns = [articles.c[name] for name in _DIGEST_COLUMNS]
    bounds = [
        articles.c.first_seen_at > since if since is not None else None,
        articles.c.first_seen_at <= until if until is not None else None,
        articles.c.id > after_id if after_id is not None else None,
        articles.c.id <= upto_id if upto_id is not None else None,
    ]
    query = (
        select(*columns)
        .where(
            *(bound for bound in bounds if bound is not None),
            *([] if include_history else [articles.c.is_history.is_(False)]),
            articles.c.relevant.is_(True),
            articles.c.score >= min_score,
            articles.c.id.not_in(shown),
        )
        .order_by(articles.c.score.desc(), articles.c.first_seen_at.desc())
        .limit(limit)
    )
    if languages:
        query = query.where(articles.c.language.in_(list(languages)))
    rows = conn.execute(query).all()  # one fetch: row-by-row costs a round trip each
    return _digest_articles(conn, rows)


def articles_by_id(conn: Connection, article_ids: Sequence[int]) -> list[DigestArticle]:
    """The articles a queued post carries, to rebuild it exactly after a restart."""
    if not article_ids:
        return []
    columns = [articles.c[name] for name in _DIGEST_COLUMNS]
    rows = conn.execute(
        select(*columns).where(articles.c.id.in_(_id_list(conn, list(article_ids))))
    ).all()
    return _digest_articles(conn, rows)


def _source_names(conn: Connection, article_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """Publishers carrying each article (the feed's name, or the publisher an aggregator item
    named), in one query whatever the number of ids."""
    if not article_ids:
        return {}
    publisher = func.coalesce(article_sources.c.publisher, feeds.c.name).label("name")
    query = (
        select(article_sources.c.article_id, publisher)
        .join(feeds, feeds.c.id == article_sources.c.feed_id)
        .where(article_sources.c.article_id.in_(_id_list(conn, article_ids)))
        .order_by(article_sources.c.seen_at, feeds.c.id)
    )
    found: dict[int, list[str]] = {}
    for row in conn.execute(query).all():
        found.setdefault(row.article_id, []).append(row.name)
    return {key: tuple(dict.fromkeys(value)) for key, value in found.items()}


def _id_list(conn: Connection, ids: list[int]) -> Any:
    return dialect.id_list(conn.dialect.name, ids)


def _digest_articles(conn: Connection, rows: Sequence[Row[Any]]) -> list[DigestArticle]:
    """`rows` hold _DIGEST_COLUMNS; each article with the publishers of every feed carrying it."""
    names = _source_names(conn, [row.id for row in rows])
    to_article = mapper(
        DigestArticle, _DIGEST_COLUMNS, columns=_DIGEST_NAMES, given=("sources", "score")
    )
    return [
        to_article(
            row,
            sources=tuple(dict.fromkeys((row.source, *names.get(row.id, ())))),
            score=row.score or 0.0,
        )
        for row in rows
    ]


def story_window(conn: Connection, since: datetime) -> list[DigestArticle]:
    """Relevant, non-history articles first seen after `since`: what story assignment regroups."""
    columns = [articles.c[name] for name in _DIGEST_COLUMNS]
    query = select(*columns).where(
        articles.c.first_seen_at > since,
        articles.c.is_history.is_(False),
        articles.c.relevant.is_(True),
    )
    rows = conn.execute(query).all()
    return _digest_articles(conn, rows)


def set_story_keys(conn: Connection, keys: Sequence[tuple[int, str]]) -> None:
    if keys:
        statement = (
            update(articles)
            .where(articles.c.id == bindparam("article_id"))
            .values(story_key=bindparam("key"))
        )
        conn.execute(statement, [{"article_id": a, "key": k} for a, k in keys])


def alerts_since(conn: Connection, subscription_id: int, since: datetime) -> int:
    return conn.execute(
        select(func.count())
        .select_from(alerts)
        .where(alerts.c.subscription_id == subscription_id, alerts.c.sent_at > since)
    ).scalar_one()


def run_state(conn: Connection, subscription_id: int, period_end: datetime) -> str | None:
    return conn.execute(
        select(digest_runs.c.state).where(
            digest_runs.c.subscription_id == subscription_id,
            digest_runs.c.period_end == period_end,
        )
    ).scalar()
