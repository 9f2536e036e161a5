"""What `chipwire run` adds around the scheduler: posters per platform, metrics, /healthz."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from aiohttp import web

from bot.ops.health import HealthReport, health_app, serve
from bot.ops.metrics import Metrics
from bot.ops.secrets import Credentials, credentials_for
from bot.platforms.console.poster import ConsolePoster
from bot.store.failures import StoreFailure

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.app import App
    from bot.digest.deliver import Poster

log = logging.getLogger(__name__)

# Tests only: "1" sends Discord posts without a nonce and skips the Slack history check, so the
# crash test can show the duplicates they prevent. Never set it in production.
NO_DEDUPE_ENV = "CHIPWIRE_TEST_NO_DEDUPE"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_posters(
    app: App, out: TextIO, credentials: Credentials | Mapping[str, str]
) -> dict[str, Poster]:
    """The console always; Discord and Slack when their tokens are set (never logged).

    `credentials` may also be the environment: they are then loaded with the secrets file."""
    found = credentials_for(app.settings, credentials)
    posters: dict[str, Poster] = {
        "console": ConsolePoster(out, app.company_names, chart_dir=app.settings.data_dir / "charts")
    }
    dedupe = os.environ.get(NO_DEDUPE_ENV) != "1"
    if found.discord_token:
        from bot.platforms.discord.poster import DiscordPoster

        posters["discord"] = DiscordPoster(
            found.discord_token, app.company_names, api_base=found.discord_api_url, dedupe=dedupe
        )
    if found.slack_bot_token:
        from bot.platforms.slack.poster import SlackPoster

        posters["slack"] = SlackPoster(
            found.slack_bot_token, app.company_names, api_url=found.slack_api_url, dedupe=dedupe
        )
    return posters


def platforms_line(posters: Mapping[str, Poster]) -> str:
    chat = [name for name in posters if name != "console"]
    if not chat:
        return "no chat tokens set, so digests go to this console"
    return f"digests go to the console and {', '.join(chat)}"


async def close_posters(posters: Mapping[str, Poster]) -> None:
    for poster in posters.values():
        closing = getattr(poster, "close", None)
        if closing is not None:
            await closing()


@dataclass
class Liveness:
    """What /healthz reports: the store answers and the scheduler runs."""

    app: App
    scheduler: AsyncIOScheduler | None = None
    last_poll_at: datetime | None = None
    last_digest_at: datetime | None = None

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
        running = self.scheduler is not None and self.scheduler.running
        return HealthReport(store_ok, running, self.last_poll_at, self.last_digest_at, detail)


async def start_health(
    liveness: Liveness,
    metrics: Metrics,
    out: TextIO,
    *,
    routes: Sequence[tuple[str, Handler]] = (),
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


def environment() -> Mapping[str, str]:
    return os.environ
