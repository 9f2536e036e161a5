"""One stand-in for Slack on 127.0.0.1: the Web API, response_urls, file uploads, Socket Mode.

The bot's own code (slack_sdk's `AsyncWebClient`, Bolt's `respond`, `files_upload_v2`, Bolt's
socket handler) talks to it over real HTTP. It enforces what Slack enforces, so a test fails where
Slack would refuse:

- tokens: no bearer → `not_authed`, an unknown one → `invalid_auth`; each method needs its scopes
  on that token → `missing_scope` with `needed` and `provided`, as Slack answers;
- channels: a deleted one → `channel_not_found` (so is a private one the bot is not in), an
  archived one → `is_archived`; `chat.postMessage` to a public channel the bot has not joined
  needs `chat:write.public` (else `not_in_channel`); uploads, `chat.postEphemeral` and
  `conversations.history` need the bot in the channel (`not_in_channel`), an ephemeral also needs
  the user there; `conversations.join` joins public channels only;
- response_urls: at most five posts within thirty minutes of being issued (`used_url`,
  `expired_url`, HTTP 404), Block Kit within Slack's limits (`invalid_blocks`, HTTP 400);
- rate limits: `rate_limit(method)` answers 429 with Retry-After.

A channel id never configured is a public channel the bot is in; a user id as a channel is the
bot's direct message with that user. Posts are created before they are answered, and an answer can
be held back (`hold`): where a crash or a timeout leaves a post in doubt.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

# What the app manifest in deploy/README.md grants.
BOT_SCOPES = frozenset(
    {
        "commands",
        "chat:write",
        "chat:write.public",
        "channels:history",
        "channels:join",
        "files:write",
        "groups:history",
        "users:read",
    }
)
# Bot token scopes per Web API method (api.slack.com/methods); history depends on the channel.
METHOD_SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "users.info": "users:read",
    "conversations.join": "channels:join",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}
RESPONSE_URL_USES = 5
RESPONSE_URL_LIFETIME = 30 * 60.0  # seconds
MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_SECTION = 3000
MAX_CONTEXT_ELEMENTS = 10
BLOCK_TYPES = frozenset({"header", "section", "context", "divider", "image", "actions"})


@dataclass
class Channel:
    id: str
    private: bool = False
    archived: bool = False
    deleted: bool = False
    bot_member: bool = True
    users: set[str] | None = None  # who is in it; None: everyone


@dataclass(frozen=True)
class Call:
    method: str
    args: dict[str, Any]
    error: str | None  # what Slack answered, None when ok


@dataclass(frozen=True)
class Posted:
    channel: str
    body: dict[str, Any]  # what the bot sent, blocks and metadata parsed
    ts: str


@dataclass(frozen=True)
class Answered:
    url: str  # the response_url's id
    body: dict[str, Any]


@dataclass
class ResponseUrl:
    issued: float
    uses: int = 0


@dataclass(frozen=True)
class Scripted:
    status: int
    error: str
    retry_after: int | None = None


class SlackError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.answer = {"ok": False, "error": error, **extra}


@dataclass
class FakeSlack:
    tokens: dict[str, frozenset[str]] = field(default_factory=dict)  # bot token → its scopes
    app_tokens: set[str] = field(default_factory=set)  # xapp- tokens (Socket Mode)
    channels: dict[str, Channel] = field(default_factory=dict)
    admins: set[str] = field(default_factory=set)  # users.info says is_admin
    base: str = ""  # set when serving: "http://127.0.0.1:PORT" (+ a mount prefix)
    messages: list[Posted] = field(default_factory=list)  # chat.postMessage, made, in order
    ephemerals: list[Posted] = field(default_factory=list)
    responses: list[Answered] = field(default_factory=list)  # accepted response_url posts
    calls: list[Call] = field(default_factory=list)  # every Web API call
    events: list[str] = field(default_factory=list)  # calls, uploads and responses in order
    uploads: list[tuple[str, bytes]] = field(default_factory=list)  # (file id, bytes)
    shared: list[dict[str, Any]] = field(default_factory=list)  # completed uploads' arguments
    auth: set[str] = field(default_factory=set)  # Authorization headers seen
    arrivals: list[tuple[str, float]] = field(default_factory=list)  # (method, monotonic time)
    hold: Callable[[], Awaitable[None]] | None = None  # awaited between making a post and answering
    # Socket Mode: the slash commands sent as envelopes once the websocket opens
    socket_commands: list[tuple[str, str]] = field(default_factory=list)  # (user, text)
    socket_channel: str = "C0CHANNEL"
    opened_with: list[str] = field(default_factory=list)  # Authorization of connections.open
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)  # envelope id → ack
    envelope_urls: dict[str, str] = field(default_factory=dict)  # envelope id → response_url id
    _urls: dict[str, ResponseUrl] = field(default_factory=dict)
    _scripted: dict[tuple[str, int], Scripted] = field(default_factory=dict)  # (method, nth)
    _arrived: dict[str, int] = field(default_factory=dict)  # calls per method so far
    _offset: float = 0.0  # advance()
    _last_ts: float = 0.0
    _files: int = 0

    # set-up -------------------------------------------------------------------------------

    def channel(self, channel_id: str) -> Channel:
        """The channel, made (public, the bot in it) on first mention."""
        return self.channels.setdefault(channel_id, Channel(channel_id))

    def fail(
        self, method: str, error: str, *, status: int = 200, times: int = 1, after: int = 0
    ) -> None:
        """`times` calls of `method` ("response_url" for those), from the one `after` calls from
        now, answer `error` without doing anything."""
        self._script(method, Scripted(status, error), times, after)

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 0) -> None:
        self._script(method, Scripted(429, "ratelimited", retry_after), times, 0)

    def _script(self, method: str, scripted: Scripted, times: int, after: int) -> None:
        first = self._arrived.get(method, 0) + after
        for nth in range(first, first + times):
            self._scripted[(method, nth)] = scripted

    def response_url(self) -> str:
        """A new response_url, as Slack puts one in each slash command's payload."""
        key = f"r{len(self._urls) + 1}"
        self._urls[key] = ResponseUrl(self.now())
        return f"{self.base}/respond/{key}"

    def advance(self, seconds: float) -> None:
        """Move the stand-in's clock (response_url expiry) forward."""
        self._offset += seconds

    def now(self) -> float:
        return time.monotonic() + self._offset

    # what happened ------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    @property
    def attempts(self) -> int:
        """chat.postMessage calls, answered or not (yet)."""
        return self._arrived.get("chat.postMessage", 0)

    def count(self, method: str) -> int:
        return sum(1 for call in self.calls if call.method == method)

    def methods(self) -> list[str]:
        return [call.method for call in self.calls]

    def args(self, method: str) -> dict[str, Any]:
        """The arguments of the one call of `method`."""
        [args] = [call.args for call in self.calls if call.method == method]
        return args

    def reply_to(self, envelope_id: str) -> dict[str, Any] | None:
        """What the bot answered on a Socket Mode envelope's response_url, if anything yet."""
        key = self.envelope_urls.get(envelope_id)
        found = [answered.body for answered in self.responses if answered.url == key]
        return found[0] if found else None

    def errors(self) -> list[tuple[str, str]]:
        return [(call.method, call.error) for call in self.calls if call.error]

    # the Web API --------------------------------------------------------------------------

    async def api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        self.arrivals.append((method, time.monotonic()))
        args = await _arguments(request)
        header = request.headers.get("Authorization", "")
        self.auth.add(header)
        self.events.append(method)
        scripted = self._next_scripted(method)
        try:
            if scripted is not None:
                self.calls.append(Call(method, args, scripted.error))
                return _scripted_answer(scripted)
            if method == "apps.connections.open":
                answer: dict[str, Any] | web.StreamResponse = self._connections_open(header)
            else:
                scopes = self._scopes(header)
                answer = await self._method(method, args, scopes)
        except SlackError as refused:
            self.calls.append(Call(method, args, refused.answer["error"]))
            return web.json_response(refused.answer)
        self.calls.append(Call(method, args, None))
        if isinstance(answer, web.StreamResponse):
            return answer
        return web.json_response({"ok": True, **answer})

    def _next_scripted(self, method: str) -> Scripted | None:
        nth = self._arrived.get(method, 0)
        self._arrived[method] = nth + 1
        return self._scripted.pop((method, nth), None)

    def _scopes(self, header: str) -> frozenset[str]:
        if not header.startswith("Bearer "):
            raise SlackError("not_authed")
        token = header.removeprefix("Bearer ")
        if token not in self.tokens:
            raise SlackError("invalid_auth")
        return self.tokens[token]

    async def _method(
        self, method: str, args: dict[str, Any], scopes: frozenset[str]
    ) -> dict[str, Any] | web.StreamResponse:
        needed = METHOD_SCOPES.get(method)
        if method == "conversations.history":
            needed = "groups:history" if self._known(args).private else "channels:history"
        if needed is None:
            raise SlackError("unknown_method")
        if needed not in scopes:
            raise SlackError("missing_scope", needed=needed, provided=",".join(sorted(scopes)))
        handler: Callable[..., Any] = {
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "users.info": self._users_info,
            "conversations.join": self._join,
            "conversations.history": self._history,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }[method]
        if method == "chat.postMessage":
            return dict(await handler(args, scopes))
        return dict(handler(args))

    def _known(self, args: dict[str, Any], key: str = "channel") -> Channel:
        channel_id = str(args.get(key) or "")
        if not channel_id:
            raise SlackError("channel_not_found")
        channel = self.channel(channel_id)
        if channel.deleted or (channel.private and not channel.bot_member):
            raise SlackError("channel_not_found")
        return channel

    def _postable(self, args: dict[str, Any]) -> Channel:
        channel = self._known(args)
        if channel.archived:
            raise SlackError("is_archived")
        return channel

    async def _post_message(self, args: dict[str, Any], scopes: frozenset[str]) -> dict[str, Any]:
        channel_id = str(args.get("channel") or "")
        if not channel_id.startswith("U"):  # a user id: the bot's direct message with them
            channel = self._postable(args)
            if not channel.bot_member and "chat:write.public" not in scopes:
                raise SlackError("not_in_channel")
        _check_message(args)
        posted = Posted(channel_id, args, self._ts())
        self.messages.append(posted)
        if self.hold is not None:
            await self.hold()
        return {"channel": channel_id, "ts": posted.ts, "message": {"text": args.get("text")}}

    def _post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._postable(args)
        if not channel.bot_member:
            raise SlackError("not_in_channel")
        user = str(args.get("user") or "")
        if channel.users is not None and user not in channel.users:
            raise SlackError("user_not_in_channel")
        _check_message(args)
        posted = Posted(channel.id, args, self._ts())
        self.ephemerals.append(posted)
        return {"message_ts": posted.ts}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user") or "")
        if not user.startswith("U"):
            raise SlackError("user_not_found")
        return {"user": {"id": user, "is_admin": user in self.admins, "is_owner": False}}

    def _join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._known(args)
        if channel.private:
            raise SlackError("method_not_supported_for_channel_type")
        if channel.archived:
            raise SlackError("is_archived")
        already = channel.bot_member
        channel.bot_member = True
        answer: dict[str, Any] = {"channel": {"id": channel.id, "is_member": True}}
        return answer | ({"warning": "already_in_channel"} if already else {})

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Newest first; metadata only with include_all_metadata, as Slack does."""
        channel = self._known(args)
        if not channel.bot_member:
            raise SlackError("not_in_channel")
        with_metadata = str(args.get("include_all_metadata")).lower() in ("1", "true")
        oldest = float(args.get("oldest") or 0)
        found = [
            {"ts": m.ts, "text": m.body.get("text", "")}
            | ({"metadata": m.body["metadata"]} if with_metadata and "metadata" in m.body else {})
            for m in reversed(self.messages)
            if m.channel == channel.id and float(m.ts) >= oldest
        ]
        return {"messages": found, "has_more": False}

    def _upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("filename") or not str(args.get("length") or "").isdigit():
            raise SlackError("invalid_arguments")
        self._files += 1
        file_id = f"F0CHART{self._files}"
        return {"upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files") or []
        uploaded = {file_id for file_id, _ in self.uploads}
        if not files or any(f.get("id") not in uploaded for f in files):
            raise SlackError("file_not_found")
        if args.get("channel_id"):
            channel = self._postable({"channel": args["channel_id"]})
            if not channel.bot_member:
                raise SlackError("not_in_channel")
        self.shared.append(args)
        return {"files": files}

    async def upload(self, request: web.Request) -> web.Response:
        self.events.append("upload")
        self.uploads.append((request.match_info["file"], await request.read()))
        return web.Response(text=f"OK - {request.content_length}")

    def _ts(self) -> str:
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    # response_urls ------------------------------------------------------------------------

    async def respond(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        self.events.append("respond")
        self.arrivals.append(("response_url", time.monotonic()))
        scripted = self._next_scripted("response_url")
        if scripted is not None:
            return _scripted_text(scripted)
        issued = self._urls.get(key)
        if issued is None:
            return web.Response(status=404, text="invalid_url")
        if self.now() - issued.issued > RESPONSE_URL_LIFETIME:
            return web.Response(status=404, text="expired_url")
        if issued.uses >= RESPONSE_URL_USES:
            return web.Response(status=404, text="used_url")
        issued.uses += 1
        body = await request.json()
        try:
            _check_message(body)
        except SlackError as refused:
            return web.Response(status=400, text=refused.answer["error"])
        self.responses.append(Answered(key, body))
        return web.Response(text="ok")

    # Socket Mode --------------------------------------------------------------------------

    def _connections_open(self, header: str) -> dict[str, Any]:
        self.opened_with.append(header)
        if header.removeprefix("Bearer ") not in self.app_tokens:
            raise SlackError("invalid_auth")
        return {"url": self.base.replace("http://", "ws://") + "/link"}

    async def link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0APP"}}
        )
        for index, (user, text) in enumerate(self.socket_commands):
            await socket.send_json(self._envelope(index, user, text))
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                ack = json.loads(message.data)
                self.acks[ack["envelope_id"]] = ack
        return socket

    def _envelope(self, index: int, user: str, text: str) -> dict[str, Any]:
        payload = slash_payload(text, user=user, channel=self.socket_channel)
        url = self.response_url()
        payload |= {"response_url": url, "is_enterprise_install": "false"}
        self.envelope_urls[f"env-{index}"] = url.rsplit("/", 1)[1]
        return {
            "envelope_id": f"env-{index}",
            "type": "slash_commands",
            "payload": payload,
            "accepts_response_payload": True,
            "retry_attempt": 0,
            "retry_reason": "",
        }

    # serving ------------------------------------------------------------------------------

    def add_routes(self, app: web.Application, prefix: str = "") -> None:
        app.router.add_route("*", f"{prefix}/api/{{method}}", self.api)
        app.router.add_post(f"{prefix}/respond/{{key}}", self.respond)
        app.router.add_post(f"{prefix}/upload/{{file}}", self.upload)
        app.router.add_get(f"{prefix}/link", self.link)


def slash_payload(text: str, *, user: str, channel: str, **extra: str) -> dict[str, str]:
    """A `/chipnews` slash command's payload as Slack sends it (without a response_url)."""
    return {
        "token": "legacy-verification-token",
        "team_id": "T0TEAM",
        "team_domain": "chipwire",
        "channel_id": channel,
        "channel_name": "ai-chips",
        "user_id": user,
        "user_name": user.lower(),
        "command": "/chipnews",
        "text": text,
        "api_app_id": "A0APP",
        "trigger_id": "1234.5678.abcdef",
    } | extra


@asynccontextmanager
async def serving(fake: FakeSlack) -> AsyncIterator[FakeSlack]:
    """The stand-in on 127.0.0.1 in this event loop until the block ends."""
    app = web.Application()
    fake.add_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    fake.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield fake
    finally:
        await runner.cleanup()


async def _arguments(request: web.Request) -> dict[str, Any]:
    # slack_sdk sends some methods' arguments in the query string (users.info, files.*)
    args: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        args |= dict(await request.json())
    elif request.method == "POST":
        args |= dict(await request.post())
    for key in ("blocks", "files", "metadata"):
        if isinstance(args.get(key), str):
            args[key] = json.loads(args[key])
    return args


def _scripted_answer(scripted: Scripted) -> web.Response:
    headers = {"Retry-After": str(scripted.retry_after)} if scripted.retry_after is not None else {}
    return web.json_response(
        {"ok": False, "error": scripted.error}, status=scripted.status, headers=headers
    )


def _scripted_text(scripted: Scripted) -> web.Response:
    headers = {"Retry-After": str(scripted.retry_after)} if scripted.retry_after is not None else {}
    return web.Response(status=scripted.status, text=scripted.error, headers=headers)


def _check_message(body: dict[str, Any]) -> None:
    """Slack's refusals of a message body: no text, or blocks beyond Block Kit's rules."""
    blocks = body.get("blocks")
    if not body.get("text") and not blocks:
        raise SlackError("no_text")
    if blocks is not None and not _valid_blocks(blocks):
        raise SlackError("invalid_blocks")


def _valid_blocks(blocks: Any) -> bool:
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return False
    return all(isinstance(b, dict) and _valid_block(b) for b in blocks)


def _valid_block(block: dict[str, Any]) -> bool:
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        return False
    if kind == "header":
        return _text_ok(block.get("text"), MAX_HEADER, ("plain_text",))
    if kind == "section":
        return _text_ok(block.get("text"), MAX_SECTION, ("plain_text", "mrkdwn"))
    if kind == "context":
        elements = block.get("elements") or []
        return 0 < len(elements) <= MAX_CONTEXT_ELEMENTS and all(
            _text_ok(e, MAX_SECTION, ("plain_text", "mrkdwn")) for e in elements
        )
    return True


def _text_ok(value: Any, limit: int, kinds: Iterable[str]) -> bool:
    if not isinstance(value, dict) or value.get("type") not in kinds:
        return False
    text = value.get("text")
    return isinstance(text, str) and 0 < len(text) <= limit
