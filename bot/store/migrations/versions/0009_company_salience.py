"""Every company an article names, with its salience: `articles.mentions`.

`companies` keeps the subjects (what company cards, `latest`, digests, trends and share count,
through `article_companies`); `mentions` is a JSON object, company id → "about" or "mentioned",
for search and `why`. Articles stored before are NULL until `chipwire reclassify`: their
companies read as subjects.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("mentions", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("mentions")
