"""Discord as a platform: digests through the REST poster, slash commands over the gateway.

The gateway client's CommandTree comes from the command registry; commands are synced with
`chipwire discord sync`, not on every start.
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.commands.table import Context
from bot.platforms.base import PlatformDown, Route
from bot.platforms.discord.commands import build_tree, routed_client
from bot.platforms.discord.poster import DiscordPoster

LOGIN_REFUSED = (
    "discord: Discord refused the bot token (401), so slash commands are down; set "
    "DISCORD_TOKEN to the token on the Bot page of the Developer Portal and restart"
)


class DiscordPlatform:
    name = "discord"
    listening: str | None = "discord"
    routes: Sequence[Route] = ()

    def __init__(
        self, poster: DiscordPoster, token: str, context: Context, *, api_base: str | None = None
    ) -> None:
        self._token = token
        self._closing = False
        self.poster = poster
        self._client = routed_client(api_base) if api_base else _gateway_client()
        build_tree(self._client, lambda: context)

    async def serve(self) -> None:
        """The gateway connection; discord.py reconnects by itself, so an end is a stop."""
        try:
            await self._client.start(self._token)
        except discord.LoginFailure as exc:
            raise PlatformDown(LOGIN_REFUSED) from exc
        except discord.PrivilegedIntentsRequired as exc:
            raise PlatformDown(f"discord: {exc}") from exc
        except discord.HTTPException as exc:
            raise PlatformDown(f"discord: the gateway stopped ({exc.status} {exc.code})") from exc
        if not self._closing:
            raise PlatformDown("discord: the gateway connection ended")

    async def close(self) -> None:
        self._closing = True
        await self._client.close()
        await self.poster.close()


def _gateway_client() -> discord.Client:
    return discord.Client(
        intents=discord.Intents(guilds=True), allowed_mentions=discord.AllowedMentions.none()
    )
