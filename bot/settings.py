"""Config file + environment → validated, frozen settings.

Every problem becomes a `ConfigError` whose text names the file, the key and what is expected,
so the CLI can print it and exit without a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.digest.schedules import ScheduleError, check_timezone, parse_schedule
from bot.models import FeedConfig, SubscriptionConfig, Target
from bot.tomlfile import TomlFileError, read_toml

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config" / "chipwire.toml"
MIN_INTERVAL = 60
SQLITE_FILE = "chipwire.db"
SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


class ConfigError(Exception):
    """A config or environment value is unusable; the message says what to do."""


@dataclass(frozen=True)
class FetchSettings:
    max_bytes: int = 5 * 1024 * 1024
    connect_timeout: float = 10.0
    total_timeout: float = 30.0
    total_connections: int = 20
    per_host_connections: int = 2
    max_redirects: int = 5
    max_backoff: int = 24 * 3600


@dataclass(frozen=True)
class DigestSettings:
    top_stories: int = 5
    per_company: int = 5
    company_priority: Mapping[str, float] = field(default_factory=dict)
    lookback_hours: int = 24  # how far back a first digest reaches at least (weekly: its week)
    trend_chart: bool = True  # weekly digests carry a four-week chart of the followed companies


@dataclass(frozen=True)
class OpsSettings:
    health_host: str = "127.0.0.1"
    health_port: int = 8080  # 0 turns the /healthz and /metrics server off
    log_format: str = "kv"  # kv | json
    stale_after_days: int = 14  # a feed that answers but gives nothing new this long is flagged
    failing_after: int = 5  # failed polls in a row before a feed is flagged
    admin_target: str = "console"  # where the weekly feed-health note goes


@dataclass(frozen=True)
class ChatSettings:
    # KEY=VALUE lines with the chat tokens (bot/ops/secrets.py); a set environment variable wins.
    secrets_file: Path | None = None
    # Slack user ids allowed admin commands besides workspace admins: [chat] ∪ env SLACK_ADMINS.
    slack_admins: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Settings:
    config_path: Path
    data_dir: Path
    database_url: str  # async SQLAlchemy URL
    feeds: tuple[FeedConfig, ...]
    fetch: FetchSettings
    parse_workers: int  # 0 = parse in the main process
    catalog_path: Path | None = None  # user catalog merged over config/companies.toml
    relevance_threshold: float = 0.5
    classify_at_ingest: bool = True
    subscriptions: tuple[SubscriptionConfig, ...] = ()
    digest: DigestSettings = field(default_factory=DigestSettings)
    ops: OpsSettings = field(default_factory=OpsSettings)
    chat: ChatSettings = field(default_factory=ChatSettings)


# Each default is written once, on its dataclass; the readers below take it from there.
FEED_DEFAULTS = FeedConfig(url="")
SUB_DEFAULTS = SubscriptionConfig(target="", schedule="")
_THRESHOLD = Settings.__dataclass_fields__["relevance_threshold"].default
_CLASSIFY_AT_INGEST = Settings.__dataclass_fields__["classify_at_ingest"].default


def load_settings(
    config_path: str | Path | None = None,
    database_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read the config file named by argument, `CHIPWIRE_CONFIG` or the default."""
    env = os.environ if environ is None else environ
    path = Path(config_path or env.get("CHIPWIRE_CONFIG") or DEFAULT_CONFIG).expanduser()
    raw = _read_toml(path)
    return settings_from_mapping(
        raw, path, database_url or env.get("CHIPWIRE_DATABASE_URL"), environ=env
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return read_toml(path)
    except TomlFileError as exc:
        raise ConfigError(
            f"{path}: {_CONFIG_FAULTS[exc.fault].format(detail=exc.detail)}"
        ) from None


_CONFIG_FAULTS = {
    "missing": "config file not found. Pass --config PATH or set CHIPWIRE_CONFIG, "
    "or copy config/chipwire.toml from the ChipWire repository.",
    "unreadable": "{detail}.",
    "encoding": "{detail}; save the file as UTF-8 and start again.",
    "syntax": "{detail}. Fix the syntax and start again.",
}


def settings_from_mapping(
    raw: Mapping[str, Any],
    path: Path,
    database_url: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    reader = _Reader(path)
    known = {"chipwire", "fetch", "feeds", "classify", "digest", "subscriptions", "chat", "ops"}
    for key in raw:
        if key not in known:
            raise ConfigError(f"{path}: unknown section [{key}]; expected one of {sorted(known)}.")
    main = reader.table(raw, "chipwire")
    base = path.parent
    data_dir = _resolve(base, reader.string(main, "chipwire.data_dir", default="data"))
    url = database_url or reader.optional_string(main, "chipwire.database_url")
    catalog = reader.optional_string(main, "chipwire.catalog")
    return Settings(
        config_path=path,
        data_dir=data_dir,
        database_url=to_async_url(url, path) if url else sqlite_url(data_dir / SQLITE_FILE),
        feeds=_feeds(reader, raw.get("feeds", [])),
        fetch=_fetch(reader, reader.table(raw, "fetch")),
        parse_workers=reader.integer(main, "chipwire.parse_workers", default=-1, minimum=-1),
        catalog_path=_resolve(base, catalog) if catalog else None,
        relevance_threshold=_threshold(reader, reader.table(raw, "classify")),
        classify_at_ingest=reader.boolean(
            reader.table(raw, "classify"), "classify.enabled", _CLASSIFY_AT_INGEST
        ),
        subscriptions=_subscriptions(reader, raw.get("subscriptions", [])),
        digest=_digest(reader, reader.table(raw, "digest")),
        ops=_ops(reader, reader.table(raw, "ops"), environ or {}),
        chat=_chat(reader, reader.table(raw, "chat"), environ or {}),
    )


def _chat(reader: _Reader, table: Mapping[str, Any], environ: Mapping[str, str]) -> ChatSettings:
    reader.no_unknown_keys(table, "chat", {"secrets_file", "slack_admins"})
    secrets = reader.optional_string(table, "chat.secrets_file")
    return ChatSettings(
        secrets_file=_resolve(reader.path.parent, secrets) if secrets else None,
        slack_admins=_slack_admins(reader, table) | _env_slack_admins(environ),
    )


def _slack_admins(reader: _Reader, table: Mapping[str, Any]) -> frozenset[str]:
    value = table.get("slack_admins", [])
    if not isinstance(value, list) or not all(isinstance(user, str) for user in value):
        raise reader.fail(
            "chat.slack_admins", value, 'an array of Slack user ids, e.g. ["U012AB3CD"]'
        )
    for index, user in enumerate(value):
        if not SLACK_USER_ID.fullmatch(user.strip()):
            raise reader.fail(
                f"chat.slack_admins[{index}]",
                user,
                'a Slack user id such as "U012AB3CD" (profile → ⋮ → Copy member ID)',
            )
    return frozenset(user.strip() for user in value)


def _env_slack_admins(environ: Mapping[str, str]) -> frozenset[str]:
    users = [user.strip() for user in environ.get("SLACK_ADMINS", "").split(",") if user.strip()]
    for user in users:
        if not SLACK_USER_ID.fullmatch(user):
            raise ConfigError(
                f"SLACK_ADMINS: {user!r} is not a Slack user id; expected comma-separated ids "
                "such as U012AB3CD (profile → ⋮ → Copy member ID)."
            )
    return frozenset(users)


def _ops(reader: _Reader, table: Mapping[str, Any], environ: Mapping[str, str]) -> OpsSettings:
    allowed = {"health_host", "health_port", "log_format", "stale_after_days", "failing_after"}
    reader.no_unknown_keys(table, "ops", allowed | {"admin_target"})
    port_text = environ.get("CHIPWIRE_HEALTH_PORT")
    if port_text is not None and not port_text.isdigit():
        raise ConfigError(
            f"CHIPWIRE_HEALTH_PORT = {port_text!r} is not valid; expected a port number (0 = off)."
        )
    default = OpsSettings()
    port = (
        int(port_text)
        if port_text
        else reader.integer(table, "ops.health_port", default.health_port)
    )
    if port > 65535:
        raise reader.fail("ops.health_port", port, "a port number from 0 (off) to 65535")
    log_format = reader.string(table, "ops.log_format", default=default.log_format)
    if log_format not in ("kv", "json"):
        raise reader.fail("ops.log_format", log_format, '"kv" (key=value) or "json"')
    host = environ.get("CHIPWIRE_HEALTH_HOST") or reader.string(
        table, "ops.health_host", default=default.health_host
    )
    admin = reader.string(table, "ops.admin_target", default=default.admin_target)
    if not _is_target(admin):
        raise reader.fail("ops.admin_target", admin, _TARGET_FORMS)
    return OpsSettings(
        health_host=host,
        health_port=port,
        log_format=log_format,
        stale_after_days=reader.integer(
            table, "ops.stale_after_days", default.stale_after_days, minimum=1
        ),
        failing_after=reader.integer(table, "ops.failing_after", default.failing_after, minimum=1),
        admin_target=admin,
    )


def _subscriptions(reader: _Reader, raw: Any) -> tuple[SubscriptionConfig, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"{reader.path}: 'subscriptions' must be an array of [[subscriptions]].")
    found: list[SubscriptionConfig] = []
    for index, table in enumerate(raw):
        key = f"subscriptions[{index}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{reader.path}: {key} must be a table with target and schedule.")
        found.append(_subscription(reader, table, key))
    targets = [s.target for s in found]
    for target in targets:
        if targets.count(target) > 1:
            raise ConfigError(
                f"{reader.path}: two [[subscriptions]] have target = {target!r}; "
                "one subscription per target (list several companies in one)."
            )
    return tuple(found)


def _subscription(reader: _Reader, table: Mapping[str, Any], key: str) -> SubscriptionConfig:
    allowed = {"target", "schedule", "timezone", "companies", "languages", "min_relevance", "empty"}
    allowed |= {"live_alerts", "alert_threshold", "alerts_per_hour", "top_stories", "per_company"}
    reader.no_unknown_keys(table, key, allowed)
    target = reader.string(table, f"{key}.target", default="console")
    if not _is_target(target):
        raise reader.fail(f"{key}.target", target, _TARGET_FORMS)
    try:
        schedule = parse_schedule(reader.string(table, f"{key}.schedule", default="daily 08:00"))
        timezone = check_timezone(
            reader.string(table, f"{key}.timezone", default=SUB_DEFAULTS.timezone)
        )
    except ScheduleError as exc:
        raise ConfigError(f"{reader.path}: {key}: {exc}.") from None
    empty = reader.string(table, f"{key}.empty", default="note")
    if empty not in ("note", "silent"):
        raise reader.fail(f"{key}.empty", empty, '"note" (say nothing new) or "silent"')
    return SubscriptionConfig(
        target=target,
        schedule=schedule,
        timezone=timezone,
        companies=reader.strings(table, f"{key}.companies"),
        languages=reader.strings(table, f"{key}.languages"),
        min_relevance=_unit(reader, table, f"{key}.min_relevance", SUB_DEFAULTS.min_relevance),
        empty_note=empty == "note",
        live_alerts=reader.boolean(table, f"{key}.live_alerts", default=SUB_DEFAULTS.live_alerts),
        alert_threshold=_unit(
            reader, table, f"{key}.alert_threshold", SUB_DEFAULTS.alert_threshold
        ),
        alerts_per_hour=reader.integer(
            table, f"{key}.alerts_per_hour", SUB_DEFAULTS.alerts_per_hour, minimum=1
        ),
        top_stories=_optional_int(reader, table, f"{key}.top_stories", minimum=0),
        per_company=_optional_int(reader, table, f"{key}.per_company", minimum=1),
    )


_TARGET_FORMS = '"console", "discord:<channel id>" (digits) or "slack:<channel id>"'


def _is_target(text: str) -> bool:
    try:
        Target.parse(text)
    except ValueError:
        return False
    return True


def _optional_int(
    reader: _Reader, table: Mapping[str, Any], key: str, *, minimum: int
) -> int | None:
    """A subscription's own cap, or None to follow the [digest] setting."""
    if key.rsplit(".", 1)[-1] not in table:
        return None
    return reader.integer(table, key, minimum=minimum)


def _digest(reader: _Reader, table: Mapping[str, Any]) -> DigestSettings:
    reader.no_unknown_keys(
        table,
        "digest",
        {"top_stories", "per_company", "company_priority", "lookback_hours", "trend_chart"},
    )
    priority = reader.table(table, "company_priority")
    for company, value in priority.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise reader.fail(f"digest.company_priority.{company}", value, "a number")
    default = DigestSettings()
    return DigestSettings(
        top_stories=reader.integer(table, "digest.top_stories", default.top_stories, minimum=0),
        per_company=reader.integer(table, "digest.per_company", default.per_company, minimum=1),
        company_priority={k: float(v) for k, v in priority.items()},
        lookback_hours=reader.integer(
            table, "digest.lookback_hours", default.lookback_hours, minimum=1
        ),
        trend_chart=reader.boolean(table, "digest.trend_chart", default.trend_chart),
    )


def _unit(reader: _Reader, table: Mapping[str, Any], key: str, default: float) -> float:
    value = table.get(key.rsplit(".", 1)[-1], default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise reader.fail(key, value, "a number from 0 to 1")
    return float(value)


def _threshold(reader: _Reader, table: Mapping[str, Any]) -> float:
    reader.no_unknown_keys(table, "classify", {"threshold", "enabled"})
    value = table.get("threshold", _THRESHOLD)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigError(
            f"{reader.path}: classify.threshold = {value!r} is not valid; "
            f"expected a number from 0 to 1 ({_THRESHOLD} by default)."
        )
    return float(value)


def _resolve(base: Path, value: str) -> Path:
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else (base / candidate).resolve()


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
    "postgresql+psycopg": "postgresql+asyncpg",
}


def to_async_url(url: str, origin: Path | str = "CHIPWIRE_DATABASE_URL") -> str:
    """Map a plain SQLAlchemy URL (`sqlite:///x.db`, `postgresql://…`) to its async driver."""
    scheme, sep, rest = url.partition("://")
    driver = _ASYNC_DRIVERS.get(scheme.lower())
    if not sep or driver is None:
        raise ConfigError(
            f"{origin}: database URL {url!r} is not supported; use sqlite:///PATH "
            "or postgresql://USER@HOST:PORT/DB."
        )
    async_url = f"{driver}://{rest}"
    if driver.startswith("sqlite"):
        try:
            sqlite_parts(async_url)
        except ValueError as exc:
            raise ConfigError(f"{origin}: database URL {url!r}: {exc}.") from None
    return async_url


# What an SQLite URL may carry after "?": SQLite's own URI options, and the busy timeout.
SQLITE_OPTIONS: dict[str, tuple[str, ...]] = {
    "mode": ("ro", "rw", "rwc"),
    "cache": ("shared", "private"),
    "immutable": ("0", "1"),
    "timeout": (),  # seconds to wait for another writer, a number
}


def sqlite_parts(url: str) -> tuple[str, dict[str, str]]:
    """The file and the options of an `sqlite+aiosqlite:///PATH?k=v` URL; ValueError for an
    option SQLite would not honour (it would otherwise become part of the file name)."""
    rest = url.split(":///", 1)[1] if ":///" in url else ""
    path, _, query = rest.partition("?")
    options: dict[str, str] = {}
    for pair in filter(None, query.split("&")):
        key, _, value = pair.partition("=")
        allowed = SQLITE_OPTIONS.get(key)
        if allowed is None:
            known = ", ".join(f"{k}=" for k in SQLITE_OPTIONS)
            raise ValueError(f"SQLite option {key!r} is not supported; the known ones are {known}")
        if allowed and value not in allowed:
            raise ValueError(f"SQLite option {key}={value!r} must be one of {', '.join(allowed)}")
        if not allowed and not _is_seconds(value):
            raise ValueError(f"SQLite option timeout={value!r} must be a number of seconds")
        options[key] = value
    return path, options


def _is_seconds(text: str) -> bool:
    try:
        return 0 <= float(text) < 1e6
    except ValueError:
        return False


def _feeds(reader: _Reader, raw: Any) -> tuple[FeedConfig, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"{reader.path}: 'feeds' must be an array of [[feeds]] tables.")
    feeds: list[FeedConfig] = []
    seen: dict[str, int] = {}
    for index, table in enumerate(raw):
        key = f"feeds[{index}]"
        if not isinstance(table, dict):
            raise ConfigError(f'{reader.path}: {key} must be a table with at least url = "…".')
        feed = _feed(reader, table, key)
        if feed.url in seen:
            raise ConfigError(
                f"{reader.path}: {key}.url repeats feeds[{seen[feed.url]}].url ({feed.url}); "
                "list each feed once."
            )
        seen[feed.url] = index
        feeds.append(feed)
    return tuple(feeds)


def _feed(reader: _Reader, table: Mapping[str, Any], key: str) -> FeedConfig:
    allowed = {"url", "name", "language", "interval", "allow_private_address"}
    reader.no_unknown_keys(table, key, allowed)
    url = reader.string(table, f"{key}.url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{reader.path}: {key}.url = {url!r} is not an http(s) URL; "
            'expected something like "https://example.com/feed.xml".'
        )
    return FeedConfig(
        url=url,
        name=reader.string(table, f"{key}.name", default=parts.hostname),
        language=reader.optional_string(table, f"{key}.language"),
        interval=reader.integer(
            table, f"{key}.interval", default=FEED_DEFAULTS.interval, minimum=MIN_INTERVAL
        ),
        allow_private_address=reader.boolean(
            table, f"{key}.allow_private_address", default=FEED_DEFAULTS.allow_private_address
        ),
    )


def _fetch(reader: _Reader, table: Mapping[str, Any]) -> FetchSettings:
    default = FetchSettings()
    reader.no_unknown_keys(table, "fetch", set(default.__dataclass_fields__))
    return FetchSettings(
        max_bytes=reader.integer(table, "fetch.max_bytes", default.max_bytes, minimum=1024),
        connect_timeout=reader.number(table, "fetch.connect_timeout", default.connect_timeout),
        total_timeout=reader.number(table, "fetch.total_timeout", default.total_timeout),
        total_connections=reader.integer(
            table, "fetch.total_connections", default.total_connections, minimum=1
        ),
        per_host_connections=reader.integer(
            table, "fetch.per_host_connections", default.per_host_connections, minimum=1
        ),
        max_redirects=reader.integer(
            table, "fetch.max_redirects", default.max_redirects, minimum=0
        ),
        max_backoff=reader.integer(table, "fetch.max_backoff", default.max_backoff, minimum=60),
    )


_MISSING = object()


@dataclass(frozen=True)
class _Reader:
    """Typed look-ups whose errors name the file and the dotted key."""

    path: Path

    def _get(self, table: Mapping[str, Any], key: str, default: Any) -> Any:
        value = table.get(key.rsplit(".", 1)[-1], default)
        if value is _MISSING:
            raise ConfigError(f"{self.path}: {key} is required.")
        return value

    def fail(self, key: str, value: Any, expected: str) -> ConfigError:
        return ConfigError(f"{self.path}: {key} = {value!r} is not valid; expected {expected}.")

    def table(self, raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = raw.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, value, f"a table [{key}]")
        return value

    def no_unknown_keys(self, table: Mapping[str, Any], key: str, allowed: set[str]) -> None:
        for name in table:
            if name not in allowed:
                raise ConfigError(
                    f"{self.path}: {key}.{name} is not a known setting; "
                    f"expected one of {sorted(allowed)}."
                )

    def string(self, table: Mapping[str, Any], key: str, default: Any = _MISSING) -> str:
        value = self._get(table, key, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, value, "a non-empty string")
        return value.strip()

    def strings(self, table: Mapping[str, Any], key: str) -> tuple[str, ...]:
        value = self._get(table, key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(key, value, 'an array of strings, e.g. ["nvidia", "huawei"]')
        return tuple(v.strip().lower() for v in value)

    def optional_string(self, table: Mapping[str, Any], key: str) -> str | None:
        value = self._get(table, key, None)
        return None if value is None else self.string(table, key)

    def integer(
        self, table: Mapping[str, Any], key: str, default: Any = _MISSING, minimum: int = 0
    ) -> int:
        value = self._get(table, key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(key, value, f"a whole number >= {minimum}")
        return value

    def number(self, table: Mapping[str, Any], key: str, default: Any = _MISSING) -> float:
        value = self._get(table, key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.fail(key, value, "a positive number of seconds")
        return float(value)

    def boolean(self, table: Mapping[str, Any], key: str, default: Any = _MISSING) -> bool:
        value = self._get(table, key, default)
        if not isinstance(value, bool):
            raise self.fail(key, value, "true or false")
        return value


def safe_url(url: str) -> str:
    """A database URL with any password hidden, for printing."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        credentials, host = rest.split("@", 1)
        user = credentials.split(":", 1)[0]
        rest = f"{user}:***@{host}" if ":" in credentials else f"{user}@{host}"
    return f"{scheme}{sep}{rest}"
