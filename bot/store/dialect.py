"""Every way SQLite and PostgreSQL differ for the store, in one file.

The topic modules write one query where both databases read it alike and ask this module where
they do not. What differs, and why:

| what | SQLite | PostgreSQL |
| --- | --- | --- |
| opening | a URI for options, WAL, foreign keys on | pool with pre-ping |
| writers | one process, one writer: `Store` queues writes in-process, and every lease found at start is a dead predecessor's | several processes: leases and row locks decide |
| times | kept as naive UTC text | `timestamptz` |
| batch inserts | plain values bound with one `executemany` (per-row processing cost more than SQLite's own work) | Core with `RETURNING`, which also tells which rows another process stored first |
| upserts | `sqlite.insert(…).on_conflict_do_nothing` | `postgresql.insert(…).on_conflict_do_nothing` |
| a UTC day of a time | the text's first ten characters | `to_char(timezone('UTC', t), 'YYYY-MM-DD')` |
| thousands of ids as one bound value | a JSON array read by `json_each` | an integer array read by `unnest` |
| company mentions copied from articles | `json_each`, `INSERT OR IGNORE` | `jsonb_array_elements_text`, `DISTINCT` |
| claiming rows (leases) | the one writer needs no row lock | `FOR UPDATE SKIP LOCKED` |
| migrations | one process (the store's lock file), a database-wide lock | `pg_advisory_xact_lock`, one process at a time |
| full-text search, CJK pairs | FTS5 tables read newest-stored first (`search.newest_matches_sqlite`) | the `search` tsvector (`search.newest_matches_postgresql`) |
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import (
    ARRAY,
    Connection,
    Integer,
    bindparam,
    event,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import TextClause

from bot.settings import sqlite_parts

SQLITE, POSTGRESQL = "sqlite", "postgresql"


def create_engine(url: str) -> AsyncEngine:
    if not url.startswith(SQLITE):
        return create_async_engine(url, pool_pre_ping=True)
    path, options = sqlite_parts(url)
    timeout = float(options.pop("timeout", 30))
    target = url.split("?", 1)[0]
    if options:  # SQLite honours these only in its URI form
        absolute = quote(str(Path(path).expanduser().resolve()))
        target = f"sqlite+aiosqlite:///file:{absolute}?{urlencode(options)}&uri=true"
    engine = create_async_engine(target, connect_args={"timeout": timeout})
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def one_writer(name: str) -> bool:
    """One process writes, through one connection at a time: queue writes in the process
    (beats SQLITE_BUSY when a read turns into a write), and void every lease at start."""
    return name == SQLITE


def stored_time(name: str, utc: datetime) -> datetime:
    """An aware UTC time as the column takes it: SQLite keeps no zone."""
    return utc.replace(tzinfo=None) if name == SQLITE else utc


def binds_plain_values(name: str) -> bool:
    """Whether the poll writer takes the executemany path (times bound as text) over Core."""
    return name == SQLITE


def insert(name: str, table: Any) -> Any:
    """An INSERT that can say ON CONFLICT DO NOTHING."""
    return (postgresql if name == POSTGRESQL else sqlite).insert(table)


def utc_day(name: str, column: Any) -> Any:
    """The UTC day "YYYY-MM-DD" of a time column."""
    if name == SQLITE:  # stored as naive UTC text, "YYYY-MM-DD HH:MM:SS.ffffff"
        return func.substr(column, 1, 10)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")


def id_list(name: str, ids: Sequence[int]) -> Any:
    """Thousands of ids as one bound value, for `column.in_(...)`."""
    if name == SQLITE:
        return select(literal_column("value")).select_from(
            func.json_each(bindparam("ids", json.dumps(list(ids))))
        )
    return select(func.unnest(bindparam("ids", list(ids), type_=ARRAY(Integer))))


_MENTION_COLUMNS = "company_id, published_at, article_id, relevant, score"
MENTIONS_COPY = {
    SQLITE: (
        f"INSERT OR IGNORE INTO article_companies ({_MENTION_COLUMNS}) "
        "SELECT j.value, a.published_at, a.id, a.relevant, a.score "
        "FROM articles a, json_each(a.companies) j "
    ),
    POSTGRESQL: (
        f"INSERT INTO article_companies ({_MENTION_COLUMNS}) "
        "SELECT DISTINCT c.value, a.published_at, a.id, a.relevant, a.score "
        "FROM articles a CROSS JOIN LATERAL "
        "jsonb_array_elements_text(a.companies::jsonb) AS c(value) "
    ),
}


def mentions_copy(name: str) -> str:
    """The start of an INSERT … SELECT copying articles' companies to `article_companies`;
    the caller adds its WHERE."""
    return MENTIONS_COPY[SQLITE if name == SQLITE else POSTGRESQL]


def for_claim(name: str, query: Select[Any]) -> Select[Any]:
    """Rows chosen to be leased: on PostgreSQL locked, and skipped when another process holds
    them, so two claims never take one row."""
    return query.with_for_update(skip_locked=True) if name == POSTGRESQL else query


MIGRATION_LOCK = 0x43485057  # "CHPW": one advisory lock id for every ChipWire database


def migration_lock(name: str) -> TextClause | None:
    """What makes processes migrating one database wait for each other, held until the
    transaction ends; None where the store's lock file already does."""
    if name != POSTGRESQL:
        return None
    return text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=MIGRATION_LOCK)


def newest_matches(
    conn: Connection,
    terms: Sequence[str],
    *,
    limit: int,
    company: str | None = None,
    since: datetime | None = None,
) -> list[Any]:
    """Article rows matching every term, newest published first (bot/store/search.py)."""
    from bot.store import search  # search reads the schema, which reads this module

    find = (
        search.newest_matches_postgresql
        if conn.dialect.name == POSTGRESQL
        else search.newest_matches_sqlite
    )
    return find(conn, terms, limit=limit, company=company, since=since)
