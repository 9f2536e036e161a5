"""Keeps `article_companies` (one row per company an article names) in step with
`articles.companies`, `relevant`, `score` and `published_at`.

Rows are copied from the articles table by one INSERT … SELECT per write batch, as the
full-text index is (migration 0002 says why a per-row trigger is slower), so every path that
writes those columns calls one of these inside its transaction. Deletes cascade.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import dialect

_CHUNK = 5_000


async def index_new_sqlite(conn: AsyncConnection, after_id: int) -> None:
    """SQLite: the mentions of every article stored with an id above `after_id`."""
    await conn.exec_driver_sql(
        dialect.mentions_copy(dialect.SQLITE) + "WHERE a.id > ?", (after_id,)
    )


async def reindex(conn: AsyncConnection, name: str, article_ids: Sequence[int]) -> None:
    """Replace the mentions of these articles with what their rows say now."""
    unique = sorted(set(article_ids))
    delete = text("DELETE FROM article_companies WHERE article_id IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )
    copy = dialect.mentions_copy(name) + "WHERE a.id IN :ids"
    insert = text(copy).bindparams(bindparam("ids", expanding=True))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        await conn.execute(delete, {"ids": chunk})
        await conn.execute(insert, {"ids": chunk})


async def index_new(conn: AsyncConnection, article_ids: Sequence[int]) -> None:
    """PostgreSQL: the mentions of newly inserted articles (nothing to delete first)."""
    insert = text(
        dialect.mentions_copy(dialect.POSTGRESQL) + "WHERE a.id IN :ids ON CONFLICT DO NOTHING"
    ).bindparams(bindparam("ids", expanding=True))
    unique = sorted(set(article_ids))
    for start in range(0, len(unique), _CHUNK):
        await conn.execute(insert, {"ids": unique[start : start + _CHUNK]})
