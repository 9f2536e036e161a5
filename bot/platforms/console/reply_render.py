"""A command reply as plain text for a terminal (`chipwire ask`): no markup, no control chars."""

from __future__ import annotations

from bot.chat.messages import Card, Reply
from bot.platforms.textsafety import one_line

URL_CHARS = 2000


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
