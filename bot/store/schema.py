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
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


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
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

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
    Index("ix_articles_content_hash", "content_hash"),
    Index("ix_articles_published_at", "published_at"),
)

article_sources = Table(
    "article_sources",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("guid", Text),
    Column("seen_at", UTCDateTime(), nullable=False),
    UniqueConstraint("article_id", "feed_id", name="uq_article_sources_article_feed"),
    Index("ix_article_sources_feed_guid", "feed_id", "guid"),
)
