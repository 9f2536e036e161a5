"""Bring a database to the newest schema with Alembic, from inside the bot."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import dialect

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPT_LOCATION = "bot.store:migrations"
# The newest revision in migrations/versions; a test keeps it equal to Alembic's head. Knowing it
# lets start-up skip importing Alembic (a fifth of start-up time) when nothing is to be done.
HEAD_REVISION = "0011"


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def current_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _upgrade(connection: Connection) -> None:
    if current_revision(connection) == HEAD_REVISION:
        return
    from alembic import command

    command.upgrade(alembic_config(connection), "head")


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Several processes starting on one PostgreSQL database migrate one at a time: the first
    takes the advisory lock (held until its transaction ends), the others wait, then find the
    schema at head. SQLite has one process (the store's lock file) and a database-wide lock."""
    async with engine.begin() as connection:
        lock = dialect.migration_lock(connection.dialect.name)
        if lock is not None:
            await connection.execute(lock)
        await connection.run_sync(_upgrade)
