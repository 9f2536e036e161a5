"""Feeds editable and pausable from the CLI and from chat (admins), and private addresses
refused at `feeds add` unless opted in, with the opt-in limited to that host and port."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.ingest.fetch import Fetcher

HEAD = '[chipwire]\ndata_dir = "data"\nparse_workers = 0\n'
CONFIG_FEED = '[[feeds]]\nurl = "http://127.0.0.1:9/conf.xml"\nname = "Conf"\n'


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(HEAD + CONFIG_FEED, encoding="utf-8")
    assert main(["--config", str(path), "sync"]) == 0
    return path


def cli(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(config), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def listing(config: Path, capsys: pytest.CaptureFixture[str]) -> dict[int, dict[str, object]]:
    _, out, _ = cli(config, capsys, "feeds", "list", "--json")
    return {feed["id"]: feed for feed in json.loads(out)}


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/feed.xml",
        "http://127.0.0.1:8080/rss",
        "http://10.1.2.3/f",
        "http://[::1]/f",
    ],
)
def test_feeds_add_refuses_a_private_address_unless_opted_in(
    config: Path, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    code, _, err = cli(config, capsys, "feeds", "add", url)
    assert code == 2
    assert "--allow-private-address" in err
    assert "refuses private addresses" in err
    assert cli(config, capsys, "feeds", "add", url, "--allow-private-address")[0] == 0


def test_feeds_edit_pause_and_resume_from_the_cli(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(config, capsys, "feeds", "add", "https://a.example/rss")
    code, out, _ = cli(
        config, capsys, "feeds", "edit", "2", "--interval", "3600", "--name", "Alpha"
    )
    assert code == 0
    assert "feed 2: Alpha <https://a.example/rss>, every 3600 s" in out
    code, out, _ = cli(config, capsys, "feeds", "edit", "2", "--allow-private-address")
    assert code == 0
    assert "private address allowed" in out
    assert listing(config, capsys)[2]["interval"] == 3600
    code, _, err = cli(config, capsys, "feeds", "edit", "2", "--interval", "5")
    assert code == 2
    assert "at least 60 seconds" in err
    code, _, err = cli(config, capsys, "feeds", "edit", "1", "--interval", "600")
    assert code == 2
    assert "belongs to" in err
    assert "pause and resume work here" in err

    code, out, _ = cli(config, capsys, "feeds", "pause", "1")
    assert code == 0
    assert "paused" in out
    assert listing(config, capsys)[1]["paused"] is True
    _, out, _ = cli(config, capsys, "poll", "--once")
    assert "Conf" not in out
    assert "polled 1 feeds" in out
    # sync leaves a paused config feed paused: pausing is operations, not configuration
    assert cli(config, capsys, "sync")[0] == 0
    assert listing(config, capsys)[1]["paused"] is True
    assert cli(config, capsys, "feeds", "resume", "1")[0] == 0
    assert listing(config, capsys)[1]["paused"] is False
    assert cli(config, capsys, "feeds", "pause", "99")[0] == 2


def test_feeds_pause_resume_and_edit_from_chat(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(config, capsys, "feeds", "add", "https://a.example/rss")
    code, out, _ = cli(config, capsys, "ask", "feeds pause 2")
    assert code == 0
    assert "Paused feed #2" in out
    _, out, _ = cli(config, capsys, "ask", "feeds list")
    assert "#2 a.example" in out
    assert "paused" in out
    assert cli(config, capsys, "ask", "feeds resume 2")[0] == 0
    code, out, _ = cli(config, capsys, "ask", 'feeds edit 2 interval=7200 name="Alpha wire"')
    assert code == 0
    assert "Feed #2: Alpha wire" in out
    assert "120 minutes" in out
    code, out, _ = cli(config, capsys, "ask", "feeds edit 1 interval=7200")
    assert code == 2
    assert "belongs to the config file" in out
    code, out, _ = cli(config, capsys, "ask", "feeds edit 2 allow_private_address=true")
    assert code == 2
    assert "interval=SECONDS and name=NAME" in out
    code, out, _ = cli(config, capsys, "ask", "feeds pause 2", "--out-dir", ".")
    assert code == 0


async def test_the_private_address_opt_in_covers_only_the_feeds_host_and_port() -> None:
    """A feed on 127.0.0.1:PORT that opted in may not redirect the fetcher to another port of
    the same host (another service there)."""
    from aiohttp import web

    async def moved(_: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://127.0.0.1:{other_port}/secret")

    async def secret(_: web.Request) -> web.Response:
        return web.Response(text="internal")

    apps = [web.Application(), web.Application()]
    apps[0].router.add_get("/feed", moved)
    apps[1].router.add_get("/secret", secret)
    runners = [web.AppRunner(app) for app in apps]
    sites = []
    for runner in runners:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        sites.append(site)
    port, other_port = (s._server.sockets[0].getsockname()[1] for s in sites)  # type: ignore[union-attr]
    try:
        async with Fetcher() as fetcher:
            direct = await fetcher.fetch(
                f"http://127.0.0.1:{other_port}/secret", allow_private_address=True
            )
            assert direct.ok  # the opt-in works for its own host and port
            result = await fetcher.fetch(
                f"http://127.0.0.1:{port}/feed", allow_private_address=True
            )
        assert not result.ok
        assert result.error is not None
        assert result.error.startswith("refused: host 127.0.0.1 is")
    finally:
        for runner in runners:
            await runner.cleanup()
