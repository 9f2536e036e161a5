"""Tables, as SQLAlchemy 2 Core. Alembic migrations create them; this module describes them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from bot.store.dialect import stored_time


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so store and read UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware one")
        value = value.astimezone(UTC)
        return stored_time(dialect.name, value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("language", String(16)),
    Column("interval", Integer, nullable=False),
    Column("allow_private_address", Boolean, nullable=False, default=False),
    Column("origin", String(16), nullable=False),  # config | cli | chat
    Column("etag", Text),
    Column("last_modified", Text),
    Column("body_hash", String(64)),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("last_polled_at", UTCDateTime()),
    Column("last_success_at", UTCDateTime()),
    Column("next_poll_at", UTCDateTime()),
    Column("first_polled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("lease_owner", String(64)),  # the process polling it now (several processes share)
    Column("lease_until", UTCDateTime()),
    Column("fetch_url", Text),  # where a 301/308 moved it; `url` stays its identity
    Column("last_entries", Integer),  # entries in the last document parsed
    Column("paused", Boolean, nullable=False, default=False),  # kept and listed, not polled
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("guid", Text),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("published_at", UTCDateTime(), nullable=False),
    Column("first_seen_at", UTCDateTime(), nullable=False),
    Column("language", String(16)),
    Column("author", Text),
    Column("source", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
    # stored when a feed is first added: searchable, never posted as new
    Column("is_history", Boolean, nullable=False, default=False),
    Column("relevant", Boolean),
    Column("score", Float),
    Column("companies", Text),  # JSON array of company ids
    Column("why", Text),  # JSON array of fired rules
    Column("story_key", Text),  # set after the poll that stored it (see pipeline.assign_stories)
    # NULL: the feed's own item; else a relayed item's publisher home page ("" if not given)
    Column("publisher_url", Text),
    Column("mentions", Text),  # JSON object: company id → "about" | "mentioned" (0009)
    Index("ix_articles_content_hash", "content_hash"),
    Index("ix_articles_published_at", "published_at"),
    Index("ix_articles_first_seen_at", "first_seen_at"),
    Index("ix_articles_story_key", "story_key"),
)

article_sources = Table(
    "article_sources",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("guid", Text),
    Column("seen_at", UTCDateTime(), nullable=False),
    Column("publisher", Text),  # the publisher the feed named for it; NULL: the feed's own
    UniqueConstraint("article_id", "feed_id", name="uq_article_sources_article_feed"),
    Index("ix_article_sources_feed_guid", "feed_id", "guid"),
)


article_companies = Table(
    # One row per company an article names, clustered by (company, time): company cards, counts
    # and trend charts read an index range instead of every article's JSON. Kept by the writes
    # that set `articles.companies` (bot/store/mentions.py).
    "article_companies",
    metadata,
    Column("company_id", String(64), nullable=False),
    Column("published_at", UTCDateTime(), nullable=False),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("relevant", Boolean),
    Column("score", Float),
    PrimaryKeyConstraint("company_id", "published_at", "article_id"),
    Index("ix_article_companies_article", "article_id"),
    sqlite_with_rowid=False,
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "target", Text, nullable=False
    ),  # "console", "discord:<channel id>", "slack:<channel id>"
    Column("companies", Text, nullable=False),  # JSON array; empty = all
    Column("languages", Text, nullable=False),  # JSON array; empty = all
    Column("min_relevance", Float, nullable=False),
    Column("schedule", Text, nullable=False),  # crontab, 5 fields
    Column("timezone", Text, nullable=False),  # IANA name
    Column("empty_note", Boolean, nullable=False),  # say "nothing new" rather than stay silent
    Column("live_alerts", Boolean, nullable=False),
    Column("alert_threshold", Float, nullable=False),
    Column("alerts_per_hour", Integer, nullable=False),
    Column("top_stories", Integer),  # NULL: [digest] top_stories
    Column("per_company", Integer),  # NULL: [digest] per_company
    Column("origin", String(16), nullable=False),  # config | chat | cli
    Column("created_at", UTCDateTime(), nullable=False),
    Column("disabled_reason", Text),  # set when the channel is gone; nothing is queued for it
    UniqueConstraint("target", name="uq_subscriptions_target"),
)

# One row per (subscription, period): the claim that makes a digest go out at most once.
digest_runs = Table(
    "digest_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "subscription_id",
        Integer,
        ForeignKey("subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("period_end", UTCDateTime(), nullable=False),
    Column("state", String(16), nullable=False),  # pending | sent | failed
    Column("stories", Integer, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("upto_id", Integer),  # the newest article id the period could see (ingest sequence)
    UniqueConstraint("subscription_id", "period_end", name="uq_digest_runs_period"),
)

# What each target has been shown, so no story reaches a channel twice.
deliveries = Table(
    "deliveries",
    metadata,
    Column("target", Text, nullable=False),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("story_key", Text, nullable=False),
    Column("delivered_at", UTCDateTime(), nullable=False),
    UniqueConstraint("target", "article_id", name="uq_deliveries_target_article"),
)

# Live alerts sent, for the hourly cap and so one story is never alerted twice.
alerts = Table(
    "alerts",
    metadata,
    Column(
        "subscription_id",
        Integer,
        ForeignKey("subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("story_key", Text, nullable=False),
    Column("sent_at", UTCDateTime(), nullable=False),
    UniqueConstraint("subscription_id", "story_key", name="uq_alerts_story"),
)

# The delivery queue (outbox): one row per message-to-be (a digest period or an alert story for
# one target), written before anything is posted. A process claims a row with a lease; the row
# names every article it carries (reserved in `deliveries` when it is queued), so what is posted
# after a crash is rebuilt from the same articles.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),  # digest | alert
    Column(
        "subscription_id",
        Integer,
        ForeignKey("subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("target", Text, nullable=False),
    Column("delivery_key", String(25), nullable=False),  # the nonce; Slack metadata carries it
    Column("period_start", UTCDateTime(), nullable=False),
    Column("period_end", UTCDateTime(), nullable=False),
    Column("story_key", Text),  # alerts
    Column("article_ids", Text, nullable=False),  # JSON array
    # a digest's relevant stories beyond its caps, told to the reader as "N more"
    Column("left_out", Integer, nullable=False, default=0, server_default="0"),
    Column("state", String(16), nullable=False),  # queued | sent | dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", UTCDateTime()),
    Column("last_error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime()),
    UniqueConstraint("target", "delivery_key", name="uq_outbox_target_key"),
    Index("ix_outbox_due", "state", "next_attempt_at"),
)

# Each part of an outbox row: "intended" is written before the platform is called, "accepted"
# after it answered; a part left "intended" by a crash is in doubt and resolved before a resend.
outbox_parts = Table(
    "outbox_parts",
    metadata,
    Column("outbox_id", Integer, ForeignKey("outbox.id", ondelete="CASCADE"), nullable=False),
    Column("part", String(16), nullable=False),  # "0", "1", ... or "chart"
    Column("state", String(16), nullable=False),  # intended | accepted
    Column("updated_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("outbox_id", "part"),
)
