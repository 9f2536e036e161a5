"""The delivery queue's half in the store: queue, claim with a lease, record parts, finish.

Queueing a digest period or an alert writes, in one transaction, the period's or story's claim
(`digest_runs` / `alerts`, each unique), the outbox row and a `deliveries` row per article it
carries. Those unique constraints make a second queueing of the same thing impossible, whatever
process tries, and keep an article from reaching one target in both an alert and a digest.
A row is then claimed with a lease (`UPDATE … RETURNING`, rows locked `FOR UPDATE SKIP LOCKED`
on PostgreSQL); a lease that expired, its process dead, is taken over by the next claim.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update
from sqlalchemy.engine import Row

from bot.models import Subscription
from bot.store import dialect
from bot.store.rows import from_row
from bot.store.schema import (
    alerts,
    deliveries,
    digest_runs,
    feeds,
    outbox,
    outbox_parts,
    subscriptions,
)

QUEUED, SENT, DEAD = "queued", "sent", "dead"
INTENDED, ACCEPTED = "intended", "accepted"


@dataclass(frozen=True)
class QueuedPost:
    """One outbox row as a process holding its lease sees it."""

    id: int
    kind: str  # digest | alert
    subscription_id: int
    target: str
    delivery_key: str
    period_start: datetime
    period_end: datetime
    story_key: str | None
    article_ids: tuple[int, ...]
    attempts: int
    created_at: datetime
    left_out: int = 0


def _queued_post(row: Row[Any]) -> QueuedPost:
    return from_row(QueuedPost, row)


def _reserve(
    conn: Connection, target: str, shown: Sequence[tuple[int, str]], now: datetime
) -> None:
    """One `deliveries` row per article: a conflict (already shown or queued) raises."""
    rows = [
        {"target": target, "article_id": a, "story_key": key, "delivered_at": now}
        for a, key in dict(shown).items()
    ]
    if rows:
        conn.execute(deliveries.insert(), rows)


def _insert_post(
    conn: Connection,
    *,
    kind: str,
    subscription: Subscription,
    key: str,
    period: tuple[datetime, datetime],
    story_key: str | None,
    shown: Sequence[tuple[int, str]],
    now: datetime,
    left_out: int = 0,
) -> int:
    _reserve(conn, subscription.target, shown, now)
    result = conn.execute(
        outbox.insert()
        .values(
            kind=kind,
            subscription_id=subscription.id,
            target=subscription.target,
            delivery_key=key,
            period_start=period[0],
            period_end=period[1],
            story_key=story_key,
            article_ids=json.dumps(list(dict(shown))),
            left_out=left_out,
            state=QUEUED,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .returning(outbox.c.id)
    )
    return int(result.scalar_one())


def period_claimed(conn: Connection, subscription_id: int, period_end: datetime) -> bool:
    return (
        conn.execute(
            select(digest_runs.c.id).where(
                digest_runs.c.subscription_id == subscription_id,
                digest_runs.c.period_end == period_end,
            )
        ).first()
        is not None
    )


def queue_digest(
    conn: Connection,
    *,
    subscription: Subscription,
    period: tuple[datetime, datetime],
    key: str,
    upto_id: int,
    shown: Sequence[tuple[int, str]],
    post: bool,
    now: datetime,
    left_out: int = 0,
) -> int | None:
    """Claim the period and queue its digest (when `post`); the outbox id, or None when empty.
    Raises IntegrityError (Conflict through the Store) when another process claimed the period or an article first."""
    stories = len({k for _, k in shown})
    conn.execute(
        digest_runs.insert().values(
            subscription_id=subscription.id,
            period_end=period[1],
            state=QUEUED if post else SENT,
            stories=stories,
            attempts=0,
            updated_at=now,
            upto_id=upto_id,
        )
    )
    if not post:
        return None
    return _insert_post(
        conn,
        kind="digest",
        subscription=subscription,
        key=key,
        period=period,
        story_key=None,
        shown=shown,
        now=now,
        left_out=left_out,
    )


def queue_alert(
    conn: Connection,
    *,
    subscription: Subscription,
    key: str,
    story_key: str,
    article_ids: Sequence[int],
    published_at: datetime,
    now: datetime,
) -> int:
    """Raises IntegrityError (Conflict through the Store) when the story was alerted (or shown) to this target already."""
    conn.execute(
        alerts.insert().values(subscription_id=subscription.id, story_key=story_key, sent_at=now)
    )
    return _insert_post(
        conn,
        kind="alert",
        subscription=subscription,
        key=key,
        period=(published_at, now),
        story_key=story_key,
        shown=[(a, story_key) for a in article_ids],
        now=now,
    )


def claim_due(
    conn: Connection,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int = 10,
    ids: Sequence[int] | None = None,
) -> list[QueuedPost]:
    """Queued rows whose time came (or `ids`, due or not) whose lease is free or expired,
    leased to `owner`."""
    free = or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now)
    chosen = outbox.c.next_attempt_at <= now if ids is None else outbox.c.id.in_(list(ids))
    due = (
        select(outbox.c.id)
        .where(outbox.c.state == QUEUED, chosen, free)
        .order_by(outbox.c.id)
        .limit(limit)
    )
    due = dialect.for_claim(conn.dialect.name, due)
    claimed = conn.execute(
        update(outbox)
        .where(outbox.c.id.in_(due.scalar_subquery()), free)
        .values(lease_owner=owner, lease_until=now + lease)
        .returning(*outbox.c)
    ).all()
    return sorted((_queued_post(row) for row in claimed), key=lambda p: p.id)


def renew_lease(conn: Connection, post_id: int, owner: str, until: datetime) -> bool:
    """False when the lease was lost (expired and taken over): the holder must stop."""
    result = conn.execute(
        update(outbox)
        .where(outbox.c.id == post_id, outbox.c.lease_owner == owner, outbox.c.state == QUEUED)
        .values(lease_until=until)
    )
    return result.rowcount == 1


def release_leases(conn: Connection) -> None:
    """SQLite has one process: at its start, leases left by a killed predecessor are void."""
    conn.execute(update(outbox).where(outbox.c.state == QUEUED).values(lease_until=None))
    conn.execute(update(feeds).where(feeds.c.lease_until.is_not(None)).values(lease_until=None))


def claim_due_feeds(conn: Connection, *, owner: str, now: datetime, lease: timedelta) -> list[int]:
    """Ids of the feeds due now that no other process is polling, leased to `owner`: with
    several processes each feed is polled by one. The poll moves `next_poll_at` on; the lease
    only covers the poll itself, and a dead poller's lease expires."""
    free = or_(feeds.c.lease_until.is_(None), feeds.c.lease_until < now)
    due = or_(feeds.c.next_poll_at.is_(None), feeds.c.next_poll_at <= now)
    chosen = select(feeds.c.id).where(due, free).order_by(feeds.c.id)
    chosen = dialect.for_claim(conn.dialect.name, chosen)
    claimed = conn.execute(
        update(feeds)
        .where(feeds.c.id.in_(chosen.scalar_subquery()), free)
        .values(lease_owner=owner, lease_until=now + lease)
        .returning(feeds.c.id)
    )
    return sorted(claimed.scalars())


def part_states(conn: Connection, post_id: int) -> dict[str, str]:
    rows = conn.execute(
        select(outbox_parts.c.part, outbox_parts.c.state).where(outbox_parts.c.outbox_id == post_id)
    )
    return {row.part: row.state for row in rows}


def mark_part(conn: Connection, post_id: int, part: str, state: str, now: datetime) -> None:
    changed = conn.execute(
        update(outbox_parts)
        .where(outbox_parts.c.outbox_id == post_id, outbox_parts.c.part == part)
        .values(state=state, updated_at=now)
    )
    if changed.rowcount == 0:
        conn.execute(
            outbox_parts.insert().values(outbox_id=post_id, part=part, state=state, updated_at=now)
        )


def finish(conn: Connection, post: QueuedPost, now: datetime) -> None:
    conn.execute(
        update(outbox)
        .where(outbox.c.id == post.id)
        .values(state=SENT, sent_at=now, lease_owner=None, lease_until=None, last_error=None)
    )
    if post.kind == "digest":
        _set_run(conn, post, state=SENT, updated_at=now, last_error=None)


def retry_later(
    conn: Connection, post: QueuedPost, error: str, next_attempt_at: datetime, now: datetime
) -> None:
    conn.execute(
        update(outbox)
        .where(outbox.c.id == post.id)
        .values(
            attempts=outbox.c.attempts + 1,
            last_error=error[:500],
            next_attempt_at=next_attempt_at,
            lease_owner=None,
            lease_until=None,
        )
    )
    if post.kind == "digest":
        # A digest the platform took part of is not failed: readers saw it; the rest follows.
        state = "pending" if ACCEPTED in part_states(conn, post.id).values() else "failed"
        _set_run(conn, post, state=state, updated_at=now, last_error=error[:500])


def disable_target(conn: Connection, target: str, reason: str, now: datetime) -> list[int]:
    """The channel is gone: its subscriptions disabled, its queued posts dead. Their ids."""
    ids = list(
        conn.execute(
            update(subscriptions)
            .where(subscriptions.c.target == target, subscriptions.c.disabled_reason.is_(None))
            .values(disabled_reason=reason[:500])
            .returning(subscriptions.c.id)
        ).scalars()
    )
    conn.execute(
        update(outbox)
        .where(outbox.c.target == target, outbox.c.state == QUEUED)
        .values(state=DEAD, last_error=reason[:500], lease_owner=None, lease_until=None)
    )
    conn.execute(
        update(digest_runs)
        .where(digest_runs.c.subscription_id.in_(ids), digest_runs.c.state != SENT)
        .values(state=DEAD, last_error=reason[:500], updated_at=now)
    )
    return ids


def _set_run(conn: Connection, post: QueuedPost, **values: Any) -> None:
    conn.execute(
        update(digest_runs)
        .where(
            and_(
                digest_runs.c.subscription_id == post.subscription_id,
                digest_runs.c.period_end == post.period_end,
            )
        )
        .values(attempts=digest_runs.c.attempts + 1, **values)
    )


def newest_article_id(conn: Connection) -> int:
    from bot.store.schema import articles

    return int(conn.execute(select(func.coalesce(func.max(articles.c.id), 0))).scalar_one())


def previous_run(conn: Connection, subscription_id: int) -> tuple[datetime | None, int | None]:
    """The subscription's last claimed period end and the newest article id it could see."""
    row = conn.execute(
        select(func.max(digest_runs.c.period_end), func.max(digest_runs.c.upto_id)).where(
            digest_runs.c.subscription_id == subscription_id
        )
    ).one()
    return row[0], row[1]


def pending_count(conn: Connection) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(outbox).where(outbox.c.state == QUEUED)
        ).scalar_one()
    )


def release_feeds(conn: Connection, owner: str, feed_ids: Sequence[int]) -> None:
    """The poll is written: the feeds are free again (their `next_poll_at` says when)."""
    conn.execute(
        update(feeds)
        .where(feeds.c.id.in_(list(feed_ids)), feeds.c.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )
