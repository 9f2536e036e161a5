"""The in-process clock (APScheduler 3): poll the feeds that are due, on a tick.

Each feed's own interval and backoff live in the store (`next_poll_at`), so the scheduler only has
to wake up and ask which feeds are due; a restart loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import App
from bot.platforms.console.ingest_report import poll_with_report
from bot.settings import safe_url

log = logging.getLogger(__name__)


async def poll_due(app: App, out: TextIO) -> None:
    due = await app.store.due_feeds(app.clock())
    if due:
        await poll_with_report(app, due, out)


def build_scheduler(app: App, out: TextIO, tick_seconds: int) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        poll_due,
        "interval",
        seconds=tick_seconds,
        args=(app, out),
        id="poll-due-feeds",
        next_run_time=app.clock(),
        coalesce=True,
        max_instances=1,
        misfire_grace_time=tick_seconds * 10,
    )
    return scheduler


async def run_forever(app: App, *, tick_seconds: int, out: TextIO) -> None:
    """Run until SIGINT or SIGTERM, then stop cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    feeds = await app.store.list_feeds()
    print(
        f"ChipWire running: {len(feeds)} feeds, store {safe_url(app.settings.database_url)}; "
        "no chat tokens set, so output goes to this console. Ctrl-C stops.",
        file=out,
        flush=True,
    )
    await app.start_workers()
    scheduler = build_scheduler(app, out, tick_seconds)
    scheduler.start()
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        print("ChipWire stopped.", file=out, flush=True)
