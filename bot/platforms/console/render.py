"""Digests and command replies as plain text for a terminal or a log: pure, no markup,
control characters stripped."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo

from bot.commands.messages import Card, Reply
from bot.models import Digest, DigestSection, Story
from bot.text import (
    companies_text,
    left_out_text,
    local_time,
    one_line,
    period_text,
    sources_text,
    summary_line,
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


def story_lines(story: Story, where: tzinfo, company_names: Mapping[str, str]) -> list[str]:
    """A bullet with the title, then indented meta, summary and link lines."""
    title = truncate(one_line(story.title), TITLE_CHARS) or UNTITLED
    meta = [sources_text(story.sources), local_time(story.published_at, where)]
    companies = companies_text(story.companies, company_names)
    if companies:
        meta.append(f"about {companies}")
    lines = [f"• {title}", "  " + " · ".join(meta)]
    summary = summary_line(story.summary)
    if summary:
        lines.append(f"  {summary}")
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
