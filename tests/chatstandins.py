"""Discord and Slack stand-ins on 127.0.0.1 for whole-process tests (`chipwire run` as a child).

Both create the message before they answer, as the platforms do, and record every attempt. The
Discord one is the one Discord stand-in (tests/support/fake_discord.py), which enforces nonces
(`enforce_nonce`: a nonce seen in that channel returns the existing message); Slack is the one Slack stand-in (tests/support/fake_slack.py) under `/slack`, which keeps
message metadata and answers `conversations.history` with it when `include_all_metadata` is set.
Either can hold an answer back (the message already made), which is where a crash leaves a post in
doubt. The server runs on its own thread and event loop, so a test can drive subprocesses while it
answers.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.fake_discord import MAX_REQUEST, FakeDiscord
from tests.support.fake_slack import BOT_SCOPES, FakeSlack

SLACK_BOT_TOKEN = "xoxb-crash-test"
DISCORD_TOKEN = "MTIz.crash-test.token"


@dataclass
class Message:
    platform: str
    channel: str
    body: dict[str, Any]


@dataclass
class ChatStandIns:
    base_url: str = ""
    discord_messages: list[Message] = field(default_factory=list)
    discord: FakeDiscord = field(default_factory=lambda: FakeDiscord(tokens={DISCORD_TOKEN}))
    slack: FakeSlack = field(
        default_factory=lambda: FakeSlack(tokens={SLACK_BOT_TOKEN: BOT_SCOPES})
    )
    hold_chance: float = 0.0  # share of posts whose answer is held back
    hold_seconds: float = 2.0
    holding: int = 0  # answers being held right now
    seed: int = 0
    _random: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self.slack.hold = self._hold
        self.discord.created = self._discord_created

    @property
    def messages(self) -> list[Message]:
        """Every message made, Discord's then Slack's."""
        slack = [Message("slack", m.channel, m.body | {"ts": m.ts}) for m in self.slack.messages]
        return self.discord_messages + slack

    @property
    def attempts(self) -> int:
        return len(self.discord.attempts) + self.slack.attempts

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

    async def _discord_created(self, channel: str, body: dict[str, Any]) -> None:
        self.discord_messages.append(Message("discord", channel, body))
        await self._hold()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST)
        self.discord.routes(app)
        self.slack.add_routes(app, "/slack")
        return app


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
