"""Per-host politeness never turns into failures: two feeds of a host that hang and six healthy
feeds on the same host, polled as a user polls (`chipwire poll --once`). The hanging two hold the
host's two connections until their own timeout; the six wait for a connection without their
clock running, and all six are stored."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from bot.cli import main
from tests.feedserver import rss

HANG_SECONDS = 6.0
TIMEOUT_SECONDS = 2  # [fetch] total_timeout: well below the hang, above a healthy answer
HEALTHY = 6


class _Host(BaseHTTPRequestHandler):
    requested: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Host.requested.append(self.path)
        if self.path.startswith("/hang/"):
            time.sleep(HANG_SECONDS)
        n = self.path.rsplit("/", 1)[-1].removesuffix(".xml")
        body = rss((f"g{n}", f"https://n.example/{self.path}", f"Nvidia story {n}")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the fetcher gave up on a hanging feed: expected
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def host() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Host)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_two_hanging_feeds_do_not_fail_six_healthy_ones_on_the_same_host(
    host: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = ["/hang/1.xml", "/hang/2.xml", *(f"/ok/{n}.xml" for n in range(3, 3 + HEALTHY))]
    feeds = "".join(
        f'[[feeds]]\nurl = "{host}{path}"\nname = "f{path}"\nallow_private_address = true\n'
        for path in paths  # the hanging two first: they take the host's two connections
    )
    config = tmp_path / "c.toml"
    config.write_text(
        '[chipwire]\ndata_dir = "data"\nparse_workers = 0\n'
        f"[fetch]\nper_host_connections = 2\ntotal_timeout = {TIMEOUT_SECONDS}\n{feeds}",
        encoding="utf-8",
    )
    assert main(["--config", str(config), "poll", "--once"]) == 0
    out = capsys.readouterr().out
    assert out.count("FAIL") == 2, out
    assert out.count(f"timed out after {TIMEOUT_SECONDS} s") == 2, out
    for n in range(3, 3 + HEALTHY):
        assert f"f/ok/{n}.xml: 1 new article," in out, out
    assert "polled 8 feeds" in out
    assert f"{HEALTHY} ok" in out
    assert sorted(p for p in _Host.requested if p.startswith("/ok/")) == sorted(paths[2:])
