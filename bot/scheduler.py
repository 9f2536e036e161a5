"""The in-process clock (APScheduler 3): poll due feeds on a tick, send digests on their schedules.

Each feed's own interval and backoff live in the store (`next_poll_at`), so the scheduler only has
to wake up and ask which feeds are due. Each subscription gets a cron job in its own time zone;
jobs are rebuilt from the store at start, and a digest whose time passed while the bot was down
is sent once on start (`catch_up`). The store's claim per (subscription, period) makes a second
send impossible, whatever fires twice.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable
from typing import TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import App
from bot.chat.deliver import DeliveryContext, catch_up, deliver_due, send_alerts
from bot.models import Subscription
from bot.platforms.console.ingest_report import poll_with_report
from bot.platforms.console.poster import ConsolePoster
from bot.schedules import trigger_for
from bot.settings import safe_url

log = logging.getLogger(__name__)


SHUTDOWN_SECONDS = 8.0  # in-flight work gets this long after SIGTERM; the bot exits within 10 s
_in_flight: set[asyncio.Task[object]] = set()


async def _tracked(work: Awaitable[None]) -> None:
    """Runs a job so that shutdown can cancel it and wait for its rollback."""
    task = asyncio.current_task()
    if task is not None:
        _in_flight.add(task)
    try:
        await work
    except asyncio.CancelledError:
        log.info("job stopped at shutdown; the next run picks its work up again")
    finally:
        if task is not None:
            _in_flight.discard(task)


async def stop_in_flight(timeout: float = SHUTDOWN_SECONDS) -> None:
    """Cancel running jobs and wait: an interrupted write rolls back and the next run redoes it."""
    tasks = set(_in_flight)
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=timeout)


async def poll_due_job(app: App, out: TextIO, alerts: DeliveryContext | None = None) -> None:
    await _tracked(poll_due(app, out, alerts))


async def poll_due(app: App, out: TextIO, alerts: DeliveryContext | None = None) -> None:
    due = await app.store.due_feeds(app.clock())
    if not due:
        return
    outcomes = await poll_with_report(app, due, out)
    if alerts is not None and any(o.new_articles for o in outcomes):
        for alert in await send_alerts(alerts, app.clock()):
            if alert.status == "failed":
                print(
                    f"alert for subscription {alert.subscription_id} failed: {alert.error}",
                    file=out,
                )


async def send_digest(ctx: DeliveryContext, subscription_id: int, out: TextIO) -> None:
    await _tracked(_send_digest(ctx, subscription_id, out))


async def _send_digest(ctx: DeliveryContext, subscription_id: int, out: TextIO) -> None:
    for outcome in await deliver_due(ctx, [subscription_id]):
        if outcome.status == "failed":
            print(f"digest for subscription {subscription_id} failed: {outcome.error}", file=out)


def add_digest_jobs(
    scheduler: AsyncIOScheduler,
    ctx: DeliveryContext,
    subscriptions: list[Subscription],
    out: TextIO,
) -> None:
    for subscription in subscriptions:
        scheduler.add_job(
            send_digest,
            trigger_for(subscription.schedule, subscription.timezone),
            args=(ctx, subscription.id, out),
            id=f"digest-{subscription.id}",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=6 * 3600,
            replace_existing=True,
        )


def build_scheduler(
    app: App, out: TextIO, tick_seconds: int, alerts: DeliveryContext | None = None
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        poll_due_job,
        "interval",
        seconds=tick_seconds,
        args=(app, out, alerts),
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
    ctx = app.delivery_context({"console": ConsolePoster(out, app.company_names)})
    subscriptions = await app.store.list_subscriptions()
    for outcome in await catch_up(ctx, app.clock()):
        print(
            f"catch-up digest for subscription {outcome.subscription_id}: {outcome.status}",
            file=out,
        )
    scheduler = build_scheduler(app, out, tick_seconds, ctx)
    add_digest_jobs(scheduler, ctx, subscriptions, out)
    scheduler.start()
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        await stop_in_flight()
        print("ChipWire stopped.", file=out, flush=True)
