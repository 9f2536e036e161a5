"""Structured logs on stderr ("kv" or "json"), with every token-shaped string redacted.

Redaction is a filter on the handler, so whatever reaches the handler — message, arguments,
`extra` fields, traceback — has been cleaned before any formatter sees it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

FORMATS = ("kv", "json")

# Env values shorter than this are not treated as secrets: redacting "x" or "on" everywhere
# would shred the logs, and no real token is that short.
MIN_SECRET_LENGTH = 6

_SECRET_NAME = re.compile(r"(TOKEN|SECRET)$", re.IGNORECASE)

# A Discord bot token: base64 user id, base64 timestamp, HMAC, separated by dots.
_DISCORD_TOKEN = re.compile(r"(?<![\w.-])[\w-]{23,}\.[\w-]{6,7}\.[\w-]{27,}(?![\w.-])", re.ASCII)
# Slack bot/user/app/refresh tokens: xoxb-, xoxp-, xapp-, xoxe.xoxp- …; their bodies always hold
# digits, which spares words such as "xoxo-friends".
_SLACK_TOKEN = re.compile(
    r"\b((?:xox[a-z]\.)?(?:xox[a-z]|xapp))-(?=[A-Za-z-]*\d)[A-Za-z0-9-]{8,}", re.ASCII
)
# The password in a URL such as postgresql://user:password@host/db.
_URL_PASSWORD = re.compile(r"(?<=://)([^:/@\s]+):[^@/\s]+@")

# Attributes every LogRecord has; anything else on a record came from `extra`.
_RECORD_FIELDS = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)).keys()
) | {"message", "asctime", "taskName"}


class Redactor:
    """Replaces tokens and known secret values in text."""

    def __init__(self, secrets: Iterable[tuple[str, str]] = ()) -> None:
        # Longest first, so a secret containing another is replaced whole.
        self._secrets = sorted(
            ((name, value) for name, value in secrets if len(value) >= MIN_SECRET_LENGTH),
            key=lambda item: len(item[1]),
            reverse=True,
        )

    def __call__(self, text: str) -> str:
        for name, value in self._secrets:
            if value in text:
                text = text.replace(value, f"[REDACTED {name}]")
        text = _SLACK_TOKEN.sub(lambda m: f"{m.group(1)}-[REDACTED]", text)
        text = _DISCORD_TOKEN.sub("[REDACTED discord token]", text)
        return _URL_PASSWORD.sub(r"\1:[REDACTED]@", text)


def env_secrets(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """(name, value) of every variable whose name ends with TOKEN or SECRET."""
    return [(name, value) for name, value in environ.items() if _SECRET_NAME.search(name)]


class RedactingFilter(logging.Filter):
    """Rewrites each record in place so no handler after it can see a secret."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        for key, value in extra_fields(record).items():
            setattr(record, key, self._clean(value))
        return True

    def _clean(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float):
            return value
        return self._redact(value if isinstance(value, str) else str(value))


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS}


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _trace(record: logging.LogRecord) -> str | None:
    parts = [part for part in (record.exc_text, record.stack_info) if part]
    return "\n".join(parts) if parts else None


def _core(record: logging.LogRecord) -> dict[str, Any]:
    return {
        "ts": _timestamp(record),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = _core(record)
    fields.update({k: v for k, v in extra_fields(record).items() if k not in fields})
    trace = _trace(record)
    if trace:
        fields["exc"] = trace
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record), ensure_ascii=False, default=str)


_BARE_VALUE = re.compile(r"[^\s\"=\\]+")


def kv_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = value if isinstance(value, str) else str(value)
    if _BARE_VALUE.fullmatch(text):
        return text
    return json.dumps(text, ensure_ascii=False)


class KeyValueFormatter(logging.Formatter):
    """`ts=… level=… logger=… msg="…" key=value …` on one line (tracebacks escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        fields["msg"] = json.dumps(fields["msg"], ensure_ascii=False)
        return " ".join(
            f"{key}={value if key == 'msg' else kv_value(value)}" for key, value in fields.items()
        )


def make_formatter(fmt: str) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter()
    if fmt == "kv":
        return KeyValueFormatter()
    raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")


def configure_logging(
    fmt: str = "kv",
    level: int = logging.INFO,
    stream: TextIO | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
) -> logging.Handler:
    """Send every log record to `stream` (default stderr) in `fmt`, secrets redacted.

    Replaces the root logger's handlers, so calling it again (or after `basicConfig`) leaves one.
    Secret values are read from `environ` (default `os.environ`) now; pass any others in `secrets`.
    """
    env = os.environ if environ is None else environ
    named = [*env_secrets(env), *(("secret", value) for value in secrets)]
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(make_formatter(fmt))
    handler.addFilter(RedactingFilter(Redactor(named)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
