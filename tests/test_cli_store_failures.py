"""Store failures as an operator meets them: one message per kind (unreachable, unwritable,
corrupt, locked), exit code 3, no traceback and no SQL; /healthz 503 with the reason; one
running bot per SQLite store."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.ops.test_run_health import free_port
from tests.support import POSTGRES_ADMIN_URL, postgres_available

CONFIG = (
    '[chipwire]\ndata_dir = "data"\nparse_workers = 0\n[ops]\nhealth_port = {port}\n'
    '[[feeds]]\nurl = "http://127.0.0.1:9/a.xml"\nname = "A"\nallow_private_address = true\n'
)


def chipwire(config: Path, *args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    store = ["--database-url", url] if url else []
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), *store, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_store_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "[SQL:" not in result.stdout + result.stderr
    for word in words:
        assert word in result.stderr


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(CONFIG.format(port=0), encoding="utf-8")
    assert chipwire(path, "sync").returncode == 0
    return path


def test_a_read_only_store_is_refused_by_every_command_that_writes(config: Path) -> None:
    url = f"sqlite:///{config.parent / 'data' / 'chipwire.db'}?mode=ro"
    check = chipwire(config, "check", url=url)
    assert check.returncode == 3
    assert "store NOT writable" in check.stdout
    assert "store ok" not in check.stdout
    for command in (["poll", "--once"], ["feeds", "add", "https://x.example/f"], ["sync"], ["run"]):
        assert_store_error(
            chipwire(config, *command, url=url), "store unwritable", "readonly database"
        )
    assert not list(config.parent.glob("data/*mode=ro*"))  # the option is not a file name


def test_sqlite_url_options_are_honoured_or_refused(config: Path) -> None:
    database = config.parent / "data" / "chipwire.db"
    assert chipwire(config, "feeds", "list", url=f"sqlite:///{database}?timeout=5").returncode == 0
    refused = chipwire(config, "check", url=f"sqlite:///{database}?journal=wal")
    assert refused.returncode == 2
    assert "SQLite option 'journal' is not supported" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_corrupt_store_says_so(config: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not a database, just text " * 100)
    for command in (["feeds", "list"], ["check"], ["poll", "--once"]):
        assert_store_error(
            chipwire(config, *command, url=f"sqlite:///{broken}"), "store corrupt", "backup"
        )


def test_a_store_folder_that_cannot_be_created_is_not_a_traceback(
    config: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = chipwire(config, "feeds", "list", url=f"sqlite:///{blocker}/sub/chipwire.db")
    assert_store_error(result, "store unwritable", "cannot create the folder")


def test_an_unreachable_postgres_store_says_so(config: Path) -> None:
    result = chipwire(config, "feeds", "list", url="postgresql://nobody@127.0.0.1:9/x")
    assert_store_error(result, "store unreachable", "CHIPWIRE_DATABASE_URL")


@pytest.fixture
def running_bot(config: Path) -> Iterator[subprocess.Popen[str]]:
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert bot.stdout is not None
    for _ in range(20):
        if "ChipWire running" in bot.stdout.readline():
            break
    try:
        yield bot
    finally:
        bot.send_signal(signal.SIGTERM)
        bot.communicate(timeout=15)


def test_a_second_bot_on_one_sqlite_store_is_refused_naming_the_first(
    config: Path, running_bot: subprocess.Popen[str]
) -> None:
    for command in (["run"], ["poll", "--once"]):
        result = chipwire(config, *command)
        assert_store_error(result, "store locked", f"'chipwire run' (pid {running_bot.pid} on")
    # reading and chat-style commands still work beside the running bot
    assert chipwire(config, "feeds", "list").returncode == 0


def healthz(port: int) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def sql(url: str, *statements: str) -> None:
    async def go() -> None:
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                for statement in statements:
                    await conn.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(go())


def test_healthz_reports_a_store_that_turned_read_only(tmp_path: Path) -> None:
    """A PostgreSQL role whose write privileges are revoked while the bot runs."""
    reason = asyncio.run(postgres_available())
    if reason:
        pytest.skip(reason)
    name = f"chipwire_ro_{uuid.uuid4().hex[:10]}"
    sql(POSTGRES_ADMIN_URL, f'CREATE DATABASE "{name}"', f'CREATE ROLE "{name}" LOGIN')
    server = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    owner_url = f"{server}/{name}"
    bot_url = owner_url.replace("//postgres@", f"//{name}@")
    port = free_port()
    config = tmp_path / "c.toml"
    config.write_text(CONFIG.format(port=port), encoding="utf-8")
    bot = None
    try:
        assert chipwire(config, "sync", url=owner_url).returncode == 0
        sql(
            owner_url,
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{name}"',
            f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "{name}"',
        )
        command = ["--config", str(config), "--database-url", bot_url, "run", "--tick", "5"]
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot", *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        status, body = wait_for(port, lambda s, b: s == 200 and bool(b.get("last_poll_at")))
        assert status == 200, body
        sql(
            owner_url, f'REVOKE INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public FROM "{name}"'
        )
        status, body = wait_for(port, lambda s, b: s == 503)
        assert status == 503, body
        assert body["store"] == "error", body
        assert body["reason"].startswith("store unwritable: ")
        assert "permission denied" in body["reason"]
    finally:
        if bot is not None:
            bot.send_signal(signal.SIGTERM)
            bot.communicate(timeout=15)
        sql(
            POSTGRES_ADMIN_URL,
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
            f'DROP ROLE IF EXISTS "{name}"',
        )


def wait_for(port: int, done: object, seconds: float = 30) -> tuple[int, dict[str, str]]:
    deadline = time.monotonic() + seconds
    status, body = 0, {}
    while time.monotonic() < deadline:
        try:
            status, body = healthz(port)
            if done(status, body):  # type: ignore[operator]
                break
        except OSError:
            pass
        time.sleep(0.3)
    return status, body
