"""What operators ask after the fact: what was sent where and when, and why an article was not.

Reads only what delivery recorded (`outbox`, `deliveries`, `digest_runs`) and the article's own
verdict; writes nothing. `chipwire deliveries` prints it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from bot.models import Subscription
from bot.store.digests import to_subscription
from bot.store.rows import from_row
from bot.store.schema import articles, deliveries, digest_runs, outbox
from bot.store.schema import subscriptions as subs


@dataclass(frozen=True)
class PostRecord:
    """One digest or alert as the delivery queue recorded it."""

    id: int
    kind: str  # digest | alert
    target: str
    state: str  # queued | sent | dead
    queued_at: datetime
    sent_at: datetime | None
    article_ids: tuple[int, ...]
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class TargetVerdict:
    """Why one subscription's target got, or did not get, one article."""

    target: str
    sent: bool
    reason: str


def posts(
    conn: Connection, *, target: str | None = None, article_id: int | None = None, limit: int = 50
) -> list[PostRecord]:
    """Newest first; only `target`'s, and only those carrying `article_id`, when given."""
    query = select(outbox).order_by(outbox.c.id.desc())
    if target is not None:
        query = query.where(outbox.c.target == target)
    if article_id is not None:
        shown = select(deliveries.c.target).where(deliveries.c.article_id == article_id)
        query = query.where(outbox.c.target.in_(shown))
    found = []
    for row in conn.execute(query):
        record = _post(row)
        if article_id is None or article_id in record.article_ids:
            found.append(record)
        if len(found) >= limit:
            break
    return found


def _post(row: Any) -> PostRecord:
    return from_row(PostRecord, row, columns={"queued_at": "created_at"})


def article_verdicts(
    conn: Connection, article_id: int, target: str | None = None
) -> list[TargetVerdict] | None:
    """Per subscription (of `target` when given): sent, or the first reason it was not. None
    when no such article is stored."""
    article = conn.execute(select(articles).where(articles.c.id == article_id)).first()
    if article is None:
        return None
    query = select(subs).order_by(subs.c.id)
    if target is not None:
        query = query.where(subs.c.target == target)
    shown = {
        row.target: row.delivered_at
        for row in conn.execute(
            select(deliveries.c.target, deliveries.c.delivered_at).where(
                deliveries.c.article_id == article_id
            )
        )
    }
    verdicts = []
    for row in conn.execute(query):
        subscription = to_subscription(row)
        when = shown.get(subscription.target)
        if when is not None:
            verdicts.append(
                TargetVerdict(subscription.target, True, f"sent {when:%Y-%m-%d %H:%M} UTC")
            )
            continue
        last = _last_sent_period(conn, subscription.id)
        story = _story_shown(conn, subscription.target, article.story_key)
        reason = why_not(article, subscription, last, story)
        verdicts.append(TargetVerdict(subscription.target, False, reason))
    return verdicts


def _story_shown(conn: Connection, target: str, story_key: str | None) -> int | None:
    if not story_key:
        return None
    query = select(deliveries.c.article_id).where(
        deliveries.c.target == target, deliveries.c.story_key == story_key
    )
    return conn.execute(query.limit(1)).scalar()


def _last_sent_period(conn: Connection, subscription_id: int) -> datetime | None:
    query = (
        select(digest_runs.c.period_end)
        .where(digest_runs.c.subscription_id == subscription_id, digest_runs.c.state == "sent")
        .order_by(digest_runs.c.period_end.desc())
        .limit(1)
    )
    return conn.execute(query).scalar()


def why_not(
    article: Any,
    subscription: Subscription,
    last_period: datetime | None,
    story_shown_as: int | None = None,
) -> str:
    """The first rule that kept the article from the subscription's digests, in the order the
    digest applies them; "capped" when it passed every rule but its period's digest was full."""
    companies: Sequence[str] = tuple(json.loads(article.companies or "[]"))
    if article.relevant is None:
        return "not classified yet ('chipwire reclassify')"
    if not article.relevant:
        return f"not relevant: not AI-chip news (score {article.score or 0:.2f})"
    if article.is_history:
        return "history: stored by its feed's first poll, never posted as new"
    if (article.score or 0) < subscription.min_relevance:
        return (
            f"below the subscription's threshold (score {article.score:.2f} "
            f"< min relevance {subscription.min_relevance:.2f})"
        )
    if subscription.companies and not set(companies) & set(subscription.companies):
        about = ", ".join(companies) or "no company"
        return f"other company: about {about}; the subscription follows {', '.join(subscription.companies)}"
    if subscription.languages and article.language not in subscription.languages:
        return f"other language: {article.language or 'unknown'}; the subscription takes {', '.join(subscription.languages)}"
    if story_shown_as is not None:
        return (
            f"already shown: its story reached {subscription.target} as article #{story_shown_as}"
        )
    if last_period is not None and article.first_seen_at <= last_period:
        return "capped: its digest was full (top stories and per-company limits took others)"
    return "not sent yet: it is due in the subscription's next digest"
