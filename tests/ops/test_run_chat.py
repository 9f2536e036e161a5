"""`chipwire run --slack-mode http` answers Slack at /slack/events on its own server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from slack_sdk.signature import SignatureVerifier

from tests.ops.test_run_health import free_port

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
        body = urllib.parse.urlencode(
            {"command": "/chipnews", "text": "help", "user_id": "U1", "channel_id": "C1",
             "team_id": "T1", "response_url": "http://127.0.0.1:9/respond", "trigger_id": "x"}
        )  # fmt: skip
        deadline = time.monotonic() + 20
        status = 0
        while time.monotonic() < deadline:
            try:
                status = post(url, body, SECRET, int(time.time()))
                break
            except OSError:
                time.sleep(0.3)
        assert status == 200
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
    assert result.returncode == 2 and "DISCORD_TOKEN is not set" in result.stderr
