"""Structured logs, kv and json, and tokens never reaching the output."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from io import StringIO

import pytest

from bot.ops.logs import Redactor, configure_logging, env_secrets

SLACK_BOT = "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
SLACK_APP = "xapp-1-A0123456789-1234567890123-0123456789abcdef0123456789abcdef"
# Shaped like a Discord bot token (id . timestamp . hmac), but not a real one.
DISCORD = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"
SIGNING = "8f14e45fceea167a5a36dedd4bea2543"


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(stream: StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_kv_line_has_the_fixed_fields_then_the_extras() -> None:
    out = StringIO()
    configure_logging("kv", stream=out, environ={})
    logging.getLogger("bot.ingest.pipeline").info(
        "polled %d feeds", 3, extra={"feed_id": 7, "url": "https://example.com/a b", "ok": True}
    )
    [line] = lines(out)
    assert line.startswith("ts=")
    assert ' level=info logger=bot.ingest.pipeline msg="polled 3 feeds" ' in line
    assert line.endswith('feed_id=7 url="https://example.com/a b" ok=true')
    stamp = line.split()[0].removeprefix("ts=")
    assert stamp.endswith("Z")
    assert "T" in stamp


def test_kv_keeps_a_traceback_on_one_line() -> None:
    out = StringIO()
    configure_logging("kv", stream=out, environ={})
    try:
        raise ValueError("bad feed")
    except ValueError:
        logging.getLogger("bot").exception("poll failed")
    [line] = lines(out)
    assert 'msg="poll failed"' in line
    assert "exc=" in line
    assert "ValueError: bad feed" in line


def test_json_is_one_object_per_line() -> None:
    out = StringIO()
    configure_logging("json", stream=out, environ={})
    log = logging.getLogger("bot.run")
    log.warning("digest %s failed", "daily", extra={"subscription_id": 2})
    log.debug("not shown at INFO")
    log.info("second")
    first, second = (json.loads(line) for line in lines(out))
    assert first["level"] == "warning"
    assert first["logger"] == "bot.run"
    assert first["msg"] == "digest daily failed"
    assert first["subscription_id"] == 2
    assert first["ts"].endswith("Z")
    assert second["msg"] == "second"


def test_json_carries_the_traceback() -> None:
    out = StringIO()
    configure_logging("json", stream=out, environ={})
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        logging.getLogger("bot").error("crash", exc_info=True)
    record = json.loads(out.getvalue())
    assert "ZeroDivisionError" in record["exc"]


def test_a_second_call_replaces_the_handler() -> None:
    first, second = StringIO(), StringIO()
    configure_logging("kv", stream=first, environ={})
    configure_logging("json", stream=second, environ={})
    logging.getLogger("bot").warning("once")
    assert first.getvalue() == ""
    assert len(lines(second)) == 1


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="kv, json"):
        configure_logging("xml", environ={})


@pytest.mark.parametrize("fmt", ["kv", "json"])
def test_tokens_are_redacted_in_message_args_extras_and_tracebacks(fmt: str) -> None:
    out = StringIO()
    configure_logging(fmt, stream=out, environ={})
    log = logging.getLogger("bot.platforms")
    log.info("connecting with %s", SLACK_BOT)
    log.info("socket mode", extra={"app_token": SLACK_APP})
    log.info(f"discord login {DISCORD} ok")
    try:
        raise RuntimeError(f"login refused for {DISCORD}")
    except RuntimeError:
        log.exception("discord failed")
    text = out.getvalue()
    for token in (SLACK_BOT, SLACK_APP, DISCORD):
        assert token not in text
    assert "xoxb-[REDACTED]" in text
    assert "xapp-[REDACTED]" in text
    assert "[REDACTED discord token]" in text
    assert "RuntimeError" in text


def test_values_of_env_vars_named_token_or_secret_are_redacted() -> None:
    out = StringIO()
    environ = {
        "SLACK_SIGNING_SECRET": SIGNING,
        "MY_API_TOKEN": "plain-looking-value",
        "HOME": "/root",
    }
    configure_logging("kv", stream=out, environ=environ)
    logging.getLogger("bot").info(
        "verifying with %s and %s", SIGNING, "plain-looking-value", extra={"home": "/root"}
    )
    text = out.getvalue()
    assert SIGNING not in text
    assert "plain-looking-value" not in text
    assert "[REDACTED SLACK_SIGNING_SECRET]" in text
    assert "[REDACTED MY_API_TOKEN]" in text
    assert "home=/root" in text


def test_the_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "not-discord-shaped-but-secret")
    out = StringIO()
    configure_logging("json", stream=out)
    logging.getLogger("bot").info("token is not-discord-shaped-but-secret")
    assert json.loads(out.getvalue())["msg"] == "token is [REDACTED DISCORD_TOKEN]"


def test_url_passwords_are_redacted() -> None:
    redact = Redactor()
    assert (
        redact("store postgresql://bot:hunter2@db:5432/chipwire")
        == "store postgresql://bot:[REDACTED]@db:5432/chipwire"
    )


def test_ordinary_text_is_left_alone() -> None:
    redact = Redactor(env_secrets({"EMPTY_TOKEN": "", "SHORT_SECRET": "on", "PATH": "/usr/bin"}))
    text = "polled https://www.nextplatform.com/feed/ in 1.5 s: 3 new, on time; xoxo-friends"
    assert redact(text) == text


def test_env_secrets_picks_names_ending_with_token_or_secret() -> None:
    names = {
        name
        for name, _ in env_secrets(
            {"DISCORD_TOKEN": "a", "slack_signing_secret": "b", "TOKEN_PATH": "c", "X": "d"}
        )
    }
    assert names == {"DISCORD_TOKEN", "slack_signing_secret"}
