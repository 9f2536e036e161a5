"""SIGTERM during a poll: `chipwire run` exits within 10 s and the next run completes the work."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.store.reconcile import MAX_SYNC_LINES
from tests.feedserver import rss

FEEDS = 12
DELAY = 1.5  # seconds each answer takes, so SIGTERM lands mid-poll


class _SlowFeeds(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(DELAY)
        n = self.path.strip("/").split(".")[0]
        body = rss((f"g{n}", f"https://n.example/{n}", f"Nvidia H20 story {n}")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slow_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowFeeds)
    server.handle_error = lambda *args: None  # type: ignore[method-assign]  # the bot hung up: fine
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_sigterm_mid_poll_exits_quickly_and_loses_nothing(slow_server: str, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    feeds = "".join(
        f'[[feeds]]\nurl = "{slow_server}/{n}.xml"\nname = "f{n}"\nallow_private_address = true\n'
        for n in range(FEEDS)
    )
    config.write_text(f'[chipwire]\ndata_dir = "data"\nparse_workers = 1\n{feeds}')
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert bot.stdout is not None
    first_lines = [bot.stdout.readline() for _ in range(1 + MAX_SYNC_LINES + 2)]
    assert first_lines[0] == f"config synced: {FEEDS} feeds added\n"  # a first start
    assert any("ChipWire running" in line for line in first_lines)
    time.sleep(DELAY + 1.0)  # the first answers are in; others are still on their way
    bot.send_signal(signal.SIGTERM)
    started = time.monotonic()
    _, err = bot.communicate(timeout=15)
    assert time.monotonic() - started < 10
    assert bot.returncode == 0, err
    assert "Traceback" not in err
    again = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "poll", "--once"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr
    listing = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "feeds", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    feeds_state = json.loads(listing.stdout)
    assert len(feeds_state) == FEEDS
    assert all(f["article_count"] == 1 and f["last_error"] is None for f in feeds_state)
