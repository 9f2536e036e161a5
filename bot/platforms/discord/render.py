"""A digest as Discord message payloads (plain dicts; discord.py is not imported here).

Each payload is what the API's "create message" takes: embeds plus `allowed_mentions` that
allow nothing. A long digest becomes several ordered messages, each within Discord's limits;
a story is never split across embeds, so no link or markdown construct is ever cut.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from bot.models import Attachment, Digest, Story
from bot.platforms.layout import Markup, story_parts
from bot.text import (
    fit,
    left_out_text,
    one_line,
    text_len,
    zone,
)

# Discord's documented limits.
MAX_EMBEDS = 10
MAX_TOTAL = 6000
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
MAX_CONTENT = 2000
MAX_FILE = 10 * 1024 * 1024  # a bot's upload limit in a server without boosts
MAX_FILE_DESCRIPTION = 1024

# Our own caps per story piece (after escaping). They bound one story's block well below an
# embed description and a message, so every story fits into a fresh embed whole.
STORY_TITLE = 300
STORY_META = 300
STORY_COMPANIES = 150
STORY_SUMMARY = 400
MAX_URL = 1000

UNTITLED = "\\(untitled\\)"
COLOUR = 0x76B900
CONTINUED = " (cont.)"
PART_RESERVE = len(" (part 9999/9999)")
BLOCK_SEPARATOR = "\n\n"
NO_MENTIONS: dict[str, list[str]] = {"parse": []}
CHART_TOO_LARGE = "The chart was too large to attach."

_SPECIAL = frozenset("\\*_~`|>#-[]()<")
_MASS_MENTION = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
_LEADING_LIST = re.compile(r"^(\d+)(\.)|^\+")
_URL_UNSAFE = frozenset(' ()<>\\"`[]{}|^')
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def escape_markdown(text: str) -> str:
    """Feed text made inert for Discord markdown: every special character backslash-escaped
    (so masked links, mention syntax `<@1>` and formatting runs show literally) and a
    zero-width space after the "@" of @everyone/@here."""
    escaped = "".join("\\" + ch if ch in _SPECIAL else ch for ch in one_line(text))
    escaped = _MASS_MENTION.sub("@\u200b", escaped)
    # "1. " or "+ " at the start of a line would become a list item.
    return _LEADING_LIST.sub(_escape_list_marker, escaped)


def _escape_list_marker(match: re.Match[str]) -> str:
    if match.group(0) == "+":
        return "\\+"
    return match.group(1) + "\\" + match.group(2)


def escape_label(text: str) -> str:
    """A link's text: brackets become parentheses, because an escaped bracket still counts
    towards the bracket balance Discord's link syntax looks for."""
    return escape_markdown(text.replace("[", "(").replace("]", ")"))


def link_url(url: str) -> str:
    """The URL percent-encoded where it could end or break a `[text](url)` construct."""
    return "".join(
        "".join(f"%{b:02X}" for b in ch.encode()) if ch in _URL_UNSAFE or ch.isspace() else ch
        for ch in one_line(url)
    )


def attachment_name(filename: str) -> str:
    """A filename an embed can show with `attachment://`: Discord matches only ASCII letters,
    digits, dots, dashes and underscores there."""
    return _FILENAME_UNSAFE.sub("_", filename).strip(".") or "chart.png"


def image_url(chart: Attachment) -> str:
    return f"attachment://{attachment_name(chart.filename)}"


def chart_fits(chart: Attachment, limit: int = MAX_FILE) -> bool:
    return len(chart.data) <= limit


def timestamp(moment: datetime) -> str:
    """Discord shows `<t:UNIX:f>` to each reader as a date and time in their own zone and locale."""
    return f"<t:{int(moment.timestamp())}:f>"


def period_stamps(start: datetime, end: datetime) -> str:
    return f"{timestamp(start)} – {timestamp(end)}"


MARKUP = Markup(
    text=escape_markdown,
    label=escape_label,
    url=link_url,
    linked_title=lambda label, url: f"**[{label}]({url})**",
    bold_title=lambda title: f"**{title}**",
    time=timestamp,
    untitled=UNTITLED,
    title_limit=STORY_TITLE,
    meta_limit=STORY_META,
    companies_limit=STORY_COMPANIES,
    summary_limit=STORY_SUMMARY,
    url_limit=MAX_URL,
)


def story_block(story: Story, where: tzinfo, company_names: Mapping[str, str]) -> str:
    """`**[Title](url)** — 3 sources: A, B, C · time · about X` then the one-line summary.
    (`where` is unused: Discord shows each reader the time in their own zone.)"""
    parts = story_parts(story, company_names, MARKUP)
    block = f"{parts.title} — {' · '.join(parts.meta)}"
    return f"{block}\n{parts.summary}" if parts.summary else block


@dataclass
class _Page:
    """One message being filled: finished embeds as (title, description) and their size."""

    embeds: list[tuple[str, str]] = field(default_factory=list)
    used: int = 0


@dataclass
class _Packer:
    budget: int  # characters a message may spend on section embeds
    pages: list[_Page] = field(default_factory=list)
    title: str = ""
    blocks: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pages.append(_Page())

    @property
    def page(self) -> _Page:
        return self.pages[-1]

    def _pending(self, blocks: list[str]) -> int:
        return text_len(self.title) + text_len(BLOCK_SEPARATOR.join(blocks))

    def add(self, heading: str, block: str, *, first: bool) -> None:
        """Append a story to the section's open embed, or start a new embed (and maybe page)."""
        if first:
            self.close()
        elif self.blocks:
            grown = [*self.blocks, block]
            if (
                text_len(BLOCK_SEPARATOR.join(grown)) <= MAX_DESCRIPTION
                and self.page.used + self._pending(grown) <= self.budget
            ):
                self.blocks = grown
                return
            self.close()
        title = heading if first else heading + CONTINUED
        if (
            len(self.page.embeds) >= MAX_EMBEDS - 1
            or self.page.used + text_len(title) + text_len(block) > self.budget
        ):
            self.pages.append(_Page())
        self.title, self.blocks = title, [block]

    def close(self) -> None:
        if self.blocks:
            self.page.used += self._pending(self.blocks)
            self.page.embeds.append((self.title, BLOCK_SEPARATOR.join(self.blocks)))
        self.blocks = []


def render_discord(digest: Digest, company_names: Mapping[str, str]) -> list[dict[str, Any]]:
    """Ordered message payloads for the digest; [] for an empty digest without a note.

    A chart goes with the last message (the poster attaches the file): its first embed shows it,
    or says it was too large to attach.
    """
    payloads = _story_payloads(digest, company_names) if digest.stories else _note(digest)
    if payloads and digest.chart is not None:
        _show_chart(payloads[-1], digest.chart)
    return payloads


def _note(digest: Digest) -> list[dict[str, Any]]:
    if not digest.empty_note:
        return []
    room = MAX_CONTENT - (len(CHART_TOO_LARGE) + 1 if digest.chart else 0)
    note = fit(one_line(digest.empty_note), room, escape_markdown)
    return [{"content": note, "embeds": [], "allowed_mentions": dict(NO_MENTIONS)}]


def _show_chart(payload: dict[str, Any], chart: Attachment) -> None:
    fits = chart_fits(chart)
    if payload["embeds"]:
        header = payload["embeds"][0]
        if fits:
            header["image"] = {"url": image_url(chart)}
        else:
            header["description"] = f"{header['description']}\n{CHART_TOO_LARGE}"
    elif not fits:
        payload["content"] = f"{payload['content']}\n{CHART_TOO_LARGE}"


def _story_payloads(digest: Digest, company_names: Mapping[str, str]) -> list[dict[str, Any]]:
    where = zone(digest.timezone)
    title = (
        fit(one_line(digest.title), MAX_TITLE - PART_RESERVE, escape_markdown) or "ChipWire digest"
    )
    period = period_stamps(digest.period_start, digest.period_end)
    if digest.left_out:
        period = f"{period}\n{left_out_text(digest.left_out, '/chipnews')}"
    header_cost = text_len(title) + PART_RESERVE + text_len(period)
    if digest.chart is not None:  # room for the too-large note under the period
        header_cost += len(CHART_TOO_LARGE) + 1
    packer = _Packer(budget=MAX_TOTAL - header_cost)
    for section in digest.sections:
        heading = (
            fit(one_line(section.heading), MAX_TITLE - len(CONTINUED), escape_markdown) or "Stories"
        )
        for index, story in enumerate(section.stories):
            packer.add(heading, story_block(story, where, company_names), first=index == 0)
    packer.close()
    pages = [page for page in packer.pages if page.embeds]
    return [
        _payload(_header(title, period, number, len(pages)), page)
        for number, page in enumerate(pages, start=1)
    ]


def _header(title: str, period: str, number: int, total: int) -> dict[str, Any]:
    part = f" (part {number}/{total})" if total > 1 else ""
    return {"type": "rich", "title": title + part, "description": period, "color": COLOUR}


def _payload(header: dict[str, Any], page: _Page) -> dict[str, Any]:
    embeds = [header] + [
        {"type": "rich", "title": title, "description": description, "color": COLOUR}
        for title, description in page.embeds
    ]
    return {"embeds": embeds, "allowed_mentions": dict(NO_MENTIONS)}
