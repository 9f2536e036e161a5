"""`chipwire run`: build the bot (`bot/app.py`), start it, wait for SIGINT or SIGTERM, stop it.

What each scheduled job does lives in `bot/jobs.py`; everything here is starting and stopping.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Mapping, Sequence
from typing import TextIO

from aiohttp import web

from bot.app import App, Bot, build_bot
from bot.digest.deliver import catch_up
from bot.jobs import (
    DigestJobs,
    Liveness,
    Running,
    add_digest_jobs,
    deliver_queued,
    report_delivery,
    stop_in_flight,
)
from bot.ops.health import health_app, serve
from bot.ops.metrics import Metrics
from bot.platforms.base import Platform, PlatformDown, Route
from bot.settings import safe_url

__all__ = ["DigestJobs", "run_forever"]

log = logging.getLogger(__name__)
PLATFORM_CLOSE_SECONDS = 4.0  # with the health server's grace, a stop stays within 10 s


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
    bot = build_bot(
        app,
        out=out,
        environ=os.environ if environ is None else environ,
        slack_mode=slack_mode,
        tick_seconds=tick_seconds,
    )
    for line in (await app.sync_config()).report():  # the config file is the truth
        print(line, file=out, flush=True)
    feeds = await app.store.list_feeds()
    serving = serve_platforms(bot.platforms, bot.running.liveness)
    listening = [p.listening for p in bot.platforms if p.listening]
    commands = f"; slash commands on {', '.join(listening)}" if listening else ""
    print(
        f"ChipWire running: {len(feeds)} feeds, store {safe_url(app.settings.database_url)}; "
        f"{platforms_line(bot)}{commands}. Ctrl-C stops.",
        file=out,
        flush=True,
    )
    running = bot.running
    routes = [route for platform in bot.platforms for route in platform.routes]
    health = await start_health(running.liveness, running.metrics, out, routes=routes, port=port)
    try:
        await _run_until(stop, running)
    finally:
        if health is not None:
            await health.cleanup()
        try:
            await asyncio.wait_for(bot.close(), timeout=PLATFORM_CLOSE_SECONDS)
        except TimeoutError:
            log.warning(
                "chat platforms did not close within %s s; stopping anyway", PLATFORM_CLOSE_SECONDS
            )
        for task in serving:
            task.cancel()
        if serving:
            await asyncio.wait(serving, timeout=3)
        print("ChipWire stopped.", file=out, flush=True)


def serve_platforms(platforms: Sequence[Platform], liveness: Liveness) -> list[asyncio.Task[None]]:
    """One task per platform that takes commands, watched: one that fails tells /healthz why."""
    tasks = []
    for platform in platforms:
        if platform.listening:
            task = asyncio.create_task(platform.serve(), name=platform.name)
            task.add_done_callback(lambda done: _stopped(done, liveness))
            tasks.append(task)
    return tasks


def _stopped(task: asyncio.Task[None], liveness: Liveness) -> None:
    if task.cancelled() or task.exception() is None:  # shutdown, or closed on purpose
        return
    error = task.exception()
    if isinstance(error, PlatformDown):
        reason = str(error)
    else:  # the type only: an SDK's message may carry a token or a URL
        reason = f"{task.get_name()}: stopped serving commands ({type(error).__name__})"
    log.error("chat platform stopped", extra={"platform": task.get_name(), "reason": reason})
    liveness.platform_stopped(task.get_name(), reason)


def platforms_line(bot: Bot) -> str:
    chat = [name for name in bot.posters if name != "console"]
    if not chat:
        return "no chat tokens set, so digests go to this console"
    return f"digests go to the console and {', '.join(chat)}"


async def start_health(
    liveness: Liveness,
    metrics: Metrics,
    out: TextIO,
    *,
    routes: Sequence[Route] = (),
    port: int | None = None,
) -> web.AppRunner | None:
    """/healthz and /metrics, plus `routes` (Slack's /slack/events in HTTP mode)."""
    settings = liveness.app.settings.ops
    port = settings.health_port if port is None else port
    if port == 0:
        return None
    web_app = health_app(liveness.check, metrics)
    for path, handler in routes:
        web_app.router.add_post(path, handler)
    try:
        runner = await serve(web_app, settings.health_host, port)
    except OSError as exc:
        print(
            f"warning: cannot serve /healthz and /metrics on {settings.health_host}:{port} "
            f"({exc.strerror or exc}); set [ops] health_port (0 turns it off) or "
            "CHIPWIRE_HEALTH_PORT. Running without them.",
            file=out,
            flush=True,
        )
        return None
    return runner


async def _run_until(stop: asyncio.Event, running: Running) -> None:
    await running.app.store.release_stale_leases()
    await deliver_queued(running)  # what a crash left in doubt is resolved before anything new
    for outcome in await catch_up(running.delivery, running.app.clock()):
        report_delivery(running, outcome, "digest")
        print(
            f"catch-up digest for subscription {outcome.subscription_id}: {outcome.status}",
            file=running.out,
            flush=True,
        )
    add_digest_jobs(running.scheduler, running, await running.app.store.list_subscriptions())
    running.scheduler.start()
    try:
        await stop.wait()
    finally:
        running.scheduler.shutdown(wait=False)
        await stop_in_flight()
