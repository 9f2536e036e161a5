"""A command reply as plain text for a terminal (`chipwire ask`): no markup, no control chars.

A chart cannot be shown in a terminal, so it is written to a file and its path printed.
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.commands.messages import Attachment, Card, Reply
from bot.text import one_line

URL_CHARS = 2000
MAX_FILENAME = 120
DEFAULT_FILENAME = "chart.png"
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]")


def render_reply(reply: Reply) -> str:
    """Title, lines, then each card as a bullet with its link, summary and fields."""
    title = one_line(reply.title)
    out = [f"error: {title}" if reply.error else title]
    out += [one_line(line) for line in reply.lines]
    for card in reply.cards:
        out.append("")
        out += _card_lines(card)
    return "\n".join(out) + "\n"


def _card_lines(card: Card) -> list[str]:
    lines = [f"• {one_line(card.title) or '(untitled)'}"]
    url = one_line(card.url or "").replace(" ", "%20")
    if url and len(url) <= URL_CHARS:  # a cut link would lead somewhere else: drop it instead
        lines.append(f"  {url}")
    body = one_line(card.body)
    if body:
        lines.append(f"  {body}")
    fields = [f"{one_line(name)}: {one_line(value)}" for name, value in card.fields if value]
    if fields:
        lines.append("  " + " · ".join(fields))
    return lines


def safe_filename(name: str) -> str:
    """Only [A-Za-z0-9._-] and no leading dot: the file lands in the directory asked for (no
    separator can lead elsewhere) and is never hidden. The end is kept: it holds the extension."""
    cleaned = _UNSAFE_FILENAME.sub("_", name)[-MAX_FILENAME:].lstrip(".")
    return cleaned or DEFAULT_FILENAME


def save_chart(chart: Attachment, directory: Path, name: str | None = None) -> str:
    """Write the chart into `directory` (as `name`, default its own filename, both sanitised;
    a file of that name is replaced) and say where, or why it could not be written: the reply
    is still worth printing."""
    path = directory / safe_filename(name or chart.filename)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path.write_bytes(chart.data)
    except OSError as exc:
        return f"chart not saved to {path}: {one_line(exc.strerror or str(exc))}\n"
    description = one_line(chart.description)
    return f"chart: {path}\n" + (f"  {description}\n" if description else "")
