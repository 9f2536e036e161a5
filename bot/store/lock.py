"""One SQLite store, one running bot: `run` and `poll` hold a lock file beside the database.

The lock is an advisory `flock` on `<database>.lock`, so it goes away with the process however
it ends (no stale lock to clean up after a crash). The file names its holder, which the second
process prints. PostgreSQL stores take no lock: several bots may share one (the digest claims
keep them from posting twice).
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bot.store.failures import LOCKED, UNWRITABLE, StoreFailure
from bot.store.inspect import sqlite_path


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


@contextmanager
def running_lock(url: str, command: str) -> Iterator[None]:
    """Hold the store's lock while the body runs; StoreFailure(locked) naming the holder if
    another process has it."""
    database = sqlite_path(url)
    if database is None:
        yield
        return
    path = lock_path(database)
    try:
        handle = path.open("a+", encoding="utf-8")
    except OSError as exc:
        raise StoreFailure(
            UNWRITABLE, f"cannot create the lock file {path} ({exc.strerror or exc})", url
        ) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise StoreFailure(LOCKED, f"in use by {holder}", url) from None
        handle.seek(0)
        handle.truncate()
        started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        handle.write(
            f"'chipwire {command}' (pid {os.getpid()} on {socket.gethostname()}, since {started})"
        )
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
