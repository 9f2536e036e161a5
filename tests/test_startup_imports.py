"""Start-up pays only for what the command uses: each command runs in a fresh interpreter and the
test reads what it imported and whether it started a parse pool (behaviour, not timing)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.feedserver import rss

ROOT = Path(__file__).resolve().parents[1]

# Runs `chipwire ARGV…` in this interpreter, then reports the modules it loaded and how many
# process pools it created (the parse pool is the only one the bot makes).
PROBE = """
import concurrent.futures.process as process, contextlib, io, json, sys
pools = []
original = process.ProcessPoolExecutor.__init__
def counting(self, *args, **kwargs):
    pools.append(1)
    original(self, *args, **kwargs)
process.ProcessPoolExecutor.__init__ = counting
from bot.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        rc = main(sys.argv[1:])
    except SystemExit as exc:
        rc = exc.code
print(json.dumps({"rc": rc, "out": out.getvalue(), "modules": sorted(sys.modules),
                  "pools": len(pools)}))
"""

STORE = ("sqlalchemy", "aiosqlite", "asyncpg", "bot.store.repo", "bot.store.queries")
HTTP = ("aiohttp", "bot.ingest.fetch")
CHARTS = ("matplotlib", "bot.trends.chart")
PARSING = ("feedparser", "lxml", "py3langid", "bot.ingest.parse", "bot.ingest.worker")
MIGRATIONS = ("alembic",)


def run(cwd: Path, *argv: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return report


def loaded(report: dict[str, object], families: tuple[str, ...]) -> list[str]:
    modules = report["modules"]
    assert isinstance(modules, list)
    return [m for m in modules if any(m == f or m.startswith(f + ".") for f in families)]


class _Feed(BaseHTTPRequestHandler):
    body = rss(("g1", "https://n.example/1", "Nvidia H20"), ("g2", "https://n.example/2", "TSMC"))
    validators = True

    def do_GET(self) -> None:
        data = self.body.encode()
        etag = '"' + hashlib.sha256(data).hexdigest()[:12] + '"'
        if self.validators and self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(data)))
        if self.validators:
            self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def feed_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Feed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    _Feed.validators = True
    server.shutdown()
    server.server_close()


@pytest.fixture
def workdir(tmp_path: Path, feed_url: str) -> Path:
    (tmp_path / "chipwire.toml").write_text(
        '[chipwire]\ndata_dir = "data"\nparse_workers = 1\n'
        f'[[feeds]]\nurl = "{feed_url}"\nname = "Wire"\nallow_private_address = true\n',
        encoding="utf-8",
    )
    return tmp_path


def test_help_loads_no_store_http_charts_or_parsing(tmp_path: Path) -> None:
    report = run(tmp_path, "--help")
    assert report["rc"] == 0
    assert "poll" in str(report["out"])
    assert loaded(report, (*STORE, "bot.store", *HTTP, *CHARTS, *PARSING, *MIGRATIONS)) == []


@pytest.mark.parametrize("argv", [("ask", "help"), ("ask", "help", "latest")])
def test_ask_help_needs_no_store_config_or_network(tmp_path: Path, argv: tuple[str, ...]) -> None:
    report = run(tmp_path, *argv)  # no config file at all: help reads none
    assert report["rc"] == 0
    assert "latest" in str(report["out"])
    assert loaded(report, (*STORE, *HTTP, *CHARTS, *PARSING, *MIGRATIONS)) == []
    assert not (tmp_path / "data").exists()


def test_store_reading_commands_load_no_parsing_stack_and_no_alembic(workdir: Path) -> None:
    first = run(workdir, "--config", "chipwire.toml", "feeds", "list")
    assert first["rc"] == 0
    assert loaded(first, MIGRATIONS), "a new store is migrated, so Alembic runs once"
    for argv in (("feeds", "list"), ("ask", "latest"), ("digest",), ("companies",)):
        report = run(workdir, "--config", "chipwire.toml", *argv)
        assert report["rc"] in (0, 1), argv
        assert loaded(report, (*PARSING, *MIGRATIONS, *CHARTS)) == [], argv
        if argv[0] != "ask":  # chat commands get the fetcher (`feeds test`), so HTTP loads there
            assert loaded(report, HTTP) == [], argv
    assert loaded(run(workdir, "--config", "chipwire.toml", "ask", "latest"), STORE)


def test_parse_pool_starts_only_when_a_body_needs_parsing(workdir: Path) -> None:
    poll = ("--config", "chipwire.toml", "poll", "--once")
    first = run(workdir, *poll)
    assert first["rc"] == 0
    assert first["pools"] == 1, "new entries are parsed on the pool"

    not_modified = run(workdir, *poll)  # the server answers 304
    assert not_modified["rc"] == 0
    assert not_modified["pools"] == 0
    assert loaded(not_modified, (*PARSING, *MIGRATIONS)) == []

    _Feed.validators = False  # 200 with the same bytes: the stored body hash matches
    unchanged = run(workdir, *poll)
    assert unchanged["rc"] == 0
    assert unchanged["pools"] == 0
    assert loaded(unchanged, (*PARSING, *MIGRATIONS)) == []
