"""Chat credentials from the environment and the `[chat] secrets_file`: parsing, precedence,
clear errors that never show a value, a warning for an open file, and no token in repr or logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest

from bot.ops.logs import configure_logging
from bot.ops.secrets import Credentials, credentials_for, load_credentials, parse_secrets
from bot.settings import ConfigError, Settings, load_settings

DISCORD = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"
SLACK_BOT = "xoxb-1234567890-1234567890123-AbCdEfGhIjKl"
SLACK_APP = "xapp-1-A0123456789-1234567890123-0123456789abcdef"
SIGNING = "8f14e45fceea167a5a36dedd4bea2543"


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    filters = {handler: list(handler.filters) for handler in handlers}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for handler, kept in filters.items():
        handler.filters[:] = kept


def settings_with(tmp_path: Path, secrets: str | None, mode: int = 0o600) -> Settings:
    config = tmp_path / "chipwire.toml"
    chat = '[chat]\nsecrets_file = "secrets.env"\n' if secrets is not None else ""
    config.write_text(f'[chipwire]\ndata_dir = "data"\n{chat}')
    if secrets is not None:
        path = tmp_path / "secrets.env"
        path.write_text(secrets, encoding="utf-8")
        path.chmod(mode)
    return load_settings(config, environ={})


def test_a_dotenv_style_file_is_read(tmp_path: Path) -> None:
    text = (
        "# ChipWire chat secrets\n"
        "\n"
        f"DISCORD_TOKEN={DISCORD}\n"
        f'  export SLACK_BOT_TOKEN = "{SLACK_BOT}"   # the bot token\n'
        f"SLACK_APP_TOKEN='{SLACK_APP}'\n"
        f"SLACK_SIGNING_SECRET={SIGNING} # from Basic Information\n"
    )
    found = parse_secrets(text, tmp_path / "s.env")
    assert found == {
        "DISCORD_TOKEN": DISCORD,
        "SLACK_BOT_TOKEN": SLACK_BOT,
        "SLACK_APP_TOKEN": SLACK_APP,
        "SLACK_SIGNING_SECRET": SIGNING,
    }


def test_credentials_come_from_the_file_named_by_the_config(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, f"SLACK_BOT_TOKEN={SLACK_BOT}\nDISCORD_TOKEN=\n")
    assert settings.chat.secrets_file == tmp_path / "secrets.env"
    found = load_credentials(settings, {"SLACK_API_URL": "http://127.0.0.1:9/api/"})
    assert found == Credentials(slack_bot_token=SLACK_BOT, slack_api_url="http://127.0.0.1:9/api/")


def test_the_environment_wins_over_the_file_unless_it_is_empty(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, f"SLACK_BOT_TOKEN={SLACK_BOT}\nDISCORD_TOKEN={DISCORD}\n")
    environ = {"SLACK_BOT_TOKEN": "xoxb-from-the-environment-1", "DISCORD_TOKEN": ""}
    found = load_credentials(settings, environ)
    assert found.slack_bot_token == "xoxb-from-the-environment-1"
    assert found.discord_token == DISCORD  # an empty variable (compose's .env) counts as unset


def test_without_a_secrets_file_only_the_environment_counts(tmp_path: Path) -> None:
    found = load_credentials(settings_with(tmp_path, None), {"DISCORD_TOKEN": DISCORD})
    assert found == Credentials(discord_token=DISCORD)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"{SIGNING}\n", r"line 1: not a KEY=VALUE line"),
        (f"# c\n\nDISCORD_TOKEN {DISCORD}\n", r"line 3: not a KEY=VALUE line"),
        (f"SLACK_TOKEN={SLACK_BOT}\n", r"line 1: SLACK_TOKEN is not a secret ChipWire reads"),
        ("SLACK_ADMINS=U012AB3CD\n", r"line 1: .*\[chat\] slack_admins"),
        (f'SLACK_BOT_TOKEN="{SLACK_BOT}\n', r"line 1: the value of SLACK_BOT_TOKEN opens a quote"),
        (f"SLACK_APP_TOKEN='{SLACK_APP}'x\n", r"line 1: the value of SLACK_APP_TOKEN opens"),
        (
            f"DISCORD_TOKEN={DISCORD}\nDISCORD_TOKEN={DISCORD}x\n",
            r"line 2: DISCORD_TOKEN is already set on line 1",
        ),
    ],
)
def test_a_bad_line_names_file_and_line_but_never_the_value(
    tmp_path: Path, text: str, expected: str
) -> None:
    settings = settings_with(tmp_path, text)
    with pytest.raises(ConfigError, match=expected) as caught:
        load_credentials(settings, {})
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'secrets.env'}, line ")
    for secret in (DISCORD, SLACK_BOT, SLACK_APP, SIGNING):
        assert secret not in message


def test_a_missing_secrets_file_says_what_to_do(tmp_path: Path) -> None:
    config = tmp_path / "chipwire.toml"
    config.write_text('[chat]\nsecrets_file = "nope.env"\n')
    settings = load_settings(config, environ={})
    with pytest.raises(ConfigError, match=r"nope.env: secrets file not found; create it") as caught:
        load_credentials(settings, {})
    assert "[chat] secrets_file" in str(caught.value)
    assert "chipwire.toml" in str(caught.value)


def test_an_unreadable_secrets_file_says_what_to_do(tmp_path: Path) -> None:
    config = tmp_path / "chipwire.toml"
    config.write_text('[chat]\nsecrets_file = "folder"\n')
    (tmp_path / "folder").mkdir()
    with pytest.raises(ConfigError, match=r"folder: cannot read the secrets file \(Is a direct"):
        load_credentials(load_settings(config, environ={}), {})


def test_a_secrets_file_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, "")
    (tmp_path / "secrets.env").write_bytes(b"DISCORD_TOKEN=\xff\xfe-hunter2\n")
    with pytest.raises(ConfigError, match="not UTF-8 text") as caught:
        load_credentials(settings, {})
    assert "hunter2" not in str(caught.value)
    assert "xff" not in str(caught.value)


def test_a_file_others_can_read_is_warned_about_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_with(tmp_path, f"DISCORD_TOKEN={DISCORD}\n", mode=0o644)
    with caplog.at_level(logging.WARNING, logger="bot.ops.secrets"):
        load_credentials(settings, {})
        load_credentials(settings, {})
    [record] = caplog.records
    assert "accessible by other users (mode 644)" in record.getMessage()
    assert f"chmod 600 {tmp_path / 'secrets.env'}" in record.getMessage()
    assert DISCORD not in caplog.text


def test_a_private_file_is_not_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_with(tmp_path, f"DISCORD_TOKEN={DISCORD}\n", mode=0o600)
    with caplog.at_level(logging.WARNING, logger="bot.ops.secrets"):
        load_credentials(settings, {})
    assert caplog.records == []


def test_repr_and_str_mask_every_secret() -> None:
    found = Credentials(
        discord_token=DISCORD,
        slack_bot_token=SLACK_BOT,
        slack_app_token=SLACK_APP,
        slack_signing_secret=SIGNING,
        slack_api_url="http://127.0.0.1:9/api/",
    )
    for text in (repr(found), str(found), f"{found}", repr([found])):
        for secret in (DISCORD, SLACK_BOT, SLACK_APP, SIGNING):
            assert secret not in text
    assert repr(found) == (
        "Credentials(discord_token=***, slack_bot_token=***, slack_app_token=***, "
        "slack_signing_secret=***, discord_api_url=None, slack_api_url='http://127.0.0.1:9/api/')"
    )
    assert repr(Credentials()).startswith("Credentials(discord_token=None, ")


def test_secrets_from_the_file_are_redacted_from_the_logs(tmp_path: Path) -> None:
    out = StringIO()
    configure_logging("kv", stream=out, environ={})  # the file's secrets are not in the env
    settings = settings_with(tmp_path, f"SLACK_SIGNING_SECRET={SIGNING}\n")
    found = credentials_for(settings, {})
    credentials_for(settings, found)  # a second start-up path adds nothing twice
    logging.getLogger("bot").warning("verifying with %s; %r", SIGNING, found)
    assert SIGNING not in out.getvalue()
    assert "[REDACTED SLACK_SIGNING_SECRET]" in out.getvalue()
    [handler] = logging.getLogger().handlers
    assert len(handler.filters) == 2
