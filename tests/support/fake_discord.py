"""One Discord stand-in on 127.0.0.1 for every test that talks to Discord through discord.py.

It answers the REST calls ChipWire makes (login, channel messages, command sync, interaction
callbacks, follow-ups and edits of the original response) and enforces what Discord enforces,
with Discord's status, error code and body, as JSON labelled exactly `application/json` (the
only label discord.py parses, so its exceptions carry the code):

* a token it does not know: 401 (discord.py raises `LoginFailure` at login);
* a deleted channel: 404, 10003 Unknown Channel; a channel the bot cannot see: 403, 50001
  Missing Access; one where it lacks a permission: 403, 50013 Missing Permissions;
* a rate limit: 429 with `Retry-After`, the `X-RateLimit-*` headers and `retry_after` in the
  body (discord.py waits and retries on its own);
* an invalid form (a nonce over 25 characters, an embed URL that is not well formed): 400, 50035;
* files over the upload limit (10 MiB without boosts): 413, 40005 Request entity too large;
* `enforce_nonce`: a nonce seen in the channel answers with the message it made, nothing new;
* an interaction acknowledged twice: 400, 40060; a follow-up to one never acknowledged: 404,
  10015 Unknown Webhook; the first follow-up after a defer edits the deferred response (keeping
  the defer's privacy, whatever its own flags say), as Discord documents.

`shown(token)` is what the user sees of an interaction: still "thinking…", or the answer and
whether it is private. `serving()` runs it in the test's event loop; `routes(app)` mounts it
into another server (the whole-process stand-ins in `tests/chatstandins.py`).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import discord
from aiohttp import BodyPartReader, web

TOKEN = "MTIz.fake-bot-token.secret"
APP_ID = "42"
API = "/api/v10"
EPHEMERAL = 64
UPLOAD_LIMIT = 10 * 1024 * 1024  # Discord's default for a bot, in a server without boosts
MAX_NONCE = 25
MAX_REQUEST = 64 * 1024 * 1024  # aiohttp's own cap (1 MiB by default) must not come first
BOT_USER = {"id": APP_ID, "username": "chipwire", "discriminator": "0", "avatar": None, "bot": True}
DEFERRED, MESSAGE = 5, 4  # interaction callback types


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    body = json.dumps(data).encode()
    return web.Response(
        body=body, status=status, headers={"Content-Type": "application/json", **(headers or {})}
    )


def _error(status: int, code: int, message: str, errors: Any = None) -> web.Response:
    body: dict[str, Any] = {"message": message, "code": code}
    if errors is not None:
        body["errors"] = errors
    return _json(body, status)


@dataclass(frozen=True)
class Upload:
    field: str
    filename: str | None
    data: bytes


@dataclass
class Call:
    """One request as Discord received it."""

    method: str
    path: str
    body: Any
    auth: str
    uploads: tuple[Upload, ...] = ()


@dataclass
class Shown:
    """What the user sees of one interaction."""

    thinking: bool  # deferred and never answered: Discord shows "thinking…" until it times out
    ephemeral: bool
    message: dict[str, Any] | None  # the answer's body (embeds, attachments, flags)
    followups: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Interaction:
    kind: int
    ephemeral: bool
    original: dict[str, Any] | None = None
    followups: list[dict[str, Any]] = field(default_factory=list)


Hook = Callable[[str, dict[str, Any]], Awaitable[None]]


@dataclass
class FakeDiscord:
    """Records every call; answers like Discord (see the module's list of rules)."""

    base: str = ""  # "http://127.0.0.1:<port>/api/v10" once serving
    tokens: set[str] = field(default_factory=lambda: {TOKEN})
    upload_limit: int = UPLOAD_LIMIT
    calls: list[Call] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)  # channel messages made
    logins: int = 0
    gone: set[str] = field(default_factory=set)  # deleted channels: 10003
    hidden: set[str] = field(default_factory=set)  # channels the bot cannot see: 50001
    forbidden: set[str] = field(default_factory=set)  # channels it may not post in: 50013
    retry_after: float = 0.01  # what a 429 asks discord.py to wait
    created: Hook | None = None  # awaited after a channel message is made, before the answer
    acknowledged: asyncio.Event = field(default_factory=asyncio.Event)  # an interaction was
    _failures: dict[int, int] = field(default_factory=dict)  # create attempt -> status
    _limited: int = 0  # create attempts still to answer with 429
    _by_nonce: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _interactions: dict[str, _Interaction] = field(default_factory=dict)  # by token

    # what tests read ---------------------------------------------------------------------

    @property
    def auth(self) -> set[str]:
        return {call.auth for call in self.calls}

    @property
    def attempts(self) -> list[dict[str, Any]]:
        """Every "create message" body, refused ones included, in order."""
        return [call.body for call in self._creates()]

    def _creates(self) -> list[Call]:
        pattern = re.compile(rf"{API}/channels/\d+/messages")
        return [c for c in self.calls if c.method == "POST" and pattern.fullmatch(c.path)]

    def attempt_files(self) -> dict[int, list[tuple[str | None, bytes]]]:
        """The files of each "create message" attempt that had any, by attempt number."""
        return {
            n: [(u.filename, u.data) for u in call.uploads]
            for n, call in enumerate(self._creates())
            if call.uploads
        }

    @property
    def uploads(self) -> list[Upload]:
        return [upload for call in self.calls for upload in call.uploads]

    def posted(self, pattern: str) -> list[Any]:
        """Bodies of the calls whose path matches `pattern` in full."""
        return [call.body for call in self.calls if re.fullmatch(pattern, call.path)]

    def nonces(self, bodies: list[dict[str, Any]] | None = None) -> list[str]:
        return [b["nonce"] for b in (self.messages if bodies is None else bodies)]

    def shown(self, token: str) -> Shown:
        state = self._interactions.get(token)
        if state is None:
            raise AssertionError(f"interaction {token!r} was never acknowledged")
        return Shown(
            thinking=state.kind == DEFERRED and state.original is None,
            ephemeral=state.ephemeral,
            message=state.original,
            followups=state.followups,
        )

    # what tests arrange ------------------------------------------------------------------

    def fail(self, status: int, *, times: int = 1, after: int = 0) -> None:
        """Answer `times` "create message" attempts with `status`, `after` more from now."""
        first = len(self._creates()) + after
        self._failures.update({n: status for n in range(first, first + times)})

    def rate_limit(self, times: int = 1) -> None:
        """Answer the next `times` "create message" attempts with 429 and a Retry-After."""
        self._limited += times

    # the routes --------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_get(f"{API}/users/@me", self._me)
        app.router.add_get(f"{API}/oauth2/applications/@me", self._application)
        app.router.add_post(f"{API}/channels/{{channel}}/messages", self._create_message)
        app.router.add_post(f"{API}/interactions/{{id}}/{{token}}/callback", self._callback)
        app.router.add_post(f"{API}/webhooks/{{app}}/{{token}}", self._followup)
        original = f"{API}/webhooks/{{app}}/{{token}}/messages/@original"
        app.router.add_patch(original, self._edit_original)
        app.router.add_delete(original, self._delete_original)
        app.router.add_put(f"{API}/applications/{{app}}/commands", self._bulk_commands)
        app.router.add_put(f"{API}/applications/{{app}}/guilds/{{g}}/commands", self._bulk_commands)
        app.router.add_route("*", f"{API}/{{tail:.*}}", self._unknown)

    async def _record(self, request: web.Request) -> Call:
        uploads: list[Upload] = []
        body: Any = None
        if request.content_type == "multipart/form-data":
            async for part in await request.multipart():
                assert isinstance(part, BodyPartReader)
                if part.name == "payload_json":
                    body = json.loads(await part.text())
                else:
                    uploads.append(Upload(part.name or "", part.filename, bytes(await part.read())))
        elif request.can_read_body:
            body = await request.json()
        call = Call(
            request.method,
            request.path,
            body,
            request.headers.get("Authorization", ""),
            tuple(uploads),
        )
        self.calls.append(call)
        return call

    def _authorised(self, call: Call) -> bool:
        return call.auth in {f"Bot {token}" for token in self.tokens}

    async def _me(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        self.logins += 1
        if not self._authorised(call):
            return _error(401, 0, "401: Unauthorized")
        return _json(BOT_USER)

    async def _application(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        if not self._authorised(call):
            return _error(401, 0, "401: Unauthorized")
        owner = {"id": "1", "username": "owner", "discriminator": "0", "avatar": None}
        return _json(
            {
                "id": APP_ID,
                "name": "ChipWire",
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": owner,
                "verify_key": "00",
                "flags": 0,
            }
        )

    async def _bulk_commands(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        if not self._authorised(call):
            return _error(401, 0, "401: Unauthorized")
        return _json(
            [
                {**cmd, "id": str(900 + n), "application_id": APP_ID, "version": "1"}
                for n, cmd in enumerate(call.body)
            ]
        )

    async def _unknown(self, request: web.Request) -> web.Response:
        await self._record(request)
        return _error(404, 0, "404: Not Found")

    # channel messages --------------------------------------------------------------------

    async def _create_message(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        attempt = len(self._creates()) - 1
        channel = request.match_info["channel"]
        refusal = self._refusal(call, channel) or self._invalid(call)
        if refusal is not None:
            return refusal
        status = self._failures.pop(attempt, None)
        if status is not None:
            return _error(status, 0, "boom")
        body = call.body or {}
        nonce = body.get("nonce")
        if body.get("enforce_nonce") and (channel, nonce) in self._by_nonce:
            return _json(self._by_nonce[(channel, nonce)])
        message = self._message(channel, body, call.uploads)
        self.messages.append(body)
        if nonce is not None:
            self._by_nonce[(channel, str(nonce))] = message
        if self.created is not None:
            await self.created(channel, body)
        return _json(message)

    def _refusal(self, call: Call, channel: str) -> web.Response | None:
        if not self._authorised(call):
            return _error(401, 0, "401: Unauthorized")
        if channel in self.gone:
            return _error(404, 10003, "Unknown Channel")
        if channel in self.hidden:
            return _error(403, 50001, "Missing Access")
        if channel in self.forbidden:
            return _error(403, 50013, "Missing Permissions")
        if self._limited:
            self._limited -= 1
            return self._too_many()
        return None

    def _too_many(self) -> web.Response:
        headers = {
            "Retry-After": str(max(1, round(self.retry_after))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": str(self.retry_after),
            "X-RateLimit-Bucket": "fake-bucket",
            "X-RateLimit-Scope": "user",
            "Via": "1.1 google",  # discord.py takes a 429 without it for a Cloudflare ban
        }
        body = {"message": "You are being rate limited.", "retry_after": self.retry_after}
        return _json(body | {"global": False, "code": 0}, 429, headers)

    def _invalid(self, call: Call) -> web.Response | None:
        """Discord's form checks: the nonce's length, embed URLs, the upload limit."""
        body = call.body or {}
        if len(str(body.get("nonce") or "")) > MAX_NONCE:
            return _invalid_form({"nonce": _field_error("BASE_TYPE_MAX_LENGTH", "Too long.")})
        for index, embed in enumerate(body.get("embeds") or ()):
            bad = _bad_embed_urls(embed)
            if bad:
                return _invalid_form({"embeds": {str(index): bad}})
        if sum(len(u.data) for u in call.uploads) > self.upload_limit:
            return _error(413, 40005, "Request entity too large")
        return None

    def _message(
        self, channel: str, body: dict[str, Any], uploads: tuple[Upload, ...] = ()
    ) -> dict[str, Any]:
        return {
            "id": str(1000 + len(self.calls)),
            "channel_id": channel,
            "content": body.get("content", ""),
            "author": BOT_USER,
            "embeds": body.get("embeds", []),
            "attachments": [
                {
                    "id": str(n),
                    "filename": u.filename or "",
                    "size": len(u.data),
                    "url": f"https://cdn.discordapp.invalid/{n}/{u.filename}",
                    "proxy_url": f"https://media.discordapp.invalid/{n}/{u.filename}",
                }
                for n, u in enumerate(uploads)
            ],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": "2026-11-28T07:00:00.000000+00:00",
            "edited_timestamp": None,
            "type": 0,
            "flags": body.get("flags", 0),
            "nonce": body.get("nonce"),
        }

    # interactions ------------------------------------------------------------------------

    async def _callback(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        token = request.match_info["token"]
        if token in self._interactions:
            return _error(400, 40060, "Interaction has already been acknowledged.")
        body = call.body or {}
        data = body.get("data") or {}
        kind = int(body["type"])
        if kind == MESSAGE:
            refusal = self._invalid(Call(call.method, call.path, data, call.auth, call.uploads))
            if refusal is not None:
                return refusal
        ephemeral = bool(int(data.get("flags") or 0) & EPHEMERAL)
        state = _Interaction(kind, ephemeral)
        if kind == MESSAGE:
            state.original = data
        self._interactions[token] = state
        self.acknowledged.set()
        return _json(
            {
                "interaction": {
                    "id": request.match_info["id"],
                    "type": 2,
                    "response_message_loading": kind == DEFERRED,
                    "response_message_ephemeral": ephemeral,
                },
                "resource": {"type": kind},
            }
        )

    def _acknowledged(self, token: str) -> _Interaction | None:
        return self._interactions.get(token)

    async def _followup(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        state = self._acknowledged(request.match_info["token"])
        if state is None:
            return _error(404, 10015, "Unknown Webhook")
        refusal = self._invalid(call)
        if refusal is not None:
            return refusal
        body = dict(call.body or {})
        if state.kind == DEFERRED and state.original is None:
            # Discord: the first follow-up after a defer edits the deferred response.
            state.original = body | {"flags": EPHEMERAL if state.ephemeral else 0}
            return _json(self._message("0", state.original, call.uploads))
        state.followups.append(body)
        return _json(self._message("0", body, call.uploads))

    async def _edit_original(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        state = self._acknowledged(request.match_info["token"])
        if state is None:
            return _error(404, 10015, "Unknown Webhook")
        refusal = self._invalid(call)
        if refusal is not None:
            return refusal
        state.original = (state.original or {}) | dict(call.body or {})
        flags = EPHEMERAL if state.ephemeral else 0
        return _json(self._message("0", state.original | {"flags": flags}, call.uploads))

    async def _delete_original(self, request: web.Request) -> web.Response:
        await self._record(request)
        state = self._acknowledged(request.match_info["token"])
        if state is None:
            return _error(404, 10015, "Unknown Webhook")
        state.original = {"deleted": True}
        return web.Response(status=204)

    # serving -----------------------------------------------------------------------------

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[FakeDiscord]:
        """Serve on 127.0.0.1 in the running event loop until the block ends."""
        app = web.Application(client_max_size=MAX_REQUEST)
        self.routes(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            self.base = f"http://127.0.0.1:{runner.addresses[0][1]}{API}"
            yield self
        finally:
            await runner.cleanup()


def _field_error(code: str, message: str) -> dict[str, Any]:
    return {"_errors": [{"code": code, "message": message}]}


def _invalid_form(errors: dict[str, Any]) -> web.Response:
    return _error(400, 50035, "Invalid Form Body", errors)


def _bad_embed_urls(embed: dict[str, Any]) -> dict[str, Any]:
    """Discord's "Not a well formed URL." for an embed's link and image."""
    bad: dict[str, Any] = {}
    if "url" in embed and not well_formed(embed["url"]):
        bad["url"] = _field_error("URL_TYPE_INVALID_URL", "Not a well formed URL.")
    image = (embed.get("image") or {}).get("url")
    if image is not None and not well_formed(image, attachment=True):
        bad["image"] = {"url": _field_error("URL_TYPE_INVALID_URL", "Not a well formed URL.")}
    return bad


def well_formed(url: str, *, attachment: bool = False) -> bool:
    """An http(s) URL with a host and no whitespace (or `attachment://name` for an image)."""
    if any(ch.isspace() for ch in url) or len(url) > 2048:
        return False
    try:
        parts = urlsplit(url)
        parts.hostname  # noqa: B018 - raises on a malformed address such as "http://[::1"
    except ValueError:
        return False
    if attachment and parts.scheme == "attachment":
        return bool(parts.netloc)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def app_permissions(**missing: bool) -> str:
    """The bot's permissions in the channel as an interaction carries them, minus `missing`
    (names as discord.py spells them: send_messages=True removes Send Messages)."""
    granted = discord.Permissions.all()
    granted.update(**{name: False for name, off in missing.items() if off})
    return str(granted.value)
