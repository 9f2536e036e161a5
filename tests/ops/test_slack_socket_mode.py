"""`chipwire run`'s Slack Socket Mode path against a stand-in for Slack on 127.0.0.1.

`build_bot` and `serve_platforms` are the real start-up: Bolt's socket handler asks `apps.connections.open` (on
SLACK_API_URL, with the app-level token) for a websocket URL, connects, gets `hello`, then slash
command envelopes. The bot acks each envelope over the websocket and answers on its response_url.
Nothing reaches Slack's own servers.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from bot.app import build_app, build_bot
from bot.run import serve_platforms
from bot.settings import load_settings

BOT_TOKEN = "xoxb-1111-2222-socketsecret"
APP_TOKEN = "xapp-1-A111-2222-appsecret"
LISTED = "ULISTED01"  # [chat] slack_admins
FROM_ENV = "UENVADMIN"  # SLACK_ADMINS
MEMBER = "UMEMBER01"  # neither; users.info says not an admin


@dataclass
class SlackStandIn:
    """apps.connections.open, the Socket Mode websocket, response_urls and the Web API."""

    commands: list[tuple[str, str]]  # (user id, text), one envelope each
    base: str = ""
    opened_with: list[str] = field(default_factory=list)  # Authorization of connections.open
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)  # envelope id → ack
    replies: dict[str, dict[str, Any]] = field(default_factory=dict)  # envelope id → reply
    api_calls: list[str] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def envelope(self, index: int, user: str, text: str) -> dict[str, Any]:
        payload = {
            "token": "legacy-verification-token",
            "team_id": "T0TEAM",
            "team_domain": "chipwire",
            "channel_id": "C0CHANNEL",
            "channel_name": "chips",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/chipnews",
            "text": text,
            "api_app_id": "A0APP",
            "is_enterprise_install": "false",
            "response_url": f"{self.base}/respond/env-{index}",
            "trigger_id": f"trigger-{index}",
        }
        return {
            "envelope_id": f"env-{index}",
            "type": "slash_commands",
            "payload": payload,
            "accepts_response_payload": True,
            "retry_attempt": 0,
            "retry_reason": "",
        }

    def _check_done(self) -> None:
        if len(self.acks) == len(self.replies) == len(self.commands):
            self.done.set()

    async def connections_open(self, request: web.Request) -> web.Response:
        self.opened_with.append(request.headers.get("Authorization", ""))
        port = request.url.port
        return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{port}/link"})

    async def link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0APP"}}
        )
        for index, (user, text) in enumerate(self.commands):
            await socket.send_json(self.envelope(index, user, text))
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                ack = json.loads(message.data)
                self.acks[ack["envelope_id"]] = ack
                self._check_done()
        return socket

    async def respond(self, request: web.Request) -> web.Response:
        self.replies[request.match_info["envelope"]] = await request.json()
        self._check_done()
        return web.Response(text="ok")

    async def api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.api_calls.append(method)
        if method == "users.info":
            user = request.query.get("user") or (await request.post()).get("user")
            return web.json_response({"ok": True, "user": {"id": user, "is_admin": False}})
        return web.json_response({"ok": False, "error": "unknown_method"})


async def serve(stand_in: SlackStandIn) -> web.AppRunner:
    app = web.Application()
    app.router.add_post("/api/apps.connections.open", stand_in.connections_open)
    app.router.add_route("*", "/api/{method}", stand_in.api)
    app.router.add_get("/link", stand_in.link)
    app.router.add_post("/respond/{envelope}", stand_in.respond)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    stand_in.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    return runner


@pytest.fixture
async def stand_in() -> AsyncIterator[SlackStandIn]:
    slack = SlackStandIn(
        commands=[
            (MEMBER, "help"),
            (LISTED, "unsubscribe"),
            (FROM_ENV, "unsubscribe"),
            (MEMBER, "unsubscribe"),
        ]
    )
    runner = await serve(slack)
    try:
        yield slack
    finally:
        await runner.cleanup()


def title(reply: dict[str, Any]) -> str:
    return str(reply["blocks"][0]["text"]["text"])


async def test_socket_mode_acks_and_answers_without_reaching_slack_or_a_signing_secret(
    tmp_path: Path, stand_in: SlackStandIn
) -> None:
    config = tmp_path / "chipwire.toml"
    config.write_text(
        f'[chipwire]\ndata_dir = "data"\nparse_workers = 0\n[chat]\nslack_admins = ["{LISTED}"]\n'
    )
    settings = load_settings(config, environ={"SLACK_ADMINS": FROM_ENV})
    environ = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": f"{stand_in.base}/api/",
    }
    out = io.StringIO()
    app = await build_app(settings, parse_workers=0)
    async with app:
        bot = build_bot(app, out=out, environ=environ, slack_mode="socket")
        serving = serve_platforms(bot.platforms)
        try:
            assert [p.listening for p in bot.platforms if p.listening] == ["slack (socket mode)"]
            await asyncio.wait_for(stand_in.done.wait(), timeout=20)
        finally:
            await bot.close()
            for task in serving:
                task.cancel()
    assert stand_in.opened_with == [f"Bearer {APP_TOKEN}"]
    assert set(stand_in.acks) == {"env-0", "env-1", "env-2", "env-3"}
    assert all(ack == {"envelope_id": key} for key, ack in stand_in.acks.items())
    help_reply = stand_in.replies["env-0"]
    assert help_reply["response_type"] == "ephemeral"
    assert title(help_reply) == "ChipWire commands"
    # Listed admins (config and environment) pass the check without asking Slack.
    assert "no subscription" in title(stand_in.replies["env-1"])
    assert "no subscription" in title(stand_in.replies["env-2"])
    assert "Only admins" in title(stand_in.replies["env-3"])
    assert stand_in.api_calls == ["users.info"]
    assert BOT_TOKEN not in out.getvalue() and APP_TOKEN not in out.getvalue()


async def test_http_mode_without_a_signing_secret_says_what_to_set(tmp_path: Path) -> None:
    config = tmp_path / "chipwire.toml"
    config.write_text('[chipwire]\ndata_dir = "data"\nparse_workers = 0\n')
    settings = load_settings(config, environ={})
    environ = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": "http://127.0.0.1:9/api/"}
    out = io.StringIO()
    app = await build_app(settings, parse_workers=0)
    async with app:
        bot = build_bot(app, out=out, environ=environ, slack_mode="http")
        await bot.close()
    assert [p.listening for p in bot.platforms] == [None, None]
    assert [r for p in bot.platforms for r in p.routes] == []
    assert "Slack over HTTP needs SLACK_SIGNING_SECRET" in out.getvalue()
    assert "--slack-mode socket" in out.getvalue()
