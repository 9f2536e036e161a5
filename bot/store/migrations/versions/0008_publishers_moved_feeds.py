"""Publishers of aggregator items, moved feeds kept as one, and the size of the last document.

- `articles.publisher_url`: NULL for a feed's own item; for an item a feed relays from another
  publisher (Google News, Bing News), that publisher's home page ("" when the feed gave none).
- `article_sources.publisher`: the publisher a link's feed named for the item (NULL: the feed's
  own), so two aggregator queries carrying one item count one source, not two.
- `feeds.fetch_url`: where a 301/308 moved the feed; `url` stays the config's URL (its identity).
- `feeds.last_entries`: entries in the last document parsed, so an empty feed is told at once.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("publisher_url", sa.Text))
    with op.batch_alter_table("article_sources") as batch:
        batch.add_column(sa.Column("publisher", sa.Text))
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("fetch_url", sa.Text))
        batch.add_column(sa.Column("last_entries", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("last_entries")
        batch.drop_column("fetch_url")
    with op.batch_alter_table("article_sources") as batch:
        batch.drop_column("publisher")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("publisher_url")
