"""Digests and command replies as Slack Block Kit payloads (plain dicts; no Slack SDK is
imported here).

A long digest becomes several ordered messages, each within Slack's limits; every story is one
section block, so a link or a formatting construct is never cut.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from bot.commands.messages import Card, Moment, Phrase, Reply
from bot.models import Digest, Story
from bot.platforms.layout import Markup, story_parts
from bot.text import (
    fit,
    left_out_text,
    linkable,
    local_time,
    one_line,
    text_len,
    zone,
)

# Slack's documented limits.
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
# Slack truncates a message's text beyond 40,000 characters; keep all of a message's text
# (fallback and blocks together) under it too.
MAX_MESSAGE_CHARS = 40_000

STORY_TITLE = 300
STORY_META = 300
STORY_COMPANIES = 150
STORY_SUMMARY = 600
MAX_URL = 1000

DEFAULT_TITLE = "ChipWire digest"
CONTINUED = " (cont.)"
PART_RESERVE = len(" (part 9999/9999)")
FIXED_BLOCKS = 2  # the digest's header and period context open every message

# Slack mrkdwn has no escape character, so formatting characters in feed text are swapped
# for look-alikes that Slack does not treat as markup.
_LOOKALIKES = str.maketrans({"*": "∗", "_": "ˍ", "~": "∼", "`": "ˋ"})
_MASS_MENTION = re.compile(r"@(?=everyone|here|channel)", re.IGNORECASE)
_URL_UNSAFE = frozenset('<>|"')


def escape_plain(text: str) -> str:
    """Feed text for a plain_text object: Slack's three control characters as entities."""
    escaped = one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MASS_MENTION.sub("@\u200b", escaped)


def escape_mrkdwn(text: str) -> str:
    """Feed text made inert for mrkdwn: entities for & < > (which neutralises <!channel>,
    <@U1> and <url|masked> links) and look-alikes for *, _, ~ and `."""
    escaped = escape_plain(text).translate(_LOOKALIKES)
    # "&gt;" at the start of a line still opens a block quote.
    return "＞" + escaped[4:] if escaped.startswith("&gt;") else escaped


def escape_label(text: str) -> str:
    """A link label: mrkdwn-escaped, and no "|" that could be read as the link's separator."""
    return escape_mrkdwn(text).replace("|", "∣")


def link_url(url: str) -> str:
    """The URL with what could end `<url|label>` percent-encoded, and & as Slack's entity."""
    encoded = "".join(
        "".join(f"%{b:02X}" for b in ch.encode()) if ch in _URL_UNSAFE or ch.isspace() else ch
        for ch in one_line(url)
    )
    return encoded.replace("&", "&amp;")


def timestamp(moment: datetime, fallback: str) -> str:
    """Slack shows `<!date^UNIX^…|fallback>` to each reader in their own zone; clients that cannot
    (notifications, old apps) show the fallback, the time in the subscription's zone."""
    unix = int(moment.timestamp())
    return f"<!date^{unix}^{{date_short_pretty}} {{time}}|{escape_mrkdwn(fallback)}>"


def period_stamps(start: datetime, end: datetime, zone_name: str) -> str:
    where = zone(zone_name)
    return (
        f"{timestamp(start, local_time(start, where))} – {timestamp(end, local_time(end, where))}"
    )


def markup(where: tzinfo) -> Markup:
    """Slack's dialect; a time's fallback text is in the subscription's zone `where`."""
    return Markup(
        text=escape_mrkdwn,
        label=escape_label,
        url=link_url,
        linked_title=lambda label, url: f"*<{url}|{label}>*",
        bold_title=lambda title: f"*{title}*",
        time=lambda moment: timestamp(moment, local_time(moment, where)),
        untitled="(untitled)",
        title_limit=STORY_TITLE,
        meta_limit=STORY_META,
        companies_limit=STORY_COMPANIES,
        summary_limit=STORY_SUMMARY,
        url_limit=MAX_URL,
    )


def story_text(story: Story, where: tzinfo, company_names: Mapping[str, str]) -> str:
    """`*<url|Title>*`, a meta line (sources · time · companies), then the one-line summary."""
    parts = story_parts(story, company_names, markup(where))
    lines = [parts.title, " · ".join(parts.meta)]
    if parts.summary:
        lines.append(parts.summary)
    return "\n".join(lines)


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def _section(text: str) -> dict[str, Any]:
    # verbatim: Slack must not auto-link or auto-mention anything we did not mark up ourselves.
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text, "verbatim": True}]}


def _pack(sections: list[tuple[str, list[str]]], char_budget: int) -> list[list[dict[str, Any]]]:
    """Blocks per message: a section's stories follow its header, continuing with
    "heading (cont.)" at the top of the next message when one fills up."""
    pages: list[list[dict[str, Any]]] = [[]]
    used = 0
    for heading, texts in sections:
        for index, text in enumerate(texts):
            opening = index == 0 or not pages[-1]
            needed = 2 if opening else 1
            cost = text_len(text) + (text_len(heading) + len(CONTINUED) if opening else 0)
            if pages[-1] and (
                len(pages[-1]) + needed > MAX_BLOCKS - FIXED_BLOCKS or used + cost > char_budget
            ):
                pages.append([])
                used = 0
                opening = True
            if opening:
                title = heading if index == 0 else heading + CONTINUED
                pages[-1].append(_header(title))
                used += text_len(title)
            pages[-1].append(_section(text))
            used += text_len(text)
    return [page for page in pages if page]


def render_slack(digest: Digest, company_names: Mapping[str, str]) -> list[dict[str, Any]]:
    """Ordered message payloads for the digest; [] for an empty digest without a note."""
    if not digest.stories:
        if not digest.empty_note:
            return []
        note = fit(one_line(digest.empty_note), MAX_SECTION_TEXT, escape_mrkdwn)
        return [{"text": note, "blocks": [_section(note)]}]
    where = zone(digest.timezone)
    raw_title = one_line(digest.title)
    title = fit(raw_title, MAX_HEADER_TEXT - PART_RESERVE, escape_plain) or DEFAULT_TITLE
    fallback = fit(raw_title, MAX_HEADER_TEXT - PART_RESERVE, escape_mrkdwn) or DEFAULT_TITLE
    period = period_stamps(digest.period_start, digest.period_end, digest.timezone)
    if digest.left_out:
        period = f"{period}\n{left_out_text(digest.left_out, '/chipnews')}"
    sections = [
        (
            fit(one_line(section.heading), MAX_HEADER_TEXT - len(CONTINUED), escape_plain)
            or "Stories",
            [story_text(story, where, company_names) for story in section.stories],
        )
        for section in digest.sections
        if section.stories
    ]
    fixed = text_len(title) + text_len(fallback) + 2 * PART_RESERVE + text_len(period)
    pages = _pack(sections, MAX_MESSAGE_CHARS - fixed)
    payloads = []
    for number, blocks in enumerate(pages, start=1):
        part = f" (part {number}/{len(pages)})" if len(pages) > 1 else ""
        payloads.append(
            {
                "text": fallback + part,
                "blocks": [_header(title + part), _context(period), *blocks],
            }
        )
    return payloads


# replies ------------------------------------------------------------------------------------

ERROR_MARK = "⚠ "
CARD_TITLE = 300
CARD_BODY = 1000
CARD_FIELDS = 2000
FALLBACK_TEXT = 150
# Slack truncates a message's text beyond 40,000 characters; the fallback text has its own room.
MAX_REPLY_CHARS = MAX_MESSAGE_CHARS - 2 * FALLBACK_TEXT
CUT_NOTE = "More not shown; narrow the command to see the rest."


def fallback_text(reply: Reply) -> str:
    """The message's `text` (notifications, old clients): the title, escaped."""
    mark = ERROR_MARK if reply.error else ""
    return mark + (fit(one_line(reply.title), FALLBACK_TEXT, escape_mrkdwn) or "ChipWire")


def reply_blocks(reply: Reply) -> list[dict[str, Any]]:
    """A header with the title, the lines packed into sections, then a section (and a context
    with its fields) per card; within Slack's limits, all feed and user text made inert."""
    mark = ERROR_MARK if reply.error else ""
    title = fit(one_line(reply.title), MAX_HEADER_TEXT - len(mark), escape_plain) or "ChipWire"
    body: list[dict[str, Any]] = [_section(text) for text in _pack_lines(reply.lines)]
    for card in reply.cards:
        body += _card_blocks(card)
    blocks = [_header(mark + title)]
    used = text_len(title)
    for index, block in enumerate(body):
        size = _block_chars(block)
        last = index == len(body) - 1
        room = MAX_BLOCKS - len(blocks) - (0 if last else 1)
        if room < 1 or used + size > MAX_REPLY_CHARS:
            blocks.append(_context(CUT_NOTE))
            break
        blocks.append(block)
        used += size
    return blocks


def _block_chars(block: dict[str, Any]) -> int:
    if block["type"] == "context":
        return sum(text_len(element["text"]) for element in block["elements"])
    return text_len(block["text"]["text"])


def inline_mrkdwn(text: str, limit: int) -> str:
    """The text made inert for mrkdwn, its moments as Slack dates (each reader's own time);
    within limit, else the text cut with the moments as their fallback text."""
    parts = text.parts if isinstance(text, Phrase) else (text,)
    rendered = "".join(_mrkdwn_part(part) for part in parts).strip()
    if text_len(rendered) <= limit:
        return rendered
    return fit(one_line(text), limit, escape_mrkdwn)


def _mrkdwn_part(part: str) -> str:
    if isinstance(part, Moment):
        return timestamp(part.at, part)
    # escaping puts the text on one line: keep the spaces that join it to its neighbours
    lead = " " if part[:1].isspace() else ""
    trail = " " if part[-1:].isspace() and part.strip() else ""
    return lead + escape_mrkdwn(part) + trail


def _pack_lines(lines: tuple[str, ...]) -> list[str]:
    texts: list[str] = []
    for line in lines:
        escaped = inline_mrkdwn(line, MAX_SECTION_TEXT)
        if not escaped:
            continue
        if texts and text_len(texts[-1]) + 1 + text_len(escaped) <= MAX_SECTION_TEXT:
            texts[-1] += "\n" + escaped
        else:
            texts.append(escaped)
    return texts


def _card_blocks(card: Card) -> list[dict[str, Any]]:
    url = link_url(card.url) if card.url and linkable(card.url) else ""
    if url and text_len(url) <= MAX_URL:
        head = f"*<{url}|{fit(one_line(card.title), CARD_TITLE, escape_label) or '(untitled)'}>*"
    else:
        head = f"*{fit(one_line(card.title), CARD_TITLE, escape_mrkdwn) or '(untitled)'}*"
    body = fit(one_line(card.body), CARD_BODY, escape_mrkdwn)
    blocks = [_section(f"{head}\n{body}" if body else head)]
    fields = [(one_line(name), value) for name, value in card.fields if one_line(value)]
    if fields:
        parts: list[str] = []
        for index, (name, value) in enumerate(fields):
            parts += [f"{' · ' if index else ''}{name}: ", value]
        blocks.append(_context(inline_mrkdwn(Phrase(*parts), CARD_FIELDS)))
    return blocks
