"""The Slack side of `chipwire run`: the bolt app over Socket Mode or HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.platforms.slack.commands import EVENTS_PATH, build_app, http_handler

__all__ = ["EVENTS_PATH", "http_handler", "slack_app", "start_socket_mode"]


def slack_app(
    context: Any, *, signing_secret: str, token: str, api_url: str | None, admins: frozenset[str]
) -> AsyncApp:
    return build_app(
        lambda: context,
        signing_secret=signing_secret,
        token=token,
        api_url=api_url,
        admins=admins,
    )


def start_socket_mode(
    app: AsyncApp, app_token: str
) -> tuple[asyncio.Task[Any], Callable[[], Awaitable[None]]]:
    handler = AsyncSocketModeHandler(app, app_token)
    return asyncio.create_task(handler.start_async(), name="slack"), handler.close_async
