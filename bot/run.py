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
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import App
from bot.digest.deliver import (
    DeliveryContext,
    DeliveryOutcome,
    catch_up,
    deliver_due,
    deliver_pending,
    platform_of,
    queue_alerts,
)
from bot.digest.schedules import trigger_for
from bot.ingest.feedhealth import flagged_note
from bot.models import Digest, PollOutcome, Subscription
from bot.ops.chat import start_chat
from bot.ops.metrics import Metrics
from bot.ops.runtime import (
    Liveness,
    build_posters,
    close_posters,
    environment,
    platforms_line,
    start_health,
)
from bot.ops.secrets import load_credentials
from bot.platforms.console.ingest_report import poll_with_report
from bot.settings import safe_url
from bot.store.failures import StoreFailure

log = logging.getLogger(__name__)

FEED_HEALTH_SCHEDULE = "0 9 * * mon"  # the weekly admin note, UTC
DELIVERY_SECONDS = 5  # how often the delivery queue is looked at (and after every poll)
SHUTDOWN_SECONDS = 8.0  # in-flight work gets this long after SIGTERM; the bot exits within 10 s
_in_flight: set[asyncio.Task[object]] = set()


@dataclass
class Running:
    """What the jobs share while the bot runs."""

    app: App
    out: TextIO
    delivery: DeliveryContext
    metrics: Metrics
    liveness: Liveness
    scheduler: AsyncIOScheduler | None = None


async def _tracked(work: Awaitable[object]) -> None:
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


async def poll_due_job(running: Running) -> None:
    await _tracked(poll_due(running))


async def poll_due(running: Running) -> None:
    try:
        await _poll_due(running)
    except StoreFailure as exc:  # /healthz says so (the store remembers it); the next tick retries
        log.error("store failed", extra={"kind": exc.kind, "error": exc.detail})
        print(f"error: {exc}", file=running.out, flush=True)


async def _poll_due(running: Running) -> None:
    app, out = running.app, running.out
    due = await app.store.due_feeds(app.clock())
    if not due:
        await app.store.probe_write()  # an idle tick still notices a store turned read-only
        return
    outcomes = await poll_with_report(app, due, out)
    log_poll_cycle(outcomes)
    running.liveness.last_poll_at = app.clock()
    running.metrics.record_poll(outcomes)
    running.metrics.record_relevant(sum(o.new_relevant for o in outcomes))
    if any(o.new_articles for o in outcomes) and await queue_alerts(running.delivery, app.clock()):
        wake_delivery(running)


def wake_delivery(running: Running) -> None:
    """Run the delivery job now rather than at its next tick; the poll does not wait for it."""
    if running.scheduler is not None:
        job = running.scheduler.get_job("deliver")
        if job is not None:
            job.modify(next_run_time=running.app.clock())


async def delivery_job(running: Running) -> None:
    await _tracked(deliver_queued(running))


async def deliver_queued(running: Running) -> None:
    for outcome in await deliver_pending(running.delivery):
        _report_delivery(running, outcome, outcome.kind)


def log_poll_cycle(outcomes: Sequence[PollOutcome]) -> None:
    for outcome in outcomes:
        if outcome.error:
            # INFO: the console already shows each failure; operators raise the level to log them
            log.info("feed failed", extra={"feed_id": outcome.feed_id, "error": outcome.error})
    log.info(
        "poll cycle",
        extra={
            "feeds": len(outcomes),
            "failed": sum(1 for o in outcomes if o.error),
            "unchanged": sum(1 for o in outcomes if o.skipped_parse),
            "new_articles": sum(o.new_articles for o in outcomes),
            "new_relevant": sum(o.new_relevant for o in outcomes),
        },
    )


async def feed_health_job(running: Running) -> None:
    await _tracked(send_feed_health(running))


async def send_feed_health(running: Running) -> bool:
    """The weekly admin note about failing and stale feeds; nothing when all is well."""
    app, ops = running.app, running.app.settings.ops
    now = app.clock()
    note = flagged_note(await app.store.feed_summaries(), now, ops)
    poster = running.delivery.posters.get(platform_of(ops.admin_target))
    if note is None or poster is None:
        return False
    admin = Subscription(target=ops.admin_target, schedule=FEED_HEALTH_SCHEDULE)
    digest = Digest("ChipWire feed health", now, now, "UTC", (), empty_note=note)
    try:
        await poster.post(admin, digest, f"health{int(now.timestamp())}")
    except Exception as exc:  # a failing admin channel must not stop the bot
        log.warning("feed-health note not delivered", extra={"error": repr(exc)})
        return False
    return True


def _report_delivery(running: Running, outcome: DeliveryOutcome, what: str) -> None:
    if outcome.status in ("sent", "failed"):
        running.metrics.record_delivery(outcome.platform, outcome.status == "sent")
    if outcome.status == "sent" and what == "digest":
        running.liveness.last_digest_at = running.app.clock()
    if outcome.status in ("failed", "dead"):
        print(
            f"{what} for subscription {outcome.subscription_id} failed: {outcome.error}",
            file=running.out,
            flush=True,
        )


async def send_digest(running: Running, subscription_id: int) -> None:
    await _tracked(_send_digest(running, subscription_id))


async def _send_digest(running: Running, subscription_id: int) -> None:
    for outcome in await deliver_due(running.delivery, [subscription_id]):
        _report_delivery(running, outcome, "digest")


def add_digest_jobs(
    scheduler: AsyncIOScheduler, running: Running, subscriptions: list[Subscription]
) -> None:
    for subscription in subscriptions:
        scheduler.add_job(
            send_digest,
            trigger_for(subscription.schedule, subscription.timezone),
            args=(running, subscription.id),
            id=f"digest-{subscription.id}",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=6 * 3600,
            replace_existing=True,
        )


def sync_digest_jobs(
    scheduler: AsyncIOScheduler, running: Running, subscriptions: list[Subscription]
) -> None:
    """One job per subscription as the store has them now: new ones added, changed ones
    rescheduled, removed ones dropped."""
    wanted = {f"digest-{s.id}" for s in subscriptions}
    for job in scheduler.get_jobs():
        if job.id.startswith("digest-") and job.id not in wanted:
            job.remove()
    add_digest_jobs(scheduler, running, subscriptions)


@dataclass
class DigestJobs:
    """Lets chat subscribe/unsubscribe reach the scheduler, which starts after the chat."""

    scheduler: AsyncIOScheduler | None = None
    running: Running | None = None

    async def refresh(self) -> None:
        if self.scheduler is not None and self.running is not None:
            subscriptions = await self.running.app.store.list_subscriptions()
            sync_digest_jobs(self.scheduler, self.running, subscriptions)


def build_scheduler(running: Running, tick_seconds: int) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        feed_health_job,
        trigger_for(FEED_HEALTH_SCHEDULE, "UTC"),
        args=(running,),
        id="feed-health",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=24 * 3600,
    )
    scheduler.add_job(
        poll_due_job,
        "interval",
        seconds=tick_seconds,
        args=(running,),
        id="poll-due-feeds",
        next_run_time=running.app.clock(),
        coalesce=True,
        max_instances=1,
        misfire_grace_time=tick_seconds * 10,
    )
    scheduler.add_job(
        delivery_job,
        "interval",
        seconds=DELIVERY_SECONDS,
        args=(running,),
        id="deliver",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=DELIVERY_SECONDS * 10,
    )
    return scheduler


async def run_forever(
    app: App,
    *,
    tick_seconds: int,
    out: TextIO,
    environ: Mapping[str, str] | None = None,
    slack_mode: str = "socket",
    port: int | None = None,
) -> None:
    """Run until SIGINT or SIGTERM, then stop cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    credentials = load_credentials(app.settings, environ if environ is not None else environment())
    posters = build_posters(app, out, credentials)
    for line in (await app.sync_config()).report():  # the config file is the truth
        print(line, file=out, flush=True)
    feeds = await app.store.list_feeds()
    metrics = Metrics()
    jobs = DigestJobs()
    chat = await start_chat(
        app, credentials, slack_mode, out, metrics.observe_command, jobs.refresh
    )
    commands = f"; slash commands on {', '.join(chat.names)}" if chat.names else ""
    print(
        f"ChipWire running: {len(feeds)} feeds, store {safe_url(app.settings.database_url)}; "
        f"{platforms_line(posters)}{commands}. Ctrl-C stops.",
        file=out,
        flush=True,
    )
    running = Running(app, out, app.delivery_context(posters), metrics, Liveness(app))
    jobs.running = running
    health = await start_health(
        running.liveness, running.metrics, out, routes=chat.routes, port=port
    )
    try:
        await _run_until(stop, running, tick_seconds, jobs)
    finally:
        if health is not None:
            await health.cleanup()
        await chat.stop()
        await close_posters(posters)
        print("ChipWire stopped.", file=out, flush=True)


async def _run_until(
    stop: asyncio.Event, running: Running, tick_seconds: int, jobs: DigestJobs
) -> None:
    await running.app.store.release_stale_leases()
    await deliver_queued(running)  # what a crash left in doubt is resolved before anything new
    for outcome in await catch_up(running.delivery, running.app.clock()):
        _report_delivery(running, outcome, "digest")
        print(
            f"catch-up digest for subscription {outcome.subscription_id}: {outcome.status}",
            file=running.out,
            flush=True,
        )
    scheduler = build_scheduler(running, tick_seconds)
    add_digest_jobs(scheduler, running, await running.app.store.list_subscriptions())
    jobs.scheduler = scheduler
    running.scheduler = scheduler
    running.liveness.scheduler = scheduler
    scheduler.start()
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        await stop_in_flight()
