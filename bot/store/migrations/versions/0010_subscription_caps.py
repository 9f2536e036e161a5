"""A subscription's own digest caps, and how many stories a queued digest left out.

- `subscriptions.top_stories`, `subscriptions.per_company`: NULL follows `[digest] top_stories`
  and `per_company`; a number overrides them for that subscription.
- `outbox.left_out`: relevant stories of the period beyond the caps, shown as "N more".

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("top_stories", sa.Integer))
        batch.add_column(sa.Column("per_company", sa.Integer))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("left_out", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("left_out")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("per_company")
        batch.drop_column("top_stories")
