"""Digests to Discord channels through discord.py's own HTTP layer (no gateway connection).

Each rendered part goes out as one "create message" call with its own nonce, derived from the
delivery's, and `enforce_nonce`, so a resend of a part Discord already took returns the existing
message instead of creating a second one. The delivery's journal says which parts were accepted
(skipped) and which are in doubt (a crash or a lost answer between "intended" and "accepted"):
those are resent with the same nonce. A digest's chart is a file on the last part (the same call,
so the same nonce covers it). A channel that is gone raises `DeadTarget`, another refusal
`Refused`; anything else (a timeout, a dropped connection, a 5xx) leaves the part in doubt.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import discord
from discord.http import HTTPClient, MultipartParameters, Route, handle_message_parameters

from bot.models import Attachment, Digest, Subscription, Target
from bot.platforms.discord.render import (
    MAX_FILE_DESCRIPTION,
    attachment_name,
    chart_fits,
    render_discord,
)
from bot.platforms.journal import (
    ACCEPTED,
    DeadTarget,
    MemoryJournal,
    PartJournal,
    Refused,
    fit_nonce,
)
from bot.text import one_line, truncate

# Unknown Channel, Missing Access: the channel is deleted or the bot was removed from it
DEAD_CHANNEL_CODES = frozenset({10003, 50001})


class _RoutedHTTPClient(HTTPClient):
    """discord.py's client, sending to `api_base` instead of `Route.BASE` when one is given.

    Every call (the login's `GET /users/@me` included) passes through `request`, so rewriting
    the route's URL here redirects this client alone. Setting `Route.BASE` would redirect every
    discord.py client in the process, the slash-command adapter's too, bot token and all.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, api_base: str | None) -> None:
        super().__init__(loop)
        self._api_base = api_base.rstrip("/") if api_base else None

    async def request(self, route: Route, **kwargs: Any) -> Any:
        if self._api_base and route.url.startswith(Route.BASE):
            route.url = self._api_base + route.url[len(Route.BASE) :]
        return await super().request(route, **kwargs)


def channel_id(target: str) -> int:
    """The channel of a "discord:<channel id>" target."""
    try:
        parsed = Target.parse(target)
    except ValueError:
        parsed = None
    if parsed is None or parsed.platform != "discord":
        raise ValueError(f"not a Discord channel target: {target!r}")
    return int(parsed.channel)


def part_nonce(nonce: str, index: int) -> str:
    """Part `index`'s nonce: readable when it fits Discord's 25 characters, else a stable hash."""
    return fit_nonce(f"{nonce}p{index}")


def chart_file(chart: Attachment) -> discord.File:
    """The chart as a file an embed can show with `attachment://<its filename>`."""
    return discord.File(
        io.BytesIO(chart.data),
        filename=attachment_name(chart.filename),
        description=truncate(one_line(chart.description), MAX_FILE_DESCRIPTION) or None,
    )


def message_params(
    payload: Mapping[str, Any], nonce: str | None, files: Sequence[discord.File] = ()
) -> MultipartParameters:
    """A rendered payload (and files) as discord.py's request parameters; mentions always off."""
    options: dict[str, Any] = {}
    if "content" in payload:
        options["content"] = payload["content"]
    if files:
        options["files"] = list(files)
    params = handle_message_parameters(
        embeds=[discord.Embed.from_dict(e) for e in payload.get("embeds", ())],
        allowed_mentions=discord.AllowedMentions.none(),
        nonce=nonce,
        **options,
    )
    if nonce is not None:
        _enforce_nonce(params)
    return params


def _enforce_nonce(params: MultipartParameters) -> None:
    """discord.py >= 2.4 adds `enforce_nonce` itself; older versions send the nonce unenforced.
    With files the payload is already serialised into the `payload_json` part."""
    if params.payload is not None:
        params.payload.setdefault("enforce_nonce", True)
    for part in params.multipart or ():
        if part["name"] == "payload_json":
            payload = json.loads(part["value"])
            payload.setdefault("enforce_nonce", True)
            part["value"] = json.dumps(payload)


def _chart_files(digest: Digest) -> list[discord.File]:
    """The chart for the last part; none when too large (the rendered embed says so)."""
    if digest.chart is None or not chart_fits(digest.chart):
        return []
    return [chart_file(digest.chart)]


def classified(exc: discord.HTTPException) -> Exception:
    """A platform refusal as the delivery queue's terms; a 5xx stays in doubt (re-raised as is)."""
    if exc.status == 404 or exc.code in DEAD_CHANNEL_CODES:
        return DeadTarget(f"Discord: {exc.status} {exc.code} {exc.text}".strip())
    if 400 <= exc.status < 500:
        return Refused(f"Discord: {exc.status} {exc.code} {exc.text}".strip())
    return exc


class DiscordPoster:
    """Posts digests to "discord:<channel id>" targets with a bot token."""

    def __init__(
        self,
        token: str,
        company_names: Mapping[str, str] | None = None,
        *,
        api_base: str | None = None,
        dedupe: bool = True,
    ) -> None:
        """`api_base` replaces "https://discord.com/api/v10" (tests, proxies). `dedupe=False`
        (tests only) sends no nonce, to show what the nonce prevents."""
        self._token = token
        self._dedupe = dedupe
        self.company_names: Mapping[str, str] = company_names or {}
        self._api_base = api_base
        self._http: _RoutedHTTPClient | None = None
        self._login = asyncio.Lock()

    def __repr__(self) -> str:
        return f"DiscordPoster(api_base={self._api_base!r})"

    async def post(
        self,
        subscription: Subscription,
        digest: Digest,
        nonce: str,
        journal: PartJournal | None = None,
    ) -> None:
        journal = journal or MemoryJournal()
        channel = channel_id(subscription.target)
        payloads = render_discord(digest, self.company_names)
        if not payloads:
            return
        http = await self._client()
        last = len(payloads) - 1
        for index, payload in enumerate(payloads):
            part = str(index)
            if await journal.state(part) == ACCEPTED:
                continue
            await journal.intend(part)  # in doubt already: the same nonce makes a resend safe
            files = _chart_files(digest) if index == last else []
            params = message_params(payload, self._nonce(nonce, index), files)
            try:
                await http.send_message(channel, params=params)
            except discord.HTTPException as exc:
                raise classified(exc) from exc
            await journal.accept(part)

    def _nonce(self, nonce: str, index: int) -> str | None:
        return part_nonce(nonce, index) if self._dedupe else None

    async def _client(self) -> _RoutedHTTPClient:
        """The logged-in client, created on first use (it needs the running loop)."""
        async with self._login:
            if self._http is None:
                http = _RoutedHTTPClient(asyncio.get_running_loop(), self._api_base)
                try:
                    await http.static_login(self._token)
                except BaseException:
                    await http.close()
                    raise
                self._http = http
            return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
