"""Subscriptions, digest runs (one per subscription and period), deliveries (one per target
and article) and live alerts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("companies", sa.Text, nullable=False),
        sa.Column("languages", sa.Text, nullable=False),
        sa.Column("min_relevance", sa.Float, nullable=False),
        sa.Column("schedule", sa.Text, nullable=False),
        sa.Column("timezone", sa.Text, nullable=False),
        sa.Column("empty_note", sa.Boolean, nullable=False),
        sa.Column("live_alerts", sa.Boolean, nullable=False),
        sa.Column("alert_threshold", sa.Float, nullable=False),
        sa.Column("alerts_per_hour", sa.Integer, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("target", name="uq_subscriptions_target"),
    )
    op.create_table(
        "digest_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "subscription_id",
            sa.Integer,
            sa.ForeignKey("subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("period_end", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("stories", sa.Integer, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("subscription_id", "period_end", name="uq_digest_runs_period"),
    )
    op.create_table(
        "deliveries",
        sa.Column("target", sa.Text, nullable=False),
        sa.Column(
            "article_id",
            sa.Integer,
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("story_key", sa.Text, nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("target", "article_id", name="uq_deliveries_target_article"),
    )
    op.create_table(
        "alerts",
        sa.Column(
            "subscription_id",
            sa.Integer,
            sa.ForeignKey("subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("story_key", sa.Text, nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("subscription_id", "story_key", name="uq_alerts_story"),
    )
    op.create_index("ix_articles_first_seen_at", "articles", ["first_seen_at"])


def downgrade() -> None:
    op.drop_index("ix_articles_first_seen_at", "articles")
    op.drop_table("alerts")
    op.drop_table("deliveries")
    op.drop_table("digest_runs")
    op.drop_table("subscriptions")
