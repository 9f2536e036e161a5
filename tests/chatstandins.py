"""Discord and Slack stand-ins on 127.0.0.1 for whole-process tests (`chipwire run` as a child).

Both create the message before they answer, as the platforms do, and record every attempt. The
Discord one enforces nonces (`enforce_nonce`: a nonce seen in that channel returns the existing
message); Slack is the one Slack stand-in (tests/support/fake_slack.py) under `/slack`, which keeps
message metadata and answers `conversations.history` with it when `include_all_metadata` is set.
Either can hold an answer back (the message already made), which is where a crash leaves a post in
doubt. The server runs on its own thread and event loop, so a test can drive subprocesses while it
answers.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.fake_slack import BOT_SCOPES, FakeSlack

SLACK_BOT_TOKEN = "xoxb-crash-test"
BOT_USER = {"id": "42", "username": "chipwire", "discriminator": "0", "avatar": None, "bot": True}


@dataclass
class Message:
    platform: str
    channel: str
    body: dict[str, Any]


@dataclass
class ChatStandIns:
    base_url: str = ""
    discord_messages: list[Message] = field(default_factory=list)
    discord_attempts: int = 0
    slack: FakeSlack = field(
        default_factory=lambda: FakeSlack(tokens={SLACK_BOT_TOKEN: BOT_SCOPES})
    )
    hold_chance: float = 0.0  # share of posts whose answer is held back
    hold_seconds: float = 2.0
    holding: int = 0  # answers being held right now
    seed: int = 0
    _nonces: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _random: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self.slack.hold = self._hold

    @property
    def messages(self) -> list[Message]:
        """Every message made, Discord's then Slack's."""
        slack = [Message("slack", m.channel, m.body | {"ts": m.ts}) for m in self.slack.messages]
        return self.discord_messages + slack

    @property
    def attempts(self) -> int:
        return self.discord_attempts + self.slack.attempts

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
        self.discord_attempts += 1
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
        self.discord_messages.append(Message("discord", channel, body))
        if nonce is not None:
            self._nonces[(channel, nonce)] = message
        await self._hold()
        return web.json_response(message)

    async def discord_unknown(self, request: web.Request) -> web.Response:
        return web.json_response({"message": "404: Not Found", "code": 0}, status=404)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v10/users/@me", self.discord_me)
        app.router.add_post("/api/v10/channels/{channel}/messages", self.discord_create)
        app.router.add_route("*", "/api/v10/{tail:.*}", self.discord_unknown)
        self.slack.add_routes(app, "/slack")
        return app


async def _discord_body(request: web.Request) -> dict[str, Any]:
    if request.content_type == "multipart/form-data":
        async for part in await request.multipart():
            if getattr(part, "name", None) == "payload_json":
                return dict(json.loads(await part.text()))  # type: ignore[union-attr]
        return {}
    return dict(await request.json())


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
        stand_ins.slack.base = f"{stand_ins.base_url}/slack"
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
