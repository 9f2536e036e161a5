"""The config file is the truth for what it declares, and only `sync`, `poll` and `run` write it
into the store; `check` changes nothing. Through the CLI, as an operator runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

# Loopback without allow_private_address: a poll refuses them at once, with no network.
FEED_A = '[[feeds]]\nurl = "http://127.0.0.1:9/a.xml"\nname = "A"\n'
FEED_B = '[[feeds]]\nurl = "http://127.0.0.1:9/b.xml"\nname = "B"\n'
SUB = '[[subscriptions]]\ntarget = "console"\nschedule = "daily 08:00"\ncompanies = ["nvidia"]\n'
HEAD = '[chipwire]\ndata_dir = "data"\nparse_workers = 0\n'


def write(path: Path, *parts: str) -> Path:
    path.write_text(HEAD + "".join(parts), encoding="utf-8")
    return path


def cli(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(config), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write(tmp_path / "chipwire.toml", FEED_A, FEED_B, SUB)


def test_check_creates_no_store_and_says_what_sync_would_do(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(config, capsys, "check")
    assert code == 0
    assert "store: none yet" in out
    assert "'chipwire sync'" in out
    assert not (config.parent / "data").exists()  # not even the folder

    assert cli(config, capsys, "sync")[0] == 0
    write(config, FEED_A)  # B and the subscription deleted from the file
    code, out, _ = cli(config, capsys, "check")
    assert code == 0
    assert "'chipwire sync' would: 1 feeds removed, 1 subscriptions removed" in out
    assert "remove feed 2: B <http://127.0.0.1:9/b.xml> (its articles stay)" in out
    # check changed nothing: the feed is still there
    code, out, _ = cli(config, capsys, "feeds", "list", "--json")
    assert '"http://127.0.0.1:9/b.xml"' in out


def test_sync_removes_what_the_file_no_longer_names_and_keeps_chat_and_cli_things(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(config, capsys, "sync")
    assert code == 0
    assert "2 feeds added, 1 subscriptions added" in out
    code, out, _ = cli(config, capsys, "ask", "subscriptions")
    assert "from the config file" in out
    assert cli(config, capsys, "feeds", "add", "https://c.example/rss")[0] == 0

    write(config, FEED_A)
    code, out, _ = cli(config, capsys, "sync")
    assert code == 0
    assert "1 feeds removed, 1 subscriptions removed" in out
    code, out, _ = cli(config, capsys, "feeds", "list", "--json")
    assert "/b.xml" not in out
    assert "/a.xml" in out
    assert "c.example" in out
    assert '"origin": "cli"' in out
    assert '"origin": "config"' in out
    code, out, _ = cli(config, capsys, "ask", "subscriptions")
    assert "No subscriptions" in out
    # chat may now subscribe the channel; the subscription is chat's and sync leaves it
    assert cli(config, capsys, "ask", "subscribe huawei daily 09:00")[0] == 0
    write(config, FEED_A, SUB)
    code, out, _ = cli(config, capsys, "sync")
    assert "nothing to sync" in out
    assert "left alone: subscription" in out
    assert "for console (chat's) is not the config file's" in out
    code, out, _ = cli(config, capsys, "ask", "subscriptions")
    assert "Huawei" in out
    assert "from the config file" not in out


def test_other_commands_do_not_write_the_config_into_the_store(
    config: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert cli(config, capsys, "sync")[0] == 0
    test_config = write(
        tmp_path / "test.toml", FEED_A, FEED_B, '[[feeds]]\nurl = "https://t.example/f"\n'
    )
    store = ["--database-url", f"sqlite:///{config.parent / 'data' / 'chipwire.db'}"]
    for command in (["check"], ["feeds", "list"], ["ask", "latest"], ["digest"]):
        main(["--config", str(test_config), *store, *command])
    capsys.readouterr()
    assert "t.example" not in cli(config, capsys, "feeds", "list", "--json")[1]


def test_a_config_feed_is_removed_in_the_file_not_by_feeds_remove(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(config, capsys, "sync")
    code, _, err = cli(config, capsys, "feeds", "remove", "1")
    assert code == 2
    assert "belongs to" in err
    assert str(config) in err
    assert "chipwire sync" in err
    code, out, _ = cli(config, capsys, "ask", "feeds remove 1")
    assert code == 2
    assert "belongs to the config file" in out
    code, out, _ = cli(config, capsys, "ask", "feeds list")
    assert "#1 A" in out
    assert "from the config file" in out


def test_a_subscription_deleted_from_the_file_stops_at_the_next_poll(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(config, capsys, "sync")
    write(config, FEED_A, FEED_B)
    # poll syncs first (the feeds fail here: nothing listens on these hosts)
    code, out, _ = cli(config, capsys, "poll", "--once")
    assert code == 0
    assert "config synced: 1 subscriptions removed" in out
    code, out, err = cli(config, capsys, "digest", "--subscription", "1")
    assert code == 2
    assert "no subscription 1" in err
