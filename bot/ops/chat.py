"""Starting the chat platforms inside `chipwire run`: whichever have credentials.

Discord: a gateway client whose CommandTree comes from the command table (commands are synced
with `chipwire discord sync`, not on every start). Slack: the bolt app, over Socket Mode by
default (needs `SLACK_APP_TOKEN`) or over HTTP on the health server's `/slack/events`.
Tokens come from the environment only and are never printed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TextIO

from aiohttp import web

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)


@dataclass
class ChatPlatforms:
    """What was started, and how to stop it."""

    names: list[str] = field(default_factory=list)
    routes: list[tuple[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]] = field(
        default_factory=list
    )
    _stoppers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    async def stop(self) -> None:
        for stopper in reversed(self._stoppers):
            try:
                await stopper()
            except Exception:  # a platform failing to close must not block shutdown
                log.warning("closing a chat platform failed", exc_info=True)
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=3)


def _admins(environ: Mapping[str, str]) -> frozenset[str]:
    return frozenset(u.strip() for u in environ.get("SLACK_ADMINS", "").split(",") if u.strip())


async def start_chat(
    app: App,
    environ: Mapping[str, str],
    slack_mode: str,
    out: TextIO,
    on_command: Callable[[str, float], None] | None = None,
) -> ChatPlatforms:
    from bot.chat.ask import context_from_app

    started = ChatPlatforms()
    if not (environ.get("DISCORD_TOKEN") or environ.get("SLACK_BOT_TOKEN")):
        return started
    context = replace(context_from_app(app), on_command=on_command)
    if environ.get("DISCORD_TOKEN"):
        await _start_discord(started, context, environ)
    if environ.get("SLACK_BOT_TOKEN"):
        _start_slack(started, context, environ, slack_mode, out)
    return started


async def _start_discord(started: ChatPlatforms, context: Any, environ: Mapping[str, str]) -> None:
    from bot.platforms.discord.runner import start_gateway

    task, close = start_gateway(environ["DISCORD_TOKEN"], context, environ.get("DISCORD_API_URL"))
    started.names.append("discord")
    started._tasks.append(task)
    started._stoppers.append(close)


def _start_slack(
    started: ChatPlatforms,
    context: Any,
    environ: Mapping[str, str],
    mode: str,
    out: TextIO,
) -> None:
    from bot.platforms.slack.runner import EVENTS_PATH, http_handler, slack_app, start_socket_mode

    secret = environ.get("SLACK_SIGNING_SECRET", "")
    if not secret:
        print(
            "warning: SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET is not; Slack commands "
            "are off (digests to Slack still go out).",
            file=out,
        )
        return
    app = slack_app(
        context,
        signing_secret=secret,
        token=environ["SLACK_BOT_TOKEN"],
        api_url=environ.get("SLACK_API_URL"),
        admins=_admins(environ),
    )
    if mode == "http":
        started.routes.append((EVENTS_PATH, http_handler(app)))
        started.names.append("slack (http)")
        return
    app_token = environ.get("SLACK_APP_TOKEN")
    if not app_token:
        print(
            "warning: Slack Socket Mode needs SLACK_APP_TOKEN (an app-level token with "
            "connections:write); or run with --slack-mode http. Slack commands are off.",
            file=out,
        )
        return
    task, close = start_socket_mode(app, app_token)
    started._tasks.append(task)
    started._stoppers.append(close)
    started.names.append("slack (socket mode)")
