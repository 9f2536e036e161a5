"""Articles remember their story, assigned after each poll, so a digest only groups.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("story_key", sa.Text))
    op.create_index("ix_articles_story_key", "articles", ["story_key"])


def downgrade() -> None:
    op.drop_index("ix_articles_story_key", "articles")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("story_key")
