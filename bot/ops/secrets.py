"""Chat credentials: the environment, else the secrets file `[chat] secrets_file` names.

The file holds `KEY=VALUE` lines (dotenv style: `#` comments, blank lines, an optional
`export `, optional single or double quotes; no escapes or `$VAR` expansion). Only the chat
secrets may appear in it. A non-empty environment variable wins over the file, so a deployment
can override one token without editing the file. No error message ever shows a value.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from bot.ops.logs import RedactingFilter, Redactor
from bot.settings import ConfigError, Settings

log = logging.getLogger(__name__)

# Credentials field → the variable name it has in the environment and in the secrets file.
SECRET_NAMES = {
    "discord_token": "DISCORD_TOKEN",
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
}

_ASSIGNMENT = re.compile(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)")
_QUOTED = re.compile(r"""(["'])(.*?)\1\s*(?:#.*)?""")
_COMMENT = re.compile(r"\s+#")
_warned: set[Path] = set()  # files already reported as too open, so it is said once


@dataclass(frozen=True, repr=False)
class Credentials:
    discord_token: str | None = None
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    discord_api_url: str | None = None  # not secret: where the clients go (tests, proxies)
    slack_api_url: str | None = None

    def __repr__(self) -> str:
        shown = []
        for item in fields(self):
            value = getattr(self, item.name)
            masked = item.name in SECRET_NAMES and value is not None
            shown.append(f"{item.name}={'***' if masked else repr(value)}")
        return f"Credentials({', '.join(shown)})"

    def secrets(self) -> list[tuple[str, str]]:
        """(variable name, value) of every secret that is set."""
        pairs = ((name, getattr(self, attr)) for attr, name in SECRET_NAMES.items())
        return [(name, value) for name, value in pairs if value]


def credentials_for(settings: Settings, source: Credentials | Mapping[str, str]) -> Credentials:
    """`source` itself, or the credentials loaded with it as the environment; either way its
    secrets are added to the log redaction (the environment's are there already)."""
    found = source if isinstance(source, Credentials) else load_credentials(settings, source)
    redact_in_logs(found)
    return found


def load_credentials(settings: Settings, environ: Mapping[str, str]) -> Credentials:
    path = settings.chat.secrets_file
    stored = read_secrets(path, settings.config_path) if path else {}
    values = {
        attr: environ.get(name) or stored.get(name) or None for attr, name in SECRET_NAMES.items()
    }
    return Credentials(
        **values,
        discord_api_url=environ.get("DISCORD_API_URL") or None,
        slack_api_url=environ.get("SLACK_API_URL") or None,
    )


def read_secrets(path: Path, config: Path) -> dict[str, str]:
    where = f"or remove [chat] secrets_file from {config}"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: secrets file not found; create it (KEY=VALUE lines, chmod 600) {where}."
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(
            f"{path}: the secrets file is not UTF-8 text; save it as UTF-8."
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the secrets file ({exc.strerror}); make it readable by the "
            f"user running ChipWire {where}."
        ) from None
    _warn_if_open(path)
    return parse_secrets(text, path)


def parse_secrets(text: str, path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, value = _assignment(line, f"{path}, line {number}")
        if name in lines:
            raise ConfigError(
                f"{path}, line {number}: {name} is already set on line {lines[name]}; keep one."
            )
        found[name], lines[name] = value, number
    return found


def _assignment(line: str, where: str) -> tuple[str, str]:
    matched = _ASSIGNMENT.fullmatch(line)
    if matched is None:
        # The line itself is never shown: it may be a pasted token.
        raise ConfigError(
            f"{where}: not a KEY=VALUE line; write e.g. DISCORD_TOKEN=… "
            "(# starts a comment; the line is not shown as it may hold a secret)."
        )
    name, value = matched.groups()
    if name not in SECRET_NAMES.values():
        hint = " (Slack admins go in [chat] slack_admins)" if name == "SLACK_ADMINS" else ""
        raise ConfigError(
            f"{where}: {name} is not a secret ChipWire reads{hint}; expected one of "
            f"{', '.join(SECRET_NAMES.values())}."
        )
    if value[:1] in ("'", '"'):
        quoted = _QUOTED.fullmatch(value)
        if quoted is None:
            raise ConfigError(
                f"{where}: the value of {name} opens a quote that is not closed (or has text "
                "after it); close the quote (the value is not shown)."
            )
        return name, quoted.group(2)
    return name, _COMMENT.split(value, maxsplit=1)[0].strip()


def _warn_if_open(path: Path) -> None:
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return
    if os.name == "posix" and mode & 0o077 and path not in _warned:
        _warned.add(path)
        log.warning(
            "secrets file %s is accessible by other users (mode %03o); run: chmod 600 %s",
            path,
            mode,
            path,
        )


class _SecretsFilter(RedactingFilter):
    def __init__(self, secrets: list[tuple[str, str]]) -> None:
        super().__init__(Redactor(secrets))
        self.secrets = secrets


def redact_in_logs(credentials: Credentials) -> None:
    """Redact these secrets on every root handler too: ones read from the file are not in the
    environment that `configure_logging` took its list from."""
    secrets = credentials.secrets()
    if not secrets:
        return
    for handler in logging.getLogger().handlers:
        known = (f for f in handler.filters if isinstance(f, _SecretsFilter))
        if not any(f.secrets == secrets for f in known):
            handler.addFilter(_SecretsFilter(secrets))
