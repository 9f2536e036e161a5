"""`chipwire run` serves /healthz and /metrics while it runs."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


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
