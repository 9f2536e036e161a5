"""A bad config stops start-up with a message naming the file, the key and what is expected."""

from pathlib import Path

import pytest

from bot.models import Target
from bot.settings import DEFAULT_CONFIG, ConfigError, load_settings, to_async_url


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "chipwire.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_config_is_valid_and_has_feeds_in_three_languages() -> None:
    settings = load_settings(DEFAULT_CONFIG, environ={})
    languages = {feed.language for feed in settings.feeds}
    assert {"en", "zh", "it"} <= languages
    assert all(not feed.allow_private_address for feed in settings.feeds)
    assert settings.database_url.startswith("sqlite+aiosqlite:///")


def test_defaults_put_the_sqlite_file_under_data_dir_next_to_the_config(tmp_path: Path) -> None:
    path = write(tmp_path, '[chipwire]\ndata_dir = "store"\n')
    settings = load_settings(path, environ={})
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'store' / 'chipwire.db'}"


def test_environment_chooses_config_and_database(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    env = {"CHIPWIRE_CONFIG": str(path), "CHIPWIRE_DATABASE_URL": "postgresql://u@h:5432/db"}
    settings = load_settings(environ=env)
    assert settings.config_path == path
    assert settings.database_url == "postgresql+asyncpg://u@h:5432/db"


def test_an_explicit_database_url_wins_over_the_environment(tmp_path: Path) -> None:
    env = {"CHIPWIRE_DATABASE_URL": "postgresql://u@h/db"}
    settings = load_settings(write(tmp_path, ""), "sqlite:///x.db", environ=env)
    assert settings.database_url == "sqlite+aiosqlite:///x.db"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///data/c.db", "sqlite+aiosqlite:///data/c.db"),
        ("sqlite+aiosqlite:////abs/c.db", "sqlite+aiosqlite:////abs/c.db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_plain_urls_map_to_async_drivers(url: str, expected: str) -> None:
    assert to_async_url(url) == expected


def test_an_unsupported_database_url_says_what_works() -> None:
    with pytest.raises(ConfigError, match="sqlite:///PATH or postgresql://"):
        to_async_url("mysql://root@localhost/db")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[feeds]]\nname = 'x'\n", r"feeds\[0\].url is required"),
        (
            "[[feeds]]\nurl = 'ftp://x/feed'\n",
            r"feeds\[0\].url = 'ftp://x/feed' is not an http\(s\) URL",
        ),
        ("[[feeds]]\nurl = 'https://a/f'\ninterval = 5\n", r"feeds\[0\].interval = 5 .* >= 60"),
        ("[[feeds]]\nurl = 'https://a/f'\ninterval = 'often'\n", r"feeds\[0\].interval"),
        ("[[feeds]]\nurl = 'https://a/f'\nallow_private_address = 'yes'\n", "true or false"),
        ("[[feeds]]\nurl = 'https://a/f'\nlanguge = 'en'\n", r"feeds\[0\].languge is not a known"),
        ("[[feeds]]\nurl = 'https://a/f'\n[[feeds]]\nurl = 'https://a/f'\n", "repeats"),
        ("[fetch]\nmax_bytes = -1\n", "fetch.max_bytes"),
        ("[bogus]\n", r"unknown section \[bogus\]"),
        ("feeds = 'https://a/f'\n", "array of"),
        ("[chipwire\n", "not valid TOML"),
    ],
)
def test_bad_config_names_file_key_and_expectation(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=expected) as caught:
        load_settings(path, environ={})
    assert str(path) in str(caught.value)


def test_a_missing_config_file_says_how_to_choose_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--config PATH or set CHIPWIRE_CONFIG"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_chat_names_a_secrets_file_and_slack_admins(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[chat]\nsecrets_file = "private/secrets.env"\nslack_admins = ["U012AB3CD", "W0ENTERP1"]\n',
    )
    settings = load_settings(path, environ={"SLACK_ADMINS": " UFROMENV1 ,, U012AB3CD"})
    assert settings.chat.secrets_file == tmp_path / "private" / "secrets.env"
    assert settings.chat.slack_admins == {"U012AB3CD", "W0ENTERP1", "UFROMENV1"}


def test_a_secrets_file_under_home_is_expanded(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, '[chat]\nsecrets_file = "~/cw.env"\n'), environ={})
    assert settings.chat.secrets_file == Path.home() / "cw.env"


def test_chat_is_optional(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""), environ={})
    assert settings.chat.secrets_file is None
    assert settings.chat.slack_admins == frozenset()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[chat]\ntoken = 'xoxb-1'\n", r"chat.token is not a known setting"),
        ("[chat]\nsecrets_file = ''\n", r"chat.secrets_file = '' .* a non-empty string"),
        ("[chat]\nsecrets_file = 1\n", r"chat.secrets_file = 1"),
        ("[chat]\nslack_admins = 'U012AB3CD'\n", r"chat.slack_admins = .* an array of Slack"),
        ("[chat]\nslack_admins = [1]\n", r"chat.slack_admins = \[1\]"),
        (
            "[chat]\nslack_admins = ['U012AB3CD', 'u0lower']\n",
            r"chat.slack_admins\[1\] = 'u0lower' .* a Slack user id",
        ),
        ("[chat]\nslack_admins = ['@alice']\n", r"chat.slack_admins\[0\] = '@alice'"),
        ("chat = 1\n", r"chat = 1 is not valid; expected a table \[chat\]"),
    ],
)
def test_bad_chat_settings_name_file_key_and_expectation(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=expected) as caught:
        load_settings(path, environ={})
    assert str(path) in str(caught.value)


def test_a_bad_slack_admins_variable_says_what_it_expects(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"SLACK_ADMINS: 'alice' is not a Slack user id"):
        load_settings(write(tmp_path, ""), environ={"SLACK_ADMINS": "U012AB3CD,alice"})


def test_a_subscription_may_set_its_own_caps(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[subscriptions]]\ntarget = "slack:C1"\ntop_stories = 10\nper_company = 2\n'
        '[[subscriptions]]\ntarget = "slack:C2"\n',
    )
    own, default = load_settings(path, environ={}).subscriptions
    assert (own.top_stories, own.per_company) == (10, 2)
    assert (default.top_stories, default.per_company) == (None, None)


def test_a_bad_cap_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[[subscriptions]]\ntarget = "slack:C1"\nper_company = 0\n')
    with pytest.raises(ConfigError, match=r"per_company.*whole number >= 1"):
        load_settings(path, environ={})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("console", Target("console")),
        ("discord:1234567890", Target("discord", "1234567890")),
        ("slack:C0123ABCD", Target("slack", "C0123ABCD")),
    ],
)
def test_a_target_is_read_once_and_written_back_the_same(text: str, expected: Target) -> None:
    assert Target.parse(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize(
    "text", ["", "discord:", "discord:general", "slack:#general", "teams:1", "slack:C1 2", "١٢٣"]
)
def test_a_malformed_target_says_what_a_target_looks_like(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected \"console\", \"discord:<channel id>\""):
        Target.parse(text)


def test_a_discord_target_with_a_channel_name_asks_for_the_id(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[subscriptions]]\ntarget = "discord:general"\nschedule = "daily 08:00"\n',
    )
    with pytest.raises(ConfigError, match=r"subscriptions\[0\]\.target.*\(digits\)"):
        load_settings(path)
