"""`chipwire run --slack-mode http` answers Slack at /slack/events on its own server; chat
credentials may come from the `[chat] secrets_file` instead of the environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slack_sdk.signature import SignatureVerifier

from bot.cli import build_parser, cmd_discord
from tests.ops.test_run_health import free_port
from tests.platforms.test_discord_commands import GUILD
from tests.support.fake_discord import FakeDiscord

TOKEN_NAMES = ("DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")

SECRET = "test-signing-secret"


def post(url: str, body: str, secret: str, timestamp: int) -> int:
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    request = urllib.request.Request(
        url,
        data=body.encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": signature,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def slash_command() -> str:
    return urllib.parse.urlencode(
        {"command": "/chipnews", "text": "help", "user_id": "U1", "channel_id": "C1",
         "team_id": "T1", "response_url": "http://127.0.0.1:9/respond", "trigger_id": "x"}
    )  # fmt: skip


def post_when_up(url: str, body: str, secret: str) -> int:
    deadline = time.monotonic() + 20
    while True:
        try:
            return post(url, body, secret, int(time.time()))
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_slack_http_mode_checks_signatures_on_the_run_server(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "c.toml"
    config.write_text('[chipwire]\ndata_dir = "data"\nparse_workers = 0\n')
    env = dict(os.environ)
    env |= {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
    }
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "run", "--slack-mode", "http",
         "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    try:
        assert bot.stdout is not None
        first = bot.stdout.readline()
        assert "slash commands on slack (http)" in first
        url = f"http://127.0.0.1:{port}/slack/events"
        body = slash_command()
        assert post_when_up(url, body, SECRET) == 200
        assert post(url, body, "wrong-secret", int(time.time())) == 401
        assert post(url, body, SECRET, int(time.time()) - 600) == 401
    finally:
        bot.send_signal(signal.SIGTERM)
        _, err = bot.communicate(timeout=15)
    assert bot.returncode == 0
    assert "xoxb-test-token" not in err


def test_discord_sync_without_a_token_says_what_to_set(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "discord", "sync"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2
    assert "DISCORD_TOKEN is not set" in result.stderr


def test_run_starts_slack_with_tokens_only_in_the_secrets_file(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "c.toml"
    config.write_text(
        '[chipwire]\ndata_dir = "data"\nparse_workers = 0\n[chat]\nsecrets_file = "chat.env"\n'
    )
    secrets = tmp_path / "chat.env"
    secrets.write_text(
        f"# chat secrets\nexport SLACK_BOT_TOKEN=xoxb-file-token-123\nSLACK_SIGNING_SECRET='{SECRET}'\n"
    )
    secrets.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if k not in TOKEN_NAMES}
    # An empty variable (compose passes .env.example's blanks) leaves the file's value in force.
    env |= {"SLACK_BOT_TOKEN": "", "SLACK_API_URL": "http://127.0.0.1:9/api/"}
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "run", "--slack-mode", "http",
         "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    try:
        assert bot.stdout is not None
        first = bot.stdout.readline()
        assert "digests go to the console and slack" in first
        assert "slash commands on slack (http)" in first
        url = f"http://127.0.0.1:{port}/slack/events"
        assert post_when_up(url, slash_command(), SECRET) == 200
        assert post(url, slash_command(), "wrong-secret", int(time.time())) == 401
    finally:
        bot.send_signal(signal.SIGTERM)
        _, err = bot.communicate(timeout=15)
    assert bot.returncode == 0
    assert "xoxb-file-token-123" not in err
    assert SECRET not in err
    assert "chmod 600" not in err


def test_run_with_a_bad_secrets_file_stops_with_a_clear_message(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[chipwire]\ndata_dir = "data"\n[chat]\nsecrets_file = "chat.env"\n')
    (tmp_path / "chat.env").write_text("DISCORD_TOKEN=fine-token-value\nxoxb-pasted-alone-123\n")
    env = {k: v for k, v in os.environ.items() if k not in TOKEN_NAMES}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2
    assert f"{tmp_path / 'chat.env'}, line 2: not a KEY=VALUE line" in result.stderr
    assert "Traceback" not in result.stderr
    assert "xoxb-pasted-alone-123" not in result.stderr + result.stdout
    assert "fine-token-value" not in result.stderr + result.stdout


FILE_TOKEN = "MTIz.file-bot-token.secret"


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(tokens={FILE_TOKEN}).serving() as server:
        yield server


async def test_discord_sync_reads_the_token_from_the_secrets_file(
    tmp_path: Path, fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[chipwire]\ndata_dir = "data"\n[chat]\nsecrets_file = "chat.env"\n')
    (tmp_path / "chat.env").write_text(f"DISCORD_TOKEN={FILE_TOKEN}\n")
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.setenv("DISCORD_API_URL", fake_discord.base)
    args = build_parser().parse_args(["--config", str(config), "discord", "sync", "--guild", GUILD])
    assert await cmd_discord(args) == 0
    assert fake_discord.posted(rf".*/guilds/{GUILD}/commands")
