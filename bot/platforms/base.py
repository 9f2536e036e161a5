"""What every platform is to `chipwire run`: a name, a poster for digests, and commands to serve.

`bot/app.py` builds one `Platform` per platform that has credentials (the console always);
`bot/run.py` serves them and closes them. Each platform folder has the same shape: `render.py`
(pure), `poster.py` (digests out), `commands.py` (commands in) and `platform.py` (this protocol).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from aiohttp import web

from bot.digest.deliver import Poster

# An HTTP route the platform needs on the run server (Slack's /slack/events in HTTP mode).
Route = tuple[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]


class PlatformDown(Exception):
    """A platform can no longer serve commands; the message says why and what to do, and holds
    no secret (it is shown on /healthz)."""


class Platform(Protocol):
    @property
    def name(self) -> str:
        """The target prefix digests are addressed to: "console", "discord", "slack"."""
        ...

    @property
    def poster(self) -> Poster: ...

    @property
    def listening(self) -> str | None:
        """How commands reach it ("slack (socket mode)"), or None when it takes none."""
        ...

    @property
    def routes(self) -> Sequence[Route]: ...

    async def serve(self) -> None:
        """Answer commands until cancelled or closed; returns at once when it takes none.
        Raises `PlatformDown` when it cannot serve any more (a refused token, say)."""
        ...

    async def close(self) -> None: ...
