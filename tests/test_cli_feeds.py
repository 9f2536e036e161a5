"""`chipwire check --feeds` and OPML import/export, as a user runs them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.cli import main
from bot.ingest.opml import OpmlError, read_opml
from tests.feedserver import rss

GOOD = rss(("g1", "https://n.example/1", "Nvidia H20"), ("g2", "https://n.example/2", "TSMC N2"))
ROUTES: dict[str, tuple[int, str, str, dict[str, str]]] = {
    "/good.xml": (200, "application/rss+xml", GOOD, {}),
    "/old.xml": (301, "text/plain", "", {"Location": "/good.xml"}),
    "/forbidden.xml": (403, "text/html", "<html><body>Forbidden</body></html>", {}),
    "/empty.xml": (200, "application/rss+xml", rss(title="Quiet"), {}),
    "/page.html": (200, "text/html", "<!DOCTYPE html><html><body>news</body></html>", {}),
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, kind, text, headers = ROUTES.get(self.path, (404, "text/plain", "", {}))
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def write_config(tmp_path: Path, base_url: str, paths: list[str]) -> Path:
    path = tmp_path / "chipwire.toml"
    feeds = "".join(
        f'[[feeds]]\nurl = "{base_url}{p}"\nname = "{p.strip("/")}"\nallow_private_address = true\n'
        for p in paths
    )
    path.write_text(f'[chipwire]\ndata_dir = "data"\nparse_workers = 0\n{feeds}', encoding="utf-8")
    return path


def test_check_feeds_polls_each_feed_once_and_stores_nothing(
    tmp_path: Path, base_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, base_url, list(ROUTES))
    assert main(["--config", str(config), "check", "--feeds"]) == 1  # some need a look
    out = capsys.readouterr().out
    lines = {
        p.strip("/"): line for p in ROUTES for line in out.splitlines() if f" {p[1:]} <" in line
    }
    assert lines["good.xml"].startswith("ok")
    assert "RSS 2.0, 2 items" in lines["good.xml"]
    assert f"moved to {base_url}/good.xml: put that URL in the config" in lines["old.xml"]
    assert lines["forbidden.xml"].startswith("BLOCKED")
    assert "HTTP 403" in lines["forbidden.xml"]
    assert lines["empty.xml"].startswith("EMPTY")
    assert "no items" in lines["empty.xml"]
    assert lines["page.html"].startswith("NOT A FEED")
    assert "HTML page" in lines["page.html"]
    assert out.count("try: ") == 3
    assert "feeds: 1 blocked, 1 empty, 1 not a feed, 2 ok" in out
    assert not (tmp_path / "data").exists()  # nothing stored: no store was even created


def test_check_feeds_exits_zero_when_every_feed_works(
    tmp_path: Path, base_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, base_url, ["/good.xml"])
    assert main(["--config", str(config), "check", "--feeds"]) == 0
    assert "feeds: 1 ok" in capsys.readouterr().out


OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>My reader</title></head><body>
<outline text="Chips" title="Chips">
  <outline type="rss" text="SemiAnalysis" title="SemiAnalysis" xmlUrl="https://semianalysis.com/feed/" htmlUrl="https://semianalysis.com"/>
  <outline type="rss" text="Chips and Cheese" xmlUrl="https://chipsandcheese.com/feed"/>
</outline>
<outline type="rss" text="Local file" xmlUrl="file:///etc/passwd"/>
<outline type="rss" text="No scheme" xmlUrl="example.com/rss"/>
<outline type="rss" text="Again" xmlUrl="https://semianalysis.com/feed/"/>
</body></opml>"""


def test_opml_import_follows_feeds_add_rules_and_export_round_trips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9", [])
    source = tmp_path / "reader.opml"
    source.write_bytes(OPML)
    assert main(["--config", str(config), "feeds", "import", str(source)]) == 0
    out = capsys.readouterr().out
    assert "added feed 1: SemiAnalysis <https://semianalysis.com/feed/>" in out
    assert "added feed 2: Chips and Cheese" in out
    assert "refused 'file:///etc/passwd': unsupported URL scheme 'file'" in out
    assert "refused 'example.com/rss'" in out
    assert "imported 2 of 4 feeds" in out
    assert "2 refused" in out
    assert main(["--config", str(config), "feeds", "import", str(source)]) == 0
    assert "imported 0 of 4 feeds" in capsys.readouterr().out  # already stored: skipped
    exported = tmp_path / "out.opml"
    assert main(["--config", str(config), "feeds", "export", "--out", str(exported)]) == 0
    assert [(f.url, f.title) for f in read_opml(exported.read_bytes())] == [
        ("https://semianalysis.com/feed/", "SemiAnalysis"),
        ("https://chipsandcheese.com/feed", "Chips and Cheese"),
    ]


def test_opml_with_entities_or_not_opml_is_refused_with_advice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaa">]><opml><body>&a;</body></opml>'
    with pytest.raises(OpmlError, match="DOCTYPE"):
        read_opml(bomb)
    with pytest.raises(OpmlError, match="not <opml>"):
        read_opml(b"<rss version='2.0'/>")
    config = write_config(tmp_path, "http://127.0.0.1:9", [])
    bad = tmp_path / "bad.opml"
    bad.write_bytes(b"<opml><body><outline")
    assert main(["--config", str(config), "feeds", "import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "not well-formed XML" in err
    assert "Traceback" not in err
    assert main(["--config", str(config), "feeds", "import", str(tmp_path / "none.opml")]) == 2
