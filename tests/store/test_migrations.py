"""Alembic migrations build exactly the tables that `schema.py` describes."""

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from bot.store.repo import Store
from bot.store.schema import metadata


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection)
    diffs = compare_metadata(context, metadata)
    return [d for d in diffs if not _search_machinery(d)]


def _search_machinery(diff: Any) -> bool:
    """FTS5 tables (SQLite) and the tsvector column (PostgreSQL) stay outside the metadata."""
    kind = diff[0]
    if kind == "remove_table":
        return str(diff[1].name).startswith("articles_fts")
    if kind == "remove_index":
        return str(diff[1].name) == "ix_articles_search"
    if kind == "remove_column":
        return str(diff[3].name) == "search"
    return False


async def test_migrated_database_matches_the_schema(store: Store) -> None:
    async with store.engine.connect() as conn:
        assert await conn.run_sync(_differences) == []


async def test_migrating_twice_changes_nothing(store: Store) -> None:
    async with store.engine.connect() as conn:
        before = await conn.run_sync(lambda c: sorted(inspect(c).get_table_names()))
    again = await Store.open(store.engine.url.render_as_string(hide_password=False))
    await again.close()
    async with store.engine.connect() as conn:
        after = await conn.run_sync(lambda c: sorted(inspect(c).get_table_names()))
    assert before == after
    assert "alembic_version" in after


def test_the_known_head_revision_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    from bot.store.migrate import HEAD_REVISION, alembic_config

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION


async def test_processes_starting_together_on_an_empty_postgresql_migrate_once() -> None:
    import asyncio

    import pytest

    from tests.support import fresh_postgres_url, postgres_available

    reason = await postgres_available()
    if reason:
        pytest.skip(reason)
    async with fresh_postgres_url() as url:
        starting = asyncio.gather(*(Store.open(url) for _ in range(3)))  # one migrates
        opened = await asyncio.wait_for(starting, 60)  # unlocked, they deadlock or fail
        for store in opened:
            await store.close()
