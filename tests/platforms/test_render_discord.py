"""Discord digest payloads: inert feed text, Discord's limits, every story once and in order."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import discord
from hypothesis import HealthCheck, given, settings

from bot.models import Digest, DigestSection
from bot.platforms.discord.render import escape_markdown, link_url, render_discord
from tests.platforms import (
    COMPANY_NAMES,
    digests,
    has_lone_surrogate,
    hostile_digest,
    make_story,
    story_url,
    strings_in,
    utf16_len,
)

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
EMBED_TEXT_KEYS = ("title", "description")
ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def embed_total(embed: dict[str, Any]) -> int:
    total = sum(utf16_len(embed.get(key, "")) for key in EMBED_TEXT_KEYS)
    total += sum(utf16_len(f["name"]) + utf16_len(f["value"]) for f in embed.get("fields", []))
    total += utf16_len(embed.get("footer", {}).get("text", ""))
    total += utf16_len(embed.get("author", {}).get("name", ""))
    return total


def unescaped(text: str) -> str:
    """text with every backslash escape removed; fails on a dangling or unknown escape."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            assert i + 1 < len(text), f"dangling backslash in {text!r}"
            assert text[i + 1] in ASCII_PUNCTUATION, f"odd escape in {text!r}"
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def assert_within_limits(payload: dict[str, Any]) -> None:
    assert set(payload) <= {"embeds", "allowed_mentions", "content"}
    assert payload["allowed_mentions"] == {"parse": []}
    embeds = payload["embeds"]
    assert len(embeds) <= 10
    assert sum(embed_total(e) for e in embeds) <= 6000
    assert sum(len(discord.Embed.from_dict(e)) for e in embeds) <= 6000
    assert utf16_len(payload.get("content", "")) <= 2000
    for embed in embeds:
        round_trip = dict(discord.Embed.from_dict(embed).to_dict())
        if round_trip.get("flags") == 0:  # discord.py adds the default flags
            del round_trip["flags"]
        assert round_trip == embed
        assert 0 < utf16_len(embed["title"]) <= 256
        assert 0 < utf16_len(embed.get("description", "")) <= 4096
        assert len(embed.get("fields", [])) <= 25
        assert utf16_len(embed.get("footer", {}).get("text", "")) <= 2048


def assert_inert(text: str) -> None:
    """No mention, mass mention, masked link or markup that feed text could have produced."""
    assert not has_lone_surrogate(text)
    assert not re.search(r"@(everyone|here)", text, re.IGNORECASE)
    text = re.sub(r"<t:\d+:f>", "", text)  # our own timestamps
    plain = unescaped(text)  # what is left once escapes are read: only our own markup
    without_ours = re.sub(r"\*\*\[[^\[\]]*\]\(https://news\.example/s/[^\s()]*\)\*\*", "", plain)
    without_ours = re.sub(r"^\*\*|\*\* — ", "", without_ours, flags=re.MULTILINE)
    for raw in ("<", "](", "**", "__", "~~", "`", "||"):
        assert raw not in without_ours.replace(" — ", " "), (raw, text)


def all_strings(payloads: list[dict[str, Any]]) -> list[str]:
    return [s for p in payloads for s in strings_in(p["embeds"])] + [
        p["content"] for p in payloads if "content" in p
    ]


def test_escape_markdown_rules() -> None:
    assert escape_markdown("@everyone @HERE") == "@\u200beveryone @\u200bHERE"
    assert escape_markdown("<@123> <@&1> <#2>") == "\\<@123\\> \\<@&1\\> \\<\\#2\\>"
    assert escape_markdown("[a](https://x.y)") == "\\[a\\]\\(https://x.y\\)"
    assert escape_markdown("*b* _i_ ~~s~~ `c` ||sp|| > q # h - l") == (
        "\\*b\\* \\_i\\_ \\~\\~s\\~\\~ \\`c\\` \\|\\|sp\\|\\| \\> q \\# h \\- l"
    )
    assert escape_markdown("1. first") == "1\\. first"
    assert escape_markdown("+ plus") == "\\+ plus"
    assert escape_markdown("back\\slash") == "back\\\\slash"
    assert escape_markdown("tab\tand\nline\x00") == "tab and line"


def test_link_url_encodes_what_could_end_the_link() -> None:
    assert link_url("https://x.y/a (b)?q=1 2") == "https://x.y/a%20%28b%29?q=1%202"
    assert link_url("https://x.y/<>\\") == "https://x.y/%3C%3E%5C"


def test_hostile_story_is_inert() -> None:
    payloads = render_discord(hostile_digest(), COMPANY_NAMES)
    assert len(payloads) == 1
    assert_within_limits(payloads[0])
    description = payloads[0]["embeds"][1]["description"]
    # Our link, with the feed's masked link flattened inside its text.
    assert description.startswith(
        "**[@\u200beveryone Nvidia \\<!channel\\> leak: \\(click here\\)\\(https://evil.example/phish\\) "
        "\\<@123456789012345678\\>](https://news.example/s/1)**"
    )
    assert "\\<script\\>alert\\(1\\)\\</script\\>" in description
    assert "@\u200bhere look: \\[free chips\\]\\(https://evil.example/win\\)" in description
    assert (
        "\\<@&987\\> \\<\\#555\\> \\*\\*bold\\*\\* \\~\\~gone\\~\\~ \\`code\\` \\| \\> quote"
        in description
    )
    assert "Wire \\<!here\\>" in description
    texts = all_strings(payloads)
    for text in texts:
        assert "@everyone" not in text
        assert "@here" not in text
        assert "](https://evil" not in text
        assert "<!channel>" not in text
        assert "<@123456789012345678>" not in text
        assert_inert(text)
    assert payloads[0]["embeds"][2]["title"] == "TSMC @\u200bhere"


def test_header_embed_and_sections() -> None:
    [payload] = render_discord(hostile_digest(), COMPANY_NAMES)
    header, top, tsmc = payload["embeds"]
    assert header["title"] == "ChipWire digest — Mon 30 Nov 2026"
    # each reader sees Discord's timestamps in their own zone and language
    assert header["description"] == "<t:1796018400:f> – <t:1796104800:f>"
    assert top["title"] == "Top stories"
    assert tsmc["description"] == (
        "**[TSMC ramps 2nm](https://news.example/s/2)** — 1 source: Wire · <t:1796019240:f>"
        " · about Nvidia, TSMC\nTSMC said 2nm output doubled this quarter."
    )


def test_non_web_links_are_not_linked() -> None:
    for url in ("urn:chipwire:a1", "javascript:alert(1)"):
        story = replace(make_story(1, "No link", "Body.", ("W",), False), url=url)
        digest = replace(hostile_digest(), sections=(DigestSection("S", (story,)),))
        [payload] = render_discord(digest, COMPANY_NAMES)
        assert payload["embeds"][1]["description"].startswith("**No link** — 1 source: W")


def test_empty_digest_sends_the_note_or_nothing() -> None:
    empty = replace(
        hostile_digest(), sections=(DigestSection("Top", ()),), empty_note="Nothing @everyone"
    )
    assert render_discord(empty, COMPANY_NAMES) == [
        {"content": "Nothing @\u200beveryone", "embeds": [], "allowed_mentions": {"parse": []}}
    ]
    assert render_discord(replace(empty, empty_note=None), COMPANY_NAMES) == []


def test_huge_story_is_cut_cleanly() -> None:
    title = "**Nvidia** " * 500 + "[x](https://evil.example)"
    story = make_story(1, title, "word " * 5000, ("A" * 500,) * 40, True)
    digest = replace(
        hostile_digest(), title="T" * 1000, sections=(DigestSection("H" * 1000, (story,)),)
    )
    [payload] = render_discord(digest, COMPANY_NAMES)
    assert_within_limits(payload)
    header, section = payload["embeds"]
    assert header["title"].endswith("…")
    assert section["title"].endswith("…")
    assert section["description"].count(f"]({link_url(story_url(1, True))})") == 1
    assert "…" in section["description"]
    for text in all_strings([payload]):
        assert_inert(text)


def test_many_stories_split_into_ordered_parts() -> None:
    stories = tuple(
        make_story(k, f"Story {k} " + "x" * 200, "y " * 300, ("A",), False) for k in range(120)
    )
    digest = replace(
        hostile_digest(),
        sections=(DigestSection("One", stories[:70]), DigestSection("Two", stories[70:])),
    )
    payloads = render_discord(digest, COMPANY_NAMES)
    assert len(payloads) > 1
    total = len(payloads)
    for number, payload in enumerate(payloads, start=1):
        assert_within_limits(payload)
        assert payload["embeds"][0]["title"].endswith(f" (part {number}/{total})")
    titles = [e["title"] for p in payloads for e in p["embeds"][1:]]
    assert titles[0] == "One"
    assert "One (cont.)" in titles
    assert "Two" in titles
    assert titles.index("Two") > max(i for i, t in enumerate(titles) if t.startswith("One"))


@given(digest=digests())
@PROPERTY
def test_random_digests_fit_discord(digest: Digest) -> None:
    payloads = render_discord(digest, COMPANY_NAMES)
    for payload in payloads:
        assert_within_limits(payload)
    for text in all_strings(payloads):
        assert_inert(text)
    if not digest.stories:
        assert len(payloads) == (1 if digest.empty_note else 0)
        return
    total = len(payloads)
    if total > 1:
        for number, payload in enumerate(payloads, start=1):
            assert payload["embeds"][0]["title"].endswith(f" (part {number}/{total})")
    joined = "\n".join(e["description"] for p in payloads for e in p["embeds"][1:])
    positions = []
    for story in digest.stories:
        marker = f"]({link_url(story.url)})**"
        assert joined.count(marker) == 1, story.key
        positions.append(joined.index(marker))
    assert positions == sorted(positions)
    assert joined.count("](") == len(digest.stories)


def test_stories_left_out_are_counted_with_the_commands_that_find_them() -> None:
    digest = replace(hostile_digest(), left_out=67)
    [payload] = render_discord(digest, COMPANY_NAMES)
    header = payload["embeds"][0]
    assert header["description"].endswith(
        "\n67 more stories not shown: `/chipnews latest COMPANY` or `/chipnews search WORDS`"
        " finds them."
    )
    [plain] = render_discord(hostile_digest(), COMPANY_NAMES)
    assert "more stor" not in plain["embeds"][0]["description"]
