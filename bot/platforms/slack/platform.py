"""Slack as a platform: digests through the Web API poster, slash commands through the bolt app.

Commands arrive over Socket Mode by default (needs the app-level token) or over HTTP on the run
server's `/slack/events`, which needs the signing secret; without it the bot still posts
digests, and says that commands are off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.commands.table import Context
from bot.platforms.base import Route
from bot.platforms.slack.commands import EVENTS_PATH, build_app, http_handler
from bot.platforms.slack.poster import SlackPoster

NO_SIGNING_SECRET = (
    "warning: Slack over HTTP needs SLACK_SIGNING_SECRET (Basic Information → App "
    "Credentials) to verify requests; or run with --slack-mode socket. Slack commands "
    "are off (digests to Slack still go out)."
)
NO_APP_TOKEN = (
    "warning: Slack Socket Mode needs SLACK_APP_TOKEN (an app-level token with "
    "connections:write); or run with --slack-mode http. Slack commands are off."
)


class SlackPlatform:
    name = "slack"

    def __init__(
        self,
        poster: SlackPoster,
        bot_token: str,
        context: Context,
        *,
        signing_secret: str | None,
        app_token: str | None,
        api_url: str | None,
        admins: frozenset[str],
        mode: str,
        out: TextIO,
    ) -> None:
        self.poster = poster
        self.listening: str | None = None
        self.routes: Sequence[Route] = ()
        self._socket: AsyncSocketModeHandler | None = None
        if mode == "http" and not signing_secret:
            print(NO_SIGNING_SECRET, file=out)
            return
        # Socket Mode needs no signing secret: requests come over the app's own websocket, and
        # Bolt skips its signature check for them.
        app = build_app(
            lambda: context,
            signing_secret=signing_secret or "",
            token=bot_token,
            api_url=api_url,
            admins=admins,
        )
        if mode == "http":
            self.routes, self.listening = ((EVENTS_PATH, http_handler(app)),), "slack (http)"
        elif app_token:
            self._socket, self.listening = _socket_mode(app, app_token), "slack (socket mode)"
        else:
            print(NO_APP_TOKEN, file=out)

    async def serve(self) -> None:
        if self._socket is not None:
            await self._socket.start_async()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
        await self.poster.close()


def _socket_mode(app: AsyncApp, app_token: str) -> AsyncSocketModeHandler:
    # Bolt's socket client takes the app's own Web API client, so SLACK_API_URL covers
    # apps.connections.open too.
    return AsyncSocketModeHandler(app, app_token)
