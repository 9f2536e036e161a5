"""Company mentions in their own table, clustered by (company, published time).

Company cards and trend charts counted mentions with `companies LIKE '%"id"%'` over every
article in the window: 340 ms at a million articles. An index range over this table answers
in a few milliseconds. Existing articles are copied in.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COLUMNS = "company_id, published_at, article_id, relevant, score"
_SQLITE_COPY = (
    f"INSERT OR IGNORE INTO article_companies ({_COLUMNS}) "
    "SELECT j.value, a.published_at, a.id, a.relevant, a.score "
    "FROM articles a, json_each(a.companies) j WHERE a.companies IS NOT NULL"
)
_POSTGRESQL_COPY = (
    f"INSERT INTO article_companies ({_COLUMNS}) "
    "SELECT DISTINCT c.value, a.published_at, a.id, a.relevant, a.score "
    "FROM articles a CROSS JOIN LATERAL jsonb_array_elements_text(a.companies::jsonb) AS c(value) "
    "WHERE a.companies IS NOT NULL"
)


def upgrade() -> None:
    op.create_table(
        "article_companies",
        sa.Column("company_id", sa.String(64), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.Column(
            "article_id",
            sa.Integer,
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("relevant", sa.Boolean),
        sa.Column("score", sa.Float),
        sa.PrimaryKeyConstraint("company_id", "published_at", "article_id"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_article_companies_article", "article_companies", ["article_id"])
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.execute(_SQLITE_COPY if sqlite else _POSTGRESQL_COPY)


def downgrade() -> None:
    op.drop_index("ix_article_companies_article", "article_companies")
    op.drop_table("article_companies")
