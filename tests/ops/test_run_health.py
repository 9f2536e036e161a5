"""`chipwire run` serves /healthz and /metrics while it runs."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bot.jobs import Liveness
from bot.platforms.base import PlatformDown
from bot.run import serve_platforms
from tests.chatstandins import chat_stand_ins


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return answer.status, answer.read().decode()


def test_run_serves_health_and_metrics(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "c.toml"
    config.write_text(
        f'[chipwire]\ndata_dir = "data"\nparse_workers = 0\n[ops]\nhealth_port = {port}\n'
        '[[feeds]]\nurl = "http://127.0.0.1:9/x"\nname = "down"\nallow_private_address = true\n'
    )
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        body = None
        while time.monotonic() < deadline:
            try:
                status, text = get(f"http://127.0.0.1:{port}/healthz")
                body = json.loads(text)
                if body.get("last_poll_at"):
                    break
            except OSError:
                pass
            time.sleep(0.3)
        assert body is not None
        assert status == 200
        assert body["status"] == "ok"
        assert body["store"] == "ok"
        assert body["scheduler"] == "running"
        assert body["last_poll_at"]
        status, metrics = get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        assert 'chipwire_polls_total{result="failed"} 1.0' in metrics
    finally:
        bot.send_signal(signal.SIGTERM)
        bot.communicate(timeout=15)
    assert bot.returncode == 0


def test_a_refused_discord_token_makes_healthz_503_with_the_reason(tmp_path: Path) -> None:
    """The gateway's login fails (the stand-in answers 401 as Discord does for a wrong token):
    slash commands are dead, so /healthz says so instead of 200."""
    port = free_port()
    config = tmp_path / "c.toml"
    config.write_text(
        f'[chipwire]\ndata_dir = "data"\nparse_workers = 0\n[ops]\nhealth_port = {port}\n'
    )
    with chat_stand_ins() as chat:
        env = os.environ | {"DISCORD_TOKEN": WRONG_TOKEN, "DISCORD_API_URL": chat.discord_api}
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "run"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            status, body = _until_unhealthy(f"http://127.0.0.1:{port}/healthz")
        finally:
            bot.send_signal(signal.SIGTERM)
            _, err = bot.communicate(timeout=15)
        assert chat.discord.logins >= 1
    assert status == 503, body
    assert body["platforms"] == "down"
    assert body["store"] == "ok"
    assert body["reason"].startswith("discord: Discord refused the bot token (401)")
    assert "DISCORD_TOKEN" in body["reason"]
    assert bot.returncode == 0
    assert WRONG_TOKEN not in err
    assert "Traceback" not in err


WRONG_TOKEN = "MTIz.not-the-bots.token"


def _until_unhealthy(url: str) -> tuple[int, dict[str, str]]:
    """Poll until /healthz answers 503 (or give up after 30 s and return the last answer)."""
    deadline = time.monotonic() + 30
    status, body = 0, {}
    while time.monotonic() < deadline:
        try:
            status, text = get(url)
            body = json.loads(text)
        except urllib.error.HTTPError as error:
            status, body = error.code, json.loads(error.read().decode())
            break
        except OSError:
            pass
        time.sleep(0.3)
    return status, body


@dataclass
class StandInPlatform:
    """A platform whose command serving ends the way `ending` says."""

    name: str
    ending: BaseException | None
    listening: str | None = "stand-in"
    routes: tuple[()] = ()
    poster: object = None

    async def serve(self) -> None:
        await asyncio.sleep(0)
        if self.ending is not None:
            raise self.ending

    async def close(self) -> None:
        return None


async def test_a_platform_task_that_dies_is_down_with_its_reason_and_a_closed_one_is_not() -> None:
    liveness = Liveness(app=None, scheduler=None)  # type: ignore[arg-type]
    platforms = [
        StandInPlatform("discord", PlatformDown("discord: the gateway connection ended")),
        StandInPlatform("slack", RuntimeError("xoxb-secret in the message")),
        StandInPlatform("quiet", None),  # closed on purpose: returns
    ]
    tasks = serve_platforms(platforms, liveness)  # type: ignore[arg-type]
    await asyncio.wait(tasks)
    await asyncio.sleep(0)  # done callbacks run on the next turn of the loop
    assert liveness.platforms_down == {
        "discord": "discord: the gateway connection ended",
        "slack": "slack: stopped serving commands (RuntimeError)",
    }
