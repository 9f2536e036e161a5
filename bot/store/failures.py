"""Store failures classified once, where the database driver raises them.

Every engine the bot makes gets `install`: a database error that means the store cannot be used
(unreachable, unwritable, corrupt, locked by another process) leaves SQLAlchemy as a
`StoreFailure` with a message that says what to do; other errors (a constraint, a bug) are left
as they are. The CLI prints the message and exits 3; `/healthz` answers 503 with the reason.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import safe_url
from bot.store.errors import StoreError

UNREACHABLE, UNWRITABLE, CORRUPT, LOCKED = "unreachable", "unwritable", "corrupt", "locked"

# Lower-case fragments of driver messages (sqlite3, asyncpg), in the order they are tried.
_SIGNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (CORRUPT, ("malformed", "file is not a database", "not a database", "disk image")),
    (LOCKED, ("database is locked", "database table is locked")),
    (
        UNWRITABLE,
        (
            "readonly database",
            "read-only",
            "read only",
            "permission denied",
            "must be owner",
            "disk full",
            "database or disk is full",
            "no space left",
        ),
    ),
    (
        UNREACHABLE,
        (
            "unable to open database file",
            "connection refused",
            "connect call failed",
            "could not connect",
            "name or service not known",
            "temporary failure in name resolution",
            "timeout",
            "timed out",
            "connection was closed",
            "connection is closed",
            "terminating connection",
            "password authentication failed",
            "no pg_hba.conf entry",
        ),
    ),
)

_ADVICE = {
    UNREACHABLE: "check --database-url / CHIPWIRE_DATABASE_URL, that the database server runs "
    "and that the file or database exists",
    UNWRITABLE: "the bot can read the store but not write it: check the file's and its "
    "folder's permissions, free disk space, a read-only URL option (mode=ro) or the "
    "database role's privileges",
    CORRUPT: "the file is not a usable SQLite database: restore it from a backup or move it "
    "away and let 'chipwire sync' start a new one",
    LOCKED: "another process holds the store: stop the other 'chipwire run' or 'poll', or "
    "point --database-url elsewhere",
}


class StoreFailure(StoreError):
    """The store cannot be used; `kind` is one of unreachable, unwritable, corrupt, locked."""

    def __init__(self, kind: str, detail: str, url: str = "") -> None:
        where = f" at {safe_url(url)}" if url else ""
        super().__init__(f"store {kind}{where}: {detail}; {_ADVICE[kind]}")
        self.kind = kind
        self.detail = detail

    @property
    def reason(self) -> str:
        """Short, for /healthz: the kind and the driver's first line (never the URL)."""
        return f"store {self.kind}: {self.detail}"


def classify(exc: BaseException) -> str | None:
    if isinstance(exc, StoreFailure):
        return exc.kind
    text = str(exc).lower()
    if text.startswith("database") and "does not exist" in text:  # PostgreSQL, no such database
        return UNREACHABLE
    for kind, signs in _SIGNS:
        if any(sign in text for sign in signs):
            return kind
    if isinstance(exc, OSError | TimeoutError):
        return UNREACHABLE
    return None


def failure_from(exc: BaseException, url: str = "") -> StoreFailure | None:
    if isinstance(exc, StoreFailure):
        return exc
    original = getattr(exc, "orig", None) or exc
    kind = classify(original)
    return None if kind is None else StoreFailure(kind, first_line(original), url)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def install(engine: AsyncEngine, url: str) -> None:
    def on_error(context: ExceptionContext) -> Any:
        return failure_from(context.original_exception, url)

    event.listen(engine.sync_engine, "handle_error", on_error)
