"""Digests and command replies as plain text for a terminal or a log: pure, no markup,
control characters stripped."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo

from bot.commands.messages import Card, Reply
from bot.models import Digest, DigestSection, Story
from bot.platforms.layout import Markup, story_parts
from bot.text import (
    left_out_text,
    local_time,
    one_line,
    period_text,
    truncate,
    zone,
)

TITLE_CHARS = 300
HEADING_CHARS = 120
URL_CHARS = 2000
UNTITLED = "(untitled)"


def render_console(digest: Digest, company_names: Mapping[str, str]) -> str:
    """The whole digest as one string; the empty note (or "") when it holds no story."""
    if not digest.stories:
        return one_line(digest.empty_note) if digest.empty_note else ""
    where = zone(digest.timezone)
    title = one_line(digest.title) or "ChipWire digest"
    lines = [title, period_text(digest.period_start, digest.period_end, digest.timezone)]
    if digest.left_out:
        lines.append(left_out_text(digest.left_out, "chipwire ask").replace("`", ""))
    for section in digest.sections:
        if section.stories:
            lines.append("")
            lines.extend(_section_lines(section, where, company_names))
    return "\n".join(lines) + "\n"


def _section_lines(
    section: DigestSection, where: tzinfo, company_names: Mapping[str, str]
) -> list[str]:
    heading = truncate(one_line(section.heading), HEADING_CHARS) or "Stories"
    lines = [heading, "-" * min(len(heading), 40)]
    for story in section.stories:
        lines.extend(story_lines(story, where, company_names))
    return lines


def markup(where: tzinfo) -> Markup:
    """Plain text: nothing to escape, the title never linked (the link gets its own line),
    times in the subscription's zone, and only the title cut (a terminal has room)."""
    return Markup(
        text=_plain,
        label=_plain,
        url=_plain,
        linked_title=lambda label, _url: label,
        bold_title=_plain,
        time=lambda moment: local_time(moment, where),
        untitled=UNTITLED,
        title_limit=TITLE_CHARS,
        meta_limit=_NO_LIMIT,
        companies_limit=_NO_LIMIT,
        summary_limit=_NO_LIMIT,
        url_limit=_NO_LIMIT,
    )


_NO_LIMIT = 1_000_000


def _plain(text: str) -> str:
    return text


def story_lines(story: Story, where: tzinfo, company_names: Mapping[str, str]) -> list[str]:
    """A bullet with the title, then indented meta, summary and link lines."""
    parts = story_parts(story, company_names, markup(where))
    lines = [f"• {parts.title}", "  " + " · ".join(parts.meta)]
    if parts.summary:
        lines.append(f"  {parts.summary}")
    link = _link(story)
    if link:
        lines.append(f"  {link}")
    return lines


def _link(story: Story) -> str:
    url = one_line(story.url).replace(" ", "%20")
    if not url or url.lower().startswith("urn:") or story.key.lower().startswith("urn:"):
        return ""
    # A URL is never cut: a truncated link would lead somewhere else.
    return url if len(url) <= URL_CHARS else ""


# replies --------------------------------------------------------------------------------------


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
