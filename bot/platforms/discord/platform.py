"""Discord as a platform: digests through the REST poster, slash commands over the gateway.

The gateway client's CommandTree comes from the command registry; commands are synced with
`chipwire discord sync`, not on every start.
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.commands.table import Context
from bot.platforms.base import Route
from bot.platforms.discord.commands import build_tree, routed_client
from bot.platforms.discord.poster import DiscordPoster


class DiscordPlatform:
    name = "discord"
    listening: str | None = "discord"
    routes: Sequence[Route] = ()

    def __init__(
        self, poster: DiscordPoster, token: str, context: Context, *, api_base: str | None = None
    ) -> None:
        self._token = token
        self.poster = poster
        self._client = routed_client(api_base) if api_base else _gateway_client()
        build_tree(self._client, lambda: context)

    async def serve(self) -> None:
        await self._client.start(self._token)

    async def close(self) -> None:
        await self._client.close()
        await self.poster.close()


def _gateway_client() -> discord.Client:
    return discord.Client(
        intents=discord.Intents(guilds=True), allowed_mentions=discord.AllowedMentions.none()
    )
