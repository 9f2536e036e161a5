"""The delivery queue: every post written as intended before it is sent.

`outbox` holds one row per message-to-be with its articles and a lease; `outbox_parts` records
each part as intended, then accepted, so a restart knows what is in doubt. Subscriptions can be
disabled (channel gone), digest runs remember the newest article id they could see, and feeds
carry a poll lease so that several processes never poll one feed at once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column(
            "subscription_id",
            sa.Integer,
            sa.ForeignKey("subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("delivery_key", sa.String(25), nullable=False),
        sa.Column("period_start", UTCDateTime(), nullable=False),
        sa.Column("period_end", UTCDateTime(), nullable=False),
        sa.Column("story_key", sa.Text),
        sa.Column("article_ids", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", UTCDateTime()),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime()),
        sa.UniqueConstraint("target", "delivery_key", name="uq_outbox_target_key"),
    )
    op.create_index("ix_outbox_due", "outbox", ["state", "next_attempt_at"])
    op.create_table(
        "outbox_parts",
        sa.Column(
            "outbox_id",
            sa.Integer,
            sa.ForeignKey("outbox.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("part", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("outbox_id", "part"),
    )
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("disabled_reason", sa.Text))
    with op.batch_alter_table("digest_runs") as batch:
        batch.add_column(sa.Column("upto_id", sa.Integer))
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(64)))
        batch.add_column(sa.Column("lease_until", UTCDateTime()))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
    with op.batch_alter_table("digest_runs") as batch:
        batch.drop_column("upto_id")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("disabled_reason")
    op.drop_table("outbox_parts")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_table("outbox")
