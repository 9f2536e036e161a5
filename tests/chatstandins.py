"""Discord and Slack stand-ins on 127.0.0.1 for whole-process tests (`chipwire run` as a child).

Both create the message before they answer, as the platforms do, and record every attempt. The
Discord one enforces nonces (`enforce_nonce`: a nonce seen in that channel returns the existing
message); the Slack one keeps message metadata and answers `conversations.history` with it when
`include_all_metadata` is set. Either can hold an answer back (the message already made), which is
where a crash leaves a post in doubt. The server runs on its own thread and event loop, so a test
can drive subprocesses while it answers.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_USER = {"id": "42", "username": "chipwire", "discriminator": "0", "avatar": None, "bot": True}


@dataclass
class Message:
    platform: str
    channel: str
    body: dict[str, Any]


@dataclass
class ChatStandIns:
    base_url: str = ""
    messages: list[Message] = field(default_factory=list)
    attempts: int = 0
    hold_chance: float = 0.0  # share of posts whose answer is held back
    hold_seconds: float = 2.0
    holding: int = 0  # answers being held right now
    seed: int = 0
    _nonces: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _random: random.Random = field(default_factory=random.Random)

    @property
    def discord_api(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def slack_api(self) -> str:
        return f"{self.base_url}/slack/api/"

    async def _hold(self) -> None:
        if self._random.random() < self.hold_chance:
            self.holding += 1
            try:
                await asyncio.sleep(self.hold_seconds)
            finally:
                self.holding -= 1

    # Discord ---------------------------------------------------------------------------------

    async def discord_me(self, request: web.Request) -> web.Response:
        return web.json_response(BOT_USER)

    async def discord_create(self, request: web.Request) -> web.Response:
        channel = request.match_info["channel"]
        body = await _discord_body(request)
        self.attempts += 1
        nonce = body.get("nonce")
        if body.get("enforce_nonce") and (channel, nonce) in self._nonces:
            return web.json_response(self._nonces[(channel, nonce)])
        message = {
            "id": str(10_000 + len(self.messages)),
            "channel_id": channel,
            "content": body.get("content", ""),
            "author": BOT_USER,
            "embeds": body.get("embeds", []),
            "attachments": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": "2026-12-03T07:00:00.000000+00:00",
            "edited_timestamp": None,
            "type": 0,
            "flags": 0,
            "nonce": nonce,
        }
        self.messages.append(Message("discord", channel, body))
        if nonce is not None:
            self._nonces[(channel, nonce)] = message
        await self._hold()
        return web.json_response(message)

    async def discord_unknown(self, request: web.Request) -> web.Response:
        return web.json_response({"message": "404: Not Found", "code": 0}, status=404)

    # Slack -----------------------------------------------------------------------------------

    async def slack_post(self, request: web.Request) -> web.Response:
        body = await _slack_body(request)
        self.attempts += 1
        channel = str(body["channel"])
        ts = f"{time.time():.6f}"
        self.messages.append(Message("slack", channel, body | {"ts": ts}))
        await self._hold()
        return web.json_response({"ok": True, "channel": channel, "ts": ts})

    async def slack_history(self, request: web.Request) -> web.Response:
        args = await _slack_body(request)
        with_metadata = str(args.get("include_all_metadata")).lower() in ("1", "true")
        oldest = float(args.get("oldest") or 0)
        found = [
            {"ts": m.body["ts"], "text": m.body.get("text", "")}
            | ({"metadata": m.body["metadata"]} if with_metadata and "metadata" in m.body else {})
            for m in reversed(self.messages)
            if m.platform == "slack"
            and m.channel == args["channel"]
            and float(m.body["ts"]) >= oldest
        ]
        return web.json_response({"ok": True, "messages": found, "has_more": False})

    async def slack_unknown(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": False, "error": "unknown_method"})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v10/users/@me", self.discord_me)
        app.router.add_post("/api/v10/channels/{channel}/messages", self.discord_create)
        app.router.add_route("*", "/api/v10/{tail:.*}", self.discord_unknown)
        app.router.add_post("/slack/api/chat.postMessage", self.slack_post)
        app.router.add_route("*", "/slack/api/conversations.history", self.slack_history)
        app.router.add_route("*", "/slack/api/{tail:.*}", self.slack_unknown)
        return app


async def _discord_body(request: web.Request) -> dict[str, Any]:
    if request.content_type == "multipart/form-data":
        async for part in await request.multipart():
            if getattr(part, "name", None) == "payload_json":
                return dict(json.loads(await part.text()))  # type: ignore[union-attr]
        return {}
    return dict(await request.json())


async def _slack_body(request: web.Request) -> dict[str, Any]:
    body: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body |= dict(await request.json())
    else:
        body |= dict(await request.post())
    for key in ("blocks", "metadata"):
        if isinstance(body.get(key), str):
            body[key] = json.loads(body[key])
    return body


@contextmanager
def chat_stand_ins(*, hold_chance: float = 0.0, seed: int = 0) -> Iterator[ChatStandIns]:
    """The stand-ins serving on a thread of their own until the block ends."""
    stand_ins = ChatStandIns(hold_chance=hold_chance, seed=seed, _random=random.Random(seed))
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner = web.AppRunner(stand_ins.app(), access_log=None)

    async def start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        stand_ins.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        ready.set()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield stand_ins
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
