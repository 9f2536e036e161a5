"""Every corpus file goes through fetch → parse → normalise → store from a loopback server.

The whole run is one `chipwire poll --once` in a child process with a memory ceiling and a time
limit, so a file that blew up parsing (or hung) would fail this test rather than the machine.
"""

from __future__ import annotations

import json
import resource
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

MEMORY_CEILING = 2 * 1024**3  # address space for the whole poll of ~2,200 feeds
TIME_LIMIT = 300
SETS = ("feedparser-tests", "real-feeds", "attacks")
SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".json"}


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def corpus_server(corpora_dir: Path) -> Iterator[str]:
    handler = partial(_QuietHandler, directory=str(corpora_dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def corpus_files(corpora_dir: Path) -> list[Path]:
    return sorted(
        path.relative_to(corpora_dir)
        for name in SETS
        for path in (corpora_dir / name).rglob("*")
        if path.suffix in SUFFIXES and path.is_file()
    )


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CEILING, MEMORY_CEILING))


@pytest.fixture(scope="module")
def polled(corpora_dir: Path, corpus_server: str, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("corpus")
    files = corpus_files(corpora_dir)
    lines = ['[chipwire]\ndata_dir = "data"\nparse_workers = 2\n[fetch]\ntotal_timeout = 20\n']
    for path in files:
        url = f"{corpus_server}/{quote(str(path))}"
        lines.append(f'[[feeds]]\nurl = "{url}"\nname = "{path}"\nallow_private_address = true\n')
    config = folder / "corpus.toml"
    config.write_text("".join(lines), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "poll", "--once"],
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT,
        preexec_fn=_limit_memory,
    )
    listing = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "feeds", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return files, result, json.loads(listing.stdout), folder / "data" / "chipwire.db"


def test_every_corpus_file_is_polled_without_an_escaping_exception(polled) -> None:
    files, result, feeds, _ = polled
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stdout
    assert len(feeds) == len(files)
    assert all(feed["last_status"] == 200 for feed in feeds)


def usable_entries(path: Path) -> int:
    """Entries feedparser itself finds with a title or a web link: what a reader could show."""
    import feedparser

    parsed = feedparser.parse(path.read_bytes(), sanitize_html=False)
    return sum(
        1
        for entry in parsed.entries
        if entry.get("title") or str(entry.get("link", "")).startswith(("http://", "https://"))
    )


def test_every_real_feed_with_usable_entries_is_stored(polled, corpora_dir: Path) -> None:
    _, _, feeds, _ = polled
    real = [feed for feed in feeds if feed["name"].startswith("real-feeds/")]
    expected = {f["name"] for f in real if usable_entries(corpora_dir / f["name"]) > 0}
    stored = {f["name"] for f in real if f["article_count"] > 0}
    assert expected - stored == set()


def test_stored_text_is_capped(polled) -> None:
    *_, database = polled
    with sqlite3.connect(database) as db:
        title, summary = db.execute(
            "SELECT max(length(title)), max(length(summary)) FROM articles"
        ).fetchone()
    assert title <= 300
    assert summary <= 1000


def test_attack_files_are_refused_or_neutralised(polled) -> None:
    _, _, feeds, database = polled
    attacks = [feed for feed in feeds if feed["name"].startswith("attacks/")]
    assert attacks
    with sqlite3.connect(database) as db:
        for feed in attacks:
            if feed["last_error"]:
                continue  # refused before parsing
            text = db.execute(
                "SELECT coalesce(sum(length(a.title) + length(a.summary)), 0) FROM articles a "
                "JOIN article_sources s ON s.article_id = a.id WHERE s.feed_id = ?",
                (feed["id"],),
            ).fetchone()[0]
            assert text < 100_000, feed["name"]
    entity_attacks = [f for f in attacks if "laughs" in f["name"] or "quadratic" in f["name"]]
    assert entity_attacks
    assert all("entit" in (f["last_error"] or "") for f in entity_attacks)
