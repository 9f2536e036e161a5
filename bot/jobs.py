"""What runs while the bot runs: the scheduled jobs, the state they share, and what /healthz sees.

Each feed's own interval and backoff live in the store (`next_poll_at`), so the poll job only
has to wake up and ask which feeds are due. Each subscription gets a cron job in its own time
zone; jobs are rebuilt from the store at start, and a digest whose time passed while the bot was
down is sent once on start (`catch_up`). The store's claim per (subscription, period) makes a
second send impossible, whatever fires twice. `bot/app.py` builds the `Running` state and adds
these jobs; `bot/run.py` starts the scheduler.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.digest.deliver import (
    DeliveryContext,
    DeliveryOutcome,
    deliver_due,
    deliver_pending,
    platform_of,
    queue_alerts,
)
from bot.digest.schedules import trigger_for
from bot.ingest.feedhealth import VerdictNotes, first_poll_note, flagged_note
from bot.models import Digest, FeedState, PollOutcome, Subscription
from bot.ops.health import HealthReport
from bot.ops.metrics import Metrics
from bot.platforms.console.ingest_report import poll_with_report
from bot.store import outbox
from bot.store.failures import StoreFailure

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

FEED_HEALTH_SCHEDULE = "0 9 * * mon"  # the weekly admin note, UTC
DELIVERY_SECONDS = 5  # how often the delivery queue is looked at (and after every poll)
SHUTDOWN_SECONDS = 8.0  # in-flight work gets this long after SIGTERM; the bot exits within 10 s
_in_flight: set[asyncio.Task[object]] = set()


@dataclass
class Liveness:
    """What /healthz reports: the store answers, the scheduler runs, no platform stopped."""

    app: App
    scheduler: AsyncIOScheduler
    last_poll_at: datetime | None = None
    last_digest_at: datetime | None = None
    platforms_down: dict[str, str] = field(default_factory=dict)  # platform -> why it stopped

    def platform_stopped(self, name: str, reason: str) -> None:
        self.platforms_down[name] = reason

    async def check(self) -> HealthReport:
        store = self.app.store
        try:
            await store.ping()
            store_ok, detail = True, ""
        except StoreFailure as exc:
            store_ok, detail = False, exc.reason
        except Exception as exc:  # any store failure is "unhealthy", with its type only
            store_ok, detail = False, f"store unreachable ({type(exc).__name__})"
        if store_ok and store.failure is not None:  # it answers, but the last write failed
            store_ok, detail = False, store.failure.reason
        running = self.scheduler.running
        down = tuple(self.platforms_down.values())
        return HealthReport(store_ok, running, self.last_poll_at, self.last_digest_at, detail, down)


@dataclass(frozen=True)
class Running:
    """What the jobs share while the bot runs; built whole by `bot.app.build_bot`."""

    app: App
    out: TextIO
    delivery: DeliveryContext
    metrics: Metrics
    liveness: Liveness
    scheduler: AsyncIOScheduler
    verdict_notes: VerdictNotes = field(default_factory=VerdictNotes)  # mutable, shared


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


async def stop_in_flight(grace_seconds: float = SHUTDOWN_SECONDS) -> None:
    """Cancel running jobs and wait: an interrupted write rolls back and the next run redoes it."""
    tasks = set(_in_flight)
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=grace_seconds)


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
    due = await claimed_feeds(running)
    if not due:
        await app.store.probe_write()  # an idle tick still notices a store turned read-only
        await tell_first_poll_verdicts(running, ())
        return
    try:
        outcomes = await poll_with_report(app.poll_context(), due, out)
    finally:
        await _release(running, [feed.id for feed in due])
    await tell_first_poll_verdicts(running, [f.id for f in due if f.last_polled_at is None])
    log_poll_cycle(outcomes)
    running.liveness.last_poll_at = app.clock()
    running.metrics.record_poll(outcomes)
    running.metrics.record_relevant(sum(o.new_relevant for o in outcomes))
    if any(o.new_articles for o in outcomes) and await queue_alerts(running.delivery, app.clock()):
        wake_delivery(running)


POLL_LEASE = timedelta(minutes=5)  # longer than any poll; a dead poller's feeds wait this long


async def claimed_feeds(running: Running) -> list[FeedState]:
    """The due feeds this process may poll: on PostgreSQL several processes share the store,
    and each feed goes to one of them."""
    app = running.app
    ids = await app.store.write(
        outbox.claim_due_feeds, owner=running.delivery.owner, now=app.clock(), lease=POLL_LEASE
    )
    wanted = set(ids)
    return [f for f in await app.store.list_feeds() if f.id in wanted and not f.paused]


async def _release(running: Running, feed_ids: list[int]) -> None:
    try:
        await running.app.store.write(outbox.release_feeds, running.delivery.owner, feed_ids)
    except Exception:  # the lease then expires on its own (POLL_LEASE)
        log.warning("feed leases not released", exc_info=True)


def wake_delivery(running: Running) -> None:
    """Run the delivery job now rather than at its next tick; the poll does not wait for it."""
    job = running.scheduler.get_job("deliver")
    if job is not None:
        job.modify(next_run_time=running.app.clock())


async def delivery_job(running: Running) -> None:
    await _tracked(deliver_queued(running))


async def deliver_queued(running: Running) -> None:
    for outcome in await deliver_pending(running.delivery):
        report_delivery(running, outcome, outcome.kind)


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
    if note is None:
        return False
    nonce = f"health{int(now.timestamp())}"
    return await post_admin_note(running, "ChipWire feed health", note, nonce)


async def tell_first_poll_verdicts(running: Running, first_polled: Sequence[int]) -> bool:
    """Feeds whose first poll got a refusal, an HTML page, a bot challenge or no items are told
    to the admin at once (not after five failures or two weeks), one note an hour at most."""
    app, notes = running.app, running.verdict_notes
    if first_polled:
        wanted = set(first_polled)
        notes.add([feed for feed in await app.store.list_feeds() if feed.id in wanted])
    now = app.clock()
    batch = notes.due(now)
    if not batch:
        return False
    nonce = f"verdict{int(now.timestamp())}"
    told = await post_admin_note(running, "ChipWire: new feeds", first_poll_note(batch), nonce)
    notes.sent(batch if told else (), now)  # a failed post also waits an hour: no retry storm
    return told


async def post_admin_note(running: Running, title: str, note: str, nonce: str) -> bool:
    """A note to the admin target (ops.admin_target) through the platform's poster."""
    ops, now = running.app.settings.ops, running.app.clock()
    poster = running.delivery.posters.get(platform_of(ops.admin_target))
    if poster is None:
        return False
    admin = Subscription(target=ops.admin_target, schedule=FEED_HEALTH_SCHEDULE)
    digest = Digest(title, now, now, "UTC", (), empty_note=note)
    try:
        await poster.post(admin, digest, nonce)
    except Exception as exc:  # a failing admin channel must not stop the bot
        log.warning("admin note not delivered", extra={"error": repr(exc), "title": title})
        return False
    return True


def report_delivery(running: Running, outcome: DeliveryOutcome, what: str) -> None:
    if outcome.status in ("sent", "failed", "dead"):  # one log line per delivery
        log.info(
            "delivery",
            extra={
                "kind": what,
                "subscription_id": outcome.subscription_id,
                "platform": outcome.platform,
                "status": outcome.status,
                "error": outcome.error,
            },
        )
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
        report_delivery(running, outcome, "digest")


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


@dataclass(frozen=True)
class DigestJobs:
    """Lets chat subscribe/unsubscribe reach the scheduler: one digest job per subscription."""

    scheduler: AsyncIOScheduler
    running: Running

    async def refresh(self) -> None:
        subscriptions = await self.running.app.store.list_subscriptions()
        sync_digest_jobs(self.scheduler, self.running, subscriptions)


def add_run_jobs(running: Running, tick_seconds: int) -> None:
    """The feed-health note, the poll of due feeds and the delivery queue, on `running`'s scheduler."""
    scheduler = running.scheduler
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
