"""`chipwire run`'s Slack Socket Mode path against the Slack stand-in (tests/support/fake_slack.py).

`build_bot` and `serve_platforms` are the real start-up: Bolt's socket handler asks `apps.connections.open` (on
SLACK_API_URL, with the app-level token) for a websocket URL, connects, gets `hello`, then slash
command envelopes. The bot acks each envelope over the websocket and answers on its response_url.
Nothing reaches Slack's own servers.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_app, build_bot
from bot.run import serve_platforms
from bot.settings import load_settings
from tests.support.fake_slack import BOT_SCOPES, FakeSlack, serving

BOT_TOKEN = "xoxb-1111-2222-socketsecret"
APP_TOKEN = "xapp-1-A111-2222-appsecret"
LISTED = "ULISTED01"  # [chat] slack_admins
FROM_ENV = "UENVADMIN"  # SLACK_ADMINS
MEMBER = "UMEMBER01"  # neither; users.info says not an admin


COMMANDS = [
    (MEMBER, "help"),
    (LISTED, "unsubscribe"),
    (FROM_ENV, "unsubscribe"),
    (MEMBER, "unsubscribe"),
]
ENVELOPES = [f"env-{index}" for index in range(len(COMMANDS))]


@pytest.fixture
async def stand_in() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack(
        tokens={BOT_TOKEN: BOT_SCOPES}, app_tokens={APP_TOKEN}, socket_commands=list(COMMANDS)
    )
    async with serving(slack):
        yield slack


async def answered(slack: FakeSlack) -> None:
    """Until every envelope is acked and answered."""
    # The stand-in only records what arrives; it has no event to wait on.
    while set(slack.acks) != set(ENVELOPES) or any(slack.reply_to(e) is None for e in ENVELOPES):  # noqa: ASYNC110
        await asyncio.sleep(0.05)


def reply(slack: FakeSlack, envelope: str) -> dict[str, Any]:
    found = slack.reply_to(envelope)
    assert found is not None
    return found


def title(reply: dict[str, Any]) -> str:
    return str(reply["blocks"][0]["text"]["text"])


async def test_socket_mode_acks_and_answers_without_reaching_slack_or_a_signing_secret(
    tmp_path: Path, stand_in: FakeSlack
) -> None:
    config = tmp_path / "chipwire.toml"
    config.write_text(
        f'[chipwire]\ndata_dir = "data"\nparse_workers = 0\n[chat]\nslack_admins = ["{LISTED}"]\n'
    )
    settings = load_settings(config, environ={"SLACK_ADMINS": FROM_ENV})
    environ = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": stand_in.api_url,
    }
    out = io.StringIO()
    app = await build_app(settings, parse_workers=0)
    async with app:
        bot = build_bot(app, out=out, environ=environ, slack_mode="socket")
        serving = serve_platforms(bot.platforms, bot.running.liveness)
        try:
            assert [p.listening for p in bot.platforms if p.listening] == ["slack (socket mode)"]
            await asyncio.wait_for(answered(stand_in), timeout=20)
        finally:
            await bot.close()
            for task in serving:
                task.cancel()
    assert stand_in.opened_with == [f"Bearer {APP_TOKEN}"]
    assert set(stand_in.acks) == set(ENVELOPES)
    assert all(ack == {"envelope_id": key} for key, ack in stand_in.acks.items())
    help_reply = reply(stand_in, "env-0")
    assert help_reply["response_type"] == "ephemeral"
    assert title(help_reply) == "ChipWire commands"
    # Listed admins (config and environment) pass the check without asking Slack.
    assert "no subscription" in title(reply(stand_in, "env-1"))
    assert "no subscription" in title(reply(stand_in, "env-2"))
    assert "Only admins" in title(reply(stand_in, "env-3"))
    assert stand_in.methods() == ["apps.connections.open", "users.info"]
    assert BOT_TOKEN not in out.getvalue()
    assert APP_TOKEN not in out.getvalue()


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
