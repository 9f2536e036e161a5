"""The config file is the truth for what it declares: plan and apply the changes that make the
store's config-owned feeds and subscriptions match the file.

A feed is matched on its config URL (the file's `url`, which stays its identity even when the
feed has moved); a subscription on its target. Feeds and subscriptions made from the CLI or chat
are never touched. A config-owned feed the file no longer names is removed with its source
links, its articles kept; a config-owned subscription the file no longer names is removed (its
digest runs and alerts go with it; what its target was shown stays recorded).

`plan_sync` only reads, so `chipwire check` can say what `chipwire sync` would change.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from bot.models import FeedConfig, SubscriptionConfig
from bot.store.digests import subscription_values
from bot.store.schema import article_sources, feeds
from bot.store.schema import subscriptions as subs

CONFIG = "config"
MAX_SYNC_LINES = 10  # a first start may add a thousand feeds: the start says how many, not each


@dataclass(frozen=True)
class StoredThing:
    """A stored feed or subscription the plan changes or removes."""

    id: int
    label: str  # feed: its name and URL; subscription: its target


@dataclass(frozen=True)
class SyncPlan:
    add_feeds: tuple[FeedConfig, ...] = ()
    change_feeds: tuple[tuple[StoredThing, FeedConfig], ...] = ()
    remove_feeds: tuple[StoredThing, ...] = ()
    add_subscriptions: tuple[SubscriptionConfig, ...] = ()
    change_subscriptions: tuple[tuple[StoredThing, SubscriptionConfig], ...] = ()
    remove_subscriptions: tuple[StoredThing, ...] = ()
    # configured things the store already has as chat's or the CLI's: left to their owner
    not_owned: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (
            self.add_feeds
            or self.change_feeds
            or self.remove_feeds
            or self.add_subscriptions
            or self.change_subscriptions
            or self.remove_subscriptions
        )

    def lines(self) -> list[str]:
        """One line per change, in the words `sync` and `check` print."""
        found = [f"add feed {f.name} <{f.url}>" for f in self.add_feeds]
        found += [f"update feed {t.id}: {t.label}" for t, _ in self.change_feeds]
        found += [f"remove feed {t.id}: {t.label} (its articles stay)" for t in self.remove_feeds]
        found += [f"add subscription for {s.target}" for s in self.add_subscriptions]
        found += [f"update subscription {t.id} for {t.label}" for t, _ in self.change_subscriptions]
        found += [
            f"remove subscription {t.id} for {t.label} (no longer in the config file)"
            for t in self.remove_subscriptions
        ]
        return found

    def report(self) -> list[str]:
        """What a start or a poll says after syncing: nothing when nothing changed."""
        if self.empty:
            return []
        changes = self.lines()
        shown = [f"  {line}" for line in changes[:MAX_SYNC_LINES]]
        if len(changes) > MAX_SYNC_LINES:
            shown.append(f"  and {len(changes) - MAX_SYNC_LINES} more ('chipwire feeds list')")
        return [f"config synced: {self.summary()}", *shown]

    def summary(self) -> str:
        parts = [
            (len(self.add_feeds), "feeds added"),
            (len(self.change_feeds), "feeds updated"),
            (len(self.remove_feeds), "feeds removed"),
            (len(self.add_subscriptions), "subscriptions added"),
            (len(self.change_subscriptions), "subscriptions updated"),
            (len(self.remove_subscriptions), "subscriptions removed"),
        ]
        said = [f"{count} {what}" for count, what in parts if count]
        return ", ".join(said) if said else "nothing to change"


def plan_sync(
    conn: Connection,
    configured_feeds: Sequence[FeedConfig] | None,
    configured_subscriptions: Sequence[SubscriptionConfig] | None,
) -> SyncPlan:
    """What makes the store match the file; None leaves that kind of thing alone."""
    stored_feeds = {} if configured_feeds is None else _by(conn, feeds, "url")
    stored_subs = {} if configured_subscriptions is None else _by(conn, subs, "target")
    configured_feeds = configured_feeds or ()
    configured_subscriptions = configured_subscriptions or ()
    feed_urls = {f.url for f in configured_feeds}
    targets = {s.target for s in configured_subscriptions}
    not_owned = [
        f"feed {row.id} <{row.url}> ({row.origin}'s)"
        for f in configured_feeds
        if (row := stored_feeds.get(f.url)) is not None and row.origin != CONFIG
    ]
    not_owned += [
        f"subscription {row.id} for {row.target} ({row.origin}'s)"
        for s in configured_subscriptions
        if (row := stored_subs.get(s.target)) is not None and row.origin != CONFIG
    ]
    return SyncPlan(
        add_feeds=tuple(f for f in configured_feeds if f.url not in stored_feeds),
        change_feeds=tuple(
            (_feed_thing(row), f)
            for f in configured_feeds
            if (row := stored_feeds.get(f.url)) is not None
            and row.origin == CONFIG
            and _differs(row, feed_settings(f))
        ),
        remove_feeds=tuple(
            _feed_thing(row)
            for url, row in stored_feeds.items()
            if row.origin == CONFIG and url not in feed_urls
        ),
        add_subscriptions=tuple(s for s in configured_subscriptions if s.target not in stored_subs),
        change_subscriptions=tuple(
            (StoredThing(row.id, row.target), s)
            for s in configured_subscriptions
            if (row := stored_subs.get(s.target)) is not None
            and row.origin == CONFIG
            and _differs(row, subscription_values(s))
        ),
        remove_subscriptions=tuple(
            StoredThing(row.id, target)
            for target, row in stored_subs.items()
            if row.origin == CONFIG and target not in targets
        ),
        not_owned=tuple(not_owned),
    )


def apply_sync(conn: Connection, plan: SyncPlan, now: datetime) -> None:
    if plan.add_feeds:  # one statement: a first start may bring a thousand feeds
        conn.execute(feeds.insert(), [new_feed_values(f, CONFIG, now) for f in plan.add_feeds])
    for thing, feed in plan.change_feeds:
        conn.execute(update(feeds).where(feeds.c.id == thing.id).values(**feed_settings(feed)))
    removed = [thing.id for thing in plan.remove_feeds]
    if removed:
        conn.execute(article_sources.delete().where(article_sources.c.feed_id.in_(removed)))
        conn.execute(feeds.delete().where(feeds.c.id.in_(removed)))
    for config in plan.add_subscriptions:
        values = subscription_values(config) | {"origin": CONFIG, "created_at": now}
        conn.execute(subs.insert().values(values))
    for thing, config in plan.change_subscriptions:
        conn.execute(update(subs).where(subs.c.id == thing.id).values(subscription_values(config)))
    gone = [thing.id for thing in plan.remove_subscriptions]
    if gone:
        conn.execute(subs.delete().where(subs.c.id.in_(gone)))


def sync_config(
    conn: Connection,
    configured_feeds: Sequence[FeedConfig] | None,
    configured_subscriptions: Sequence[SubscriptionConfig] | None,
    now: datetime,
) -> SyncPlan:
    plan = plan_sync(conn, configured_feeds, configured_subscriptions)
    apply_sync(conn, plan, now)
    return plan


def new_feed_values(feed: FeedConfig, origin: str, now: datetime) -> dict[str, Any]:
    return feed_settings(feed) | {
        "url": feed.url,
        "origin": origin,
        "consecutive_failures": 0,
        "first_polled": False,
        "created_at": now,
    }


def feed_settings(feed: FeedConfig) -> dict[str, Any]:
    return {
        "name": feed.name,
        "language": feed.language,
        "interval": feed.interval,
        "allow_private_address": feed.allow_private_address,
    }


def _by(conn: Connection, table: Any, key: str) -> dict[Any, Any]:
    return {row._mapping[key]: row for row in conn.execute(select(table))}


def _feed_thing(row: Any) -> StoredThing:
    return StoredThing(row.id, f"{row.name} <{row.url}>")


def _differs(row: Any, values: dict[str, Any]) -> bool:
    mapping = row._mapping
    return any(_normal(mapping[key]) != _normal(value) for key, value in values.items())


def _normal(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
