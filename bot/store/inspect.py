"""Look at a store without changing it: `chipwire check` creates nothing and migrates nothing.

An SQLite file that does not exist yet is reported as such (the file is not created); an
existing one is opened read-only. The schema revision is compared with the code's, and when the
two agree the sync plan says what `chipwire sync` would change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote, urlencode

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from bot.models import FeedConfig, SubscriptionConfig
from bot.settings import safe_url, sqlite_parts
from bot.store.errors import StoreError
from bot.store.failures import StoreFailure
from bot.store.failures import install as install_failures
from bot.store.migrate import HEAD_REVISION, current_revision
from bot.store.reconcile import SyncPlan, plan_sync
from bot.store.repo import Store, create_engine
from bot.store.schema import articles, feeds

SQLITE_PREFIX = "sqlite+aiosqlite:///"


@dataclass(frozen=True)
class StoreReport:
    url: str  # printable (password hidden)
    dialect: str
    exists: bool
    revision: str | None = None
    feeds: int = 0
    failing_feeds: int = 0
    articles: int = 0
    plan: SyncPlan | None = None  # None when the schema is not current (sync migrates first)
    not_writable: str | None = None  # why the bot could not write, when it could not

    @property
    def current(self) -> bool:
        return self.revision == HEAD_REVISION


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL; None for other stores and for in-memory SQLite."""
    if not url.startswith(SQLITE_PREFIX):
        return None
    rest = url[len(SQLITE_PREFIX) :].split("?", 1)[0]
    return None if rest in ("", ":memory:") else Path(rest).expanduser()


async def inspect_store(
    url: str,
    configured_feeds: Sequence[FeedConfig],
    configured_subscriptions: Sequence[SubscriptionConfig],
) -> StoreReport:
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return StoreReport(safe_url(url), "sqlite", exists=False)
    engine = create_async_engine(_read_only_url(url, path))
    install_failures(engine, url)
    try:
        async with engine.connect() as conn:
            report = await conn.run_sync(
                _report, safe_url(url), configured_feeds, configured_subscriptions
            )
            await conn.rollback()
    except StoreFailure:
        raise
    except (SQLAlchemyError, OSError) as exc:
        raise StoreError(f"cannot open the store at {safe_url(url)}: {_first_line(exc)}") from exc
    finally:
        await engine.dispose()
    if not report.current:
        return report
    return replace(report, not_writable=await write_problem(url))


async def write_problem(url: str) -> str | None:
    """Why the bot could not write to this (current) store, or None (see Store.probe_write)."""
    store = Store(create_engine(url))
    try:
        await store.probe_write()
    except StoreFailure as exc:
        return exc.detail
    finally:
        await store.close()
    return None


def _read_only_url(url: str, path: Path | None) -> str:
    if path is None:
        return url
    _, options = sqlite_parts(url)
    options.pop("timeout", None)
    query = urlencode(options | {"mode": "ro"})
    return f"{SQLITE_PREFIX}file:{quote(str(path.resolve()))}?{query}&uri=true"


def _report(
    conn: Connection,
    url: str,
    configured_feeds: Sequence[FeedConfig],
    configured_subscriptions: Sequence[SubscriptionConfig],
) -> StoreReport:
    revision = current_revision(conn)
    dialect = conn.dialect.name
    if revision != HEAD_REVISION:
        return StoreReport(url, dialect, exists=revision is not None, revision=revision)
    stored = list(conn.execute(select(feeds.c.consecutive_failures)))
    count = int(conn.execute(select(func.count()).select_from(articles)).scalar_one())
    return StoreReport(
        url,
        dialect,
        exists=True,
        revision=revision,
        feeds=len(stored),
        failing_feeds=sum(1 for row in stored if row.consecutive_failures),
        articles=count,
        plan=plan_sync(conn, configured_feeds, configured_subscriptions),
    )


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
