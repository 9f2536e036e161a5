"""The `chipwire` command as a user runs it: exit codes, messages, output contracts."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.cli import main
from tests.feedserver import rss

FEED = rss(("g1", "https://n.example/1", "Nvidia H20"), ("g2", "https://n.example/2", "TSMC N2"))


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/feed.xml":
            body = FEED.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(500)

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


@pytest.fixture
def config(tmp_path: Path, base_url: str) -> Path:
    path = tmp_path / "chipwire.toml"
    path.write_text(
        '[chipwire]\ndata_dir = "data"\nparse_workers = 0\n'
        f'[[feeds]]\nurl = "{base_url}/feed.xml"\nname = "Good"\nallow_private_address = true\n'
        f'[[feeds]]\nurl = "{base_url}/broken.xml"\nname = "Broken"\nallow_private_address = true\n',
        encoding="utf-8",
    )
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=60
    )


def test_poll_once_prints_a_line_per_feed_and_exits_zero_despite_failures(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config), "poll", "--once"]) == 0
    out = capsys.readouterr().out
    assert "ok    feed 1    Good: 2 new articles" in out
    assert "FAIL  feed 2    Broken: HTTP 500" in out
    assert "polled 2 feeds" in out
    assert "1 failed" in out


def test_feeds_list_json_reports_health_per_feed(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--config", str(config), "poll", "--once"])
    capsys.readouterr()
    assert main(["--config", str(config), "feeds", "list", "--json"]) == 0
    feeds = {f["name"]: f for f in json.loads(capsys.readouterr().out)}
    required = {"id", "url", "name", "last_status", "last_error", "consecutive_failures"}
    assert required | {"last_success_at", "article_count"} <= set(feeds["Good"])
    assert (feeds["Good"]["article_count"], feeds["Good"]["last_status"]) == (2, 200)
    assert feeds["Good"]["last_success_at"] is not None
    assert (feeds["Broken"]["last_error"], feeds["Broken"]["consecutive_failures"]) == (
        "HTTP 500",
        1,
    )


def test_feeds_add_and_remove(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config), "sync"]) == 0
    assert main(["--config", str(config), "feeds", "add", "https://example.com/rss"]) == 0
    assert "added feed 3" in capsys.readouterr().out
    assert main(["--config", str(config), "feeds", "add", "https://example.com/rss"]) == 2
    assert "already stored" in capsys.readouterr().err
    assert main(["--config", str(config), "feeds", "remove", "3"]) == 0
    assert main(["--config", str(config), "feeds", "remove", "3"]) == 2
    assert "No feed #3. 'feeds list' shows the ids." in capsys.readouterr().err


def test_feeds_add_refuses_a_non_http_url(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config), "feeds", "add", "file:///etc/passwd"]) == 2
    assert "http(s)" in capsys.readouterr().err


def test_check_reports_config_and_store(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert main(["--config", str(config), "sync"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "check"]) == 0
    out = capsys.readouterr().out
    assert "config ok" in out
    assert "2 feeds" in out
    assert "store ok" in out
    assert "config and store agree: nothing to sync" in out
    assert "chat: no tokens set; chipwire run posts to the console" in out


def test_check_names_the_platforms_with_tokens_never_the_tokens(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "discord-secret-value")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    assert main(["--config", str(config), "check"]) == 0
    out = capsys.readouterr().out
    assert "chat: Discord; Slack, HTTP mode only (no SLACK_APP_TOKEN)" in out
    assert "secret-value" not in out


def test_a_bad_config_exits_2_with_file_and_key_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[feeds]]\nurl = 'https://a.example/f'\ninterval = 'hourly'\n")
    result = run_cli("--config", str(bad), "poll", "--once")
    assert result.returncode == 2
    assert str(bad) in result.stderr
    assert "feeds[0].interval" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_store_exits_3_with_advice(config: Path) -> None:
    result = run_cli(
        "--config", str(config), "--database-url", "postgresql://nobody@127.0.0.1:9/x", "check"
    )
    assert result.returncode == 3
    assert "CHIPWIRE_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unsupported_database_url_exits_2(config: Path) -> None:
    result = run_cli("--config", str(config), "--database-url", "mysql://root@localhost/x", "check")
    assert result.returncode == 2
    assert "sqlite:///PATH" in result.stderr


def test_every_command_has_useful_help() -> None:
    for args in (["--help"], ["poll", "--help"], ["feeds", "list", "--help"], ["demo", "--help"]):
        result = run_cli(*args)
        assert result.returncode == 0
        assert "usage: chipwire" in result.stdout


def test_classify_reads_json_lines_and_keeps_going_after_a_bad_one(config: Path) -> None:
    lines = "\n".join(
        [
            '{"id": "a", "title": "Huawei ships Ascend 910C accelerators to Chinese clouds", "summary": ""}',
            "{not json",
            '{"id": "b", "title": "Chocolate chip cookies recalled", "summary": "bakery news", "lang": "en"}',
        ]
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "classify"],
        input=lines,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    first, error, last = (json.loads(line) for line in result.stdout.splitlines())
    assert (first["id"], first["relevant"], first["companies"]) == ("a", True, ["huawei"])
    assert set(first) >= {"id", "relevant", "score", "companies", "why"}
    assert "error" in error
    assert (last["id"], last["relevant"], last["companies"]) == ("b", False, [])


def test_eval_prints_both_classifiers(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(config), "eval", "--part", "dev"])
    out = capsys.readouterr().out
    assert code == (0 if "all targets met" in out else 1)
    assert "baseline" in out
    assert "subj P" in out
    assert "rel F1" in out
    assert "story pairs" in out


def test_why_and_reclassify_use_the_stored_evidence(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--config", str(config), "poll", "--once"])
    capsys.readouterr()
    assert main(["--config", str(config), "why", "https://n.example/1?utm_source=x"]) == 0
    out = capsys.readouterr().out
    assert "Nvidia H20" in out
    assert "Companies: Nvidia" in out
    assert main(["--config", str(config), "reclassify"]) == 0
    assert "reclassified 2 articles" in capsys.readouterr().out
    assert main(["--config", str(config), "why", "999"]) == 2
    assert "No stored article '999'. Give an article id (#123" in capsys.readouterr().err


def test_why_reads_a_reference_as_chat_does_and_answers_the_same(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`chipwire why #1` and `/chipnews why #1`: one reading of the id, the same lines."""
    main(["--config", str(config), "poll", "--once"])
    capsys.readouterr()
    assert main(["--config", str(config), "why", "#1"]) == 0
    cli = capsys.readouterr().out
    assert main(["--config", str(config), "ask", "why #1"]) == 0
    chat = capsys.readouterr().out
    verdict = next(line.strip() for line in cli.splitlines() if "Verdict:" in line)
    assert verdict.startswith("Verdict: ")
    assert verdict in chat
    assert next(line.strip() for line in cli.splitlines() if "Companies:" in line) in chat


def test_feed_names_and_errors_are_shown_verbatim_not_as_markup(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "[bold]Odd[/bold] [/oops] feed"
    assert (
        main(["--config", str(config), "feeds", "add", "https://x.example/f", "--name", name]) == 0
    )
    capsys.readouterr()
    assert main(["--config", str(config), "feeds", "list"]) == 0
    assert "[bold]Odd[/bold]" in capsys.readouterr().out


def test_feeds_list_json_flags_failing_feeds(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(5):
        main(["--config", str(config), "poll", "--once"])
    capsys.readouterr()
    main(["--config", str(config), "feeds", "list", "--json"])
    feeds = {f["name"]: f for f in json.loads(capsys.readouterr().out)}
    assert feeds["Broken"]["flags"] == ["failing"]
    assert feeds["Good"]["flags"] == []
    assert feeds["Good"]["last_new_at"] is not None


def test_output_piped_into_a_reader_that_leaves_is_not_a_traceback(config: Path) -> None:
    reader = subprocess.Popen(["true"], stdin=subprocess.PIPE)  # leaves without reading
    assert reader.stdin is not None
    reader.wait(timeout=10)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "ask", "help"],
        stdout=reader.stdin,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
    )
    reader.stdin.close()
    assert "Traceback" not in result.stderr
    assert result.returncode == 0


def test_the_first_poll_says_its_articles_are_history_and_how_to_see_them(
    tmp_path: Path, base_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[chipwire]\ndata_dir = "data"\nparse_workers = 0\n'
        f'[[feeds]]\nurl = "{base_url}/feed.xml"\nname = "Good"\nallow_private_address = true\n',
        encoding="utf-8",
    )
    assert main(["--config", str(config), "poll", "--once"]) == 0
    out = capsys.readouterr().out
    assert "note: 2 articles from the first poll of 1 feed are kept as history" in out
    assert "chipwire ask latest" in out
    assert "digest --include-history" in out
    assert main(["--config", str(config), "digest", "--since", "7d"]) == 0
    out = capsys.readouterr().out
    assert "Nothing new" in out
    assert "'chipwire digest --include-history' shows them" in out
    assert main(["--config", str(config), "digest", "--since", "7d", "--include-history"]) == 0
    assert "Nvidia H20" in capsys.readouterr().out
    assert main(["--config", str(config), "poll", "--once"]) == 0
    assert "kept as history" not in capsys.readouterr().out  # only a first poll says so


def test_every_subcommand_help_has_a_description_defaults_and_an_example() -> None:
    from bot.cli import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    pages = {name: sub.format_help() for name, sub in commands.choices.items()}
    for name, page in pages.items():
        assert "example: " in page, name
        assert "chipwire " in page.split("example: ")[1], name
        assert page.split("\n\n")[1].strip(), name  # a description after the usage
    assert "(default: 1800)" in run_cli("feeds", "add", "--help").stdout
    assert "(default: 24h)" in pages["digest"] or "default 24h" in pages["digest"]


def test_poll_piped_into_a_reader_that_leaves_still_polls_every_feed(
    tmp_path: Path, base_url: str
) -> None:
    """`chipwire poll --once | head`: the lines go nowhere once the reader left, the poll goes on
    (it used to wait for ever: the reporter's broken pipe stopped the writer the polls wait on)."""
    config = tmp_path / "c.toml"
    feeds = "".join(
        f'[[feeds]]\nurl = "{base_url}/feed.xml?n={n}"\nallow_private_address = true\n'
        for n in range(12)
    )
    config.write_text(f'[chipwire]\ndata_dir = "data"\nparse_workers = 0\n{feeds}')
    reader = subprocess.Popen(["true"], stdin=subprocess.PIPE)  # leaves without reading
    assert reader.stdin is not None
    reader.wait(timeout=10)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "poll", "--once"],
        stdout=reader.stdin,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )
    reader.stdin.close()
    assert "Traceback" not in result.stderr
    assert result.returncode == 0
    listed = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "feeds", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    polled = [feed for feed in json.loads(listed.stdout) if feed["last_polled_at"]]
    assert len(polled) == 12
