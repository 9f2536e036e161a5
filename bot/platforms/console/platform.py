"""The console as a platform: it prints digests and takes no commands while the bot runs."""

from __future__ import annotations

from collections.abc import Sequence

from bot.platforms.base import Route
from bot.platforms.console.poster import ConsolePoster


class ConsolePlatform:
    name = "console"
    listening: str | None = None
    routes: Sequence[Route] = ()

    def __init__(self, poster: ConsolePoster) -> None:
        self.poster = poster

    async def serve(self) -> None:
        return None

    async def close(self) -> None:
        return None
