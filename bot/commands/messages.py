"""Platform-neutral command and reply values: what the chat adapters and the console speak.

A `Command` comes in from Discord, Slack or `chipwire ask`; a `Reply` goes back and each platform
renders it (the console with `bot/platforms/console/render.py`). Nothing here does I/O.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.models import Attachment

__all__ = [
    "Attachment",
    "Card",
    "Command",
    "Moment",
    "Phrase",
    "Reply",
    "error_reply",
    "parse_command_line",
    "split_words",
]


class Moment(str):
    """A time in a reply. It reads as its fallback text (the time in a named zone, what the
    console shows); a platform with a timestamp syntax renders `at` instead, so each reader sees
    their own time (Slack's `<!date^…>`). A card field's value or a part of a `Phrase`."""

    at: datetime

    def __new__(cls, at: datetime, text: str) -> Moment:
        made = super().__new__(cls, text)
        made.at = at
        return made


class Phrase(str):
    """A reply line with moments in it: reads as its parts joined; `parts` keeps them apart."""

    parts: tuple[str, ...]

    def __new__(cls, *parts: str) -> Phrase:
        made = super().__new__(cls, "".join(parts))
        made.parts = parts
        return made


@dataclass(frozen=True)
class Command:
    """One invocation: the words typed (Slack, the console) or Discord's typed `options`
    (by parameter name, values as Discord sent them); the table binds either to the handler."""

    name: str
    args: tuple[str, ...]
    channel: str  # a subscription target: "console", "discord:<id>", "slack:<id>"
    user: str
    is_admin: bool
    options: Mapping[str, object] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class Card:
    """One linked item (a story, a feed): an embed on Discord, a section block on Slack."""

    title: str
    url: str | None
    body: str
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Reply:
    title: str
    lines: tuple[str, ...] = ()
    cards: tuple[Card, ...] = ()
    ephemeral: bool = False  # only the asker sees it
    error: bool = False
    attachment: Attachment | None = None


def error_reply(message: str, *lines: str) -> Reply:
    """Errors are always private: a mistyped command should not clutter the channel."""
    return Reply(title=message, lines=tuple(lines), ephemeral=True, error=True)


# Typographic double quotes (what phones and Slack type) group a phrase like straight ones.
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})


def split_words(text: str) -> list[str]:
    """Words and "quoted phrases"; an apostrophe is a letter (Nvidia's, l'export), not a quote.
    ValueError for a quote left open."""
    lexer = shlex.shlex(text.translate(_QUOTES), posix=True)
    lexer.whitespace_split = True
    lexer.quotes = '"'
    lexer.escape = ""
    lexer.commenters = ""
    return list(lexer)


def join_words(words: list[str] | tuple[str, ...]) -> str:
    """The command line that `parse_command_line` reads back as these words (a phrase quoted)."""
    return " ".join(
        f'"{word}"' if not word or any(c.isspace() for c in word) else word for word in words
    )


def parse_command_line(text: str) -> tuple[str, tuple[str, ...]]:
    """'search "Ascend 910C" huawei 7' → ('search', ('Ascend 910C', 'huawei', '7'))."""
    try:
        words = split_words(text)
    except ValueError as exc:
        raise ValueError(
            f'cannot read that command ({exc}); close every quote, e.g. search "Ascend 910C"'
        ) from None
    if not words:
        raise ValueError("no command given; try 'help'")
    return words[0].lower(), tuple(words[1:])
