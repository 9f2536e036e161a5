"""Starting the chat platforms inside `chipwire run`: whichever have credentials.

Discord: a gateway client whose CommandTree comes from the command table (commands are synced
with `chipwire discord sync`, not on every start). Slack: the bolt app, over Socket Mode by
default (needs `SLACK_APP_TOKEN`) or over HTTP on the health server's `/slack/events`.
Tokens come from the environment or the `[chat] secrets_file` (`bot/ops/secrets.py`) and are
never printed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TextIO

from aiohttp import web

from bot.ops.secrets import Credentials, credentials_for

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


async def start_chat(
    app: App,
    credentials: Credentials | Mapping[str, str],
    slack_mode: str,
    out: TextIO,
    on_command: Callable[[str, float], None] | None = None,
    on_subscriptions_changed: Callable[[], Awaitable[None]] | None = None,
) -> ChatPlatforms:
    """`credentials` may also be the environment: they are then loaded with the secrets file."""
    from bot.platforms.console.commands import context_from_app

    found = credentials_for(app.settings, credentials)
    started = ChatPlatforms()
    if not (found.discord_token or found.slack_bot_token):
        return started
    context = replace(
        context_from_app(app),
        on_command=on_command,
        on_subscriptions_changed=on_subscriptions_changed,
        charts=app.charts,
    )
    if found.discord_token:
        await _start_discord(started, context, found.discord_token, found.discord_api_url)
    if found.slack_bot_token:
        admins = app.settings.chat.slack_admins
        _start_slack(started, context, found, admins, slack_mode, out)
    return started


async def _start_discord(
    started: ChatPlatforms, context: Any, token: str, api_url: str | None
) -> None:
    from bot.platforms.discord.runner import start_gateway

    task, close = start_gateway(token, context, api_url)
    started.names.append("discord")
    started._tasks.append(task)
    started._stoppers.append(close)


def _start_slack(
    started: ChatPlatforms,
    context: Any,
    credentials: Credentials,
    admins: frozenset[str],
    mode: str,
    out: TextIO,
) -> None:
    from bot.platforms.slack.runner import EVENTS_PATH, http_handler, slack_app, start_socket_mode

    token = credentials.slack_bot_token
    if token is None:
        return
    secret = credentials.slack_signing_secret
    if mode == "http" and not secret:
        print(
            "warning: Slack over HTTP needs SLACK_SIGNING_SECRET (Basic Information → App "
            "Credentials) to verify requests; or run with --slack-mode socket. Slack commands "
            "are off (digests to Slack still go out).",
            file=out,
        )
        return
    # Socket Mode needs no signing secret: requests come over the app's own websocket, and
    # Bolt skips its signature check for them.
    app = slack_app(
        context,
        signing_secret=secret or "",
        token=token,
        api_url=credentials.slack_api_url,
        admins=admins,
    )
    if mode == "http":
        started.routes.append((EVENTS_PATH, http_handler(app)))
        started.names.append("slack (http)")
        return
    if not credentials.slack_app_token:
        print(
            "warning: Slack Socket Mode needs SLACK_APP_TOKEN (an app-level token with "
            "connections:write); or run with --slack-mode http. Slack commands are off.",
            file=out,
        )
        return
    # Bolt's socket client takes the app's own Web API client, so SLACK_API_URL covers
    # apps.connections.open too.
    task, close = start_socket_mode(app, credentials.slack_app_token)
    started._tasks.append(task)
    started._stoppers.append(close)
    started.names.append("slack (socket mode)")
