"""The Discord gateway client `chipwire run` starts when DISCORD_TOKEN is set."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.platforms.discord.commands import build_tree, routed_client


def start_gateway(
    token: str, context: Any, api_base: str | None = None
) -> tuple[asyncio.Task[Any], Callable[[], Awaitable[None]]]:
    """Connect and answer slash commands; returns the running task and how to close it."""
    if api_base:
        client = routed_client(api_base)
    else:
        client = discord.Client(
            intents=discord.Intents(guilds=True), allowed_mentions=discord.AllowedMentions.none()
        )
    build_tree(client, lambda: context)
    task = asyncio.create_task(client.start(token), name="discord")
    return task, client.close
