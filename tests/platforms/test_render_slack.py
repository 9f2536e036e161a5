"""Slack digest payloads: inert feed text, Block Kit limits, every story once and in order."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings

from bot.models import Digest, DigestSection
from bot.platforms.slack.render import (
    escape_label,
    escape_mrkdwn,
    escape_plain,
    link_url,
    render_slack,
)
from tests.platforms import (
    COMPANY_NAMES,
    digests,
    has_lone_surrogate,
    hostile_digest,
    make_story,
    story_url,
    utf16_len,
)

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
OUR_LINK = re.compile(r"<(https://news\.example/s/[^<>|\s]*)\|([^<>|]*)>")


def texts_of(payload: dict[str, Any]) -> list[tuple[str, bool]]:
    """(text, is plain_text) for the fallback and every text object of the payload."""
    found = [(payload["text"], False)]
    for block in payload["blocks"]:
        for obj in [block.get("text"), *block.get("elements", [])]:
            if obj:
                found.append((obj["text"], obj["type"] == "plain_text"))
    return found


def assert_within_limits(payload: dict[str, Any]) -> None:
    assert set(payload) == {"text", "blocks"}
    blocks = payload["blocks"]
    assert 0 < len(blocks) <= 50
    total = utf16_len(payload["text"])
    for block in blocks:
        if block["type"] == "header":
            text = block["text"]
            assert text["type"] == "plain_text"
            assert 0 < utf16_len(text["text"]) <= 150
            total += utf16_len(text["text"])
        elif block["type"] == "section":
            text = block["text"]
            assert text["type"] == "mrkdwn"
            assert text["verbatim"] is True
            assert 0 < utf16_len(text["text"]) <= 3000
            total += utf16_len(text["text"])
        else:
            assert block["type"] == "context"
            assert 0 < len(block["elements"]) <= 10
            for element in block["elements"]:
                assert 0 < utf16_len(element["text"]) <= 3000
                total += utf16_len(element["text"])
    assert total <= 40_000


OUR_DATE = re.compile(r"<!date\^\d+\^\{date_short_pretty\} \{time\}\|[^<>|]*>")


def assert_inert(text: str, plain: bool = False) -> None:
    """Nothing feed text could have produced is markup: no raw control characters, no
    mention, no formatting characters outside our own bold link (mrkdwn only)."""
    assert not has_lone_surrogate(text)
    assert not any(ord(ch) < 32 and ch != "\n" for ch in text)
    assert not re.search(r"&(?!amp;|lt;|gt;)", text), text
    assert not re.search(r"@(everyone|here|channel)", text, re.IGNORECASE)
    if plain:
        assert "<" not in text
        assert ">" not in text
        assert "\n" not in text
        return
    rest = OUR_LINK.sub("", OUR_DATE.sub("", text))
    rest = re.sub(r"^\*(.*?)\*$", r"\1", rest, flags=re.MULTILINE)  # our bold title line
    for raw in ("<", ">", "*", "_", "~", "`"):
        assert raw not in rest, (raw, text)
    assert not rest.startswith("&gt;")
    assert "\n&gt;" not in rest


def test_escape_rules() -> None:
    assert escape_plain("AT&T <b> @channel") == "AT&amp;T &lt;b&gt; @\u200bchannel"
    assert escape_mrkdwn("<!channel> <@U123> <https://evil|masked>") == (
        "&lt;!channel&gt; &lt;@U123&gt; &lt;https://evil|masked&gt;"
    )
    assert escape_mrkdwn("*bold* _it_ ~st~ `code`") == "∗bold∗ ˍitˍ ∼st∼ ˋcodeˋ"
    assert escape_mrkdwn("> quoted") == "＞ quoted"
    assert escape_mrkdwn("a\x00b\nc") == "ab c"
    assert escape_label("a|b>c") == "a∣b&gt;c"
    assert link_url("https://x.y/a b?q=1|2&r=<3>") == "https://x.y/a%20b?q=1%7C2&amp;r=%3C3%3E"


def test_hostile_story_is_inert() -> None:
    payloads = render_slack(hostile_digest(), COMPANY_NAMES)
    assert len(payloads) == 1
    assert_within_limits(payloads[0])
    blocks = payloads[0]["blocks"]
    story = blocks[3]["text"]["text"]
    assert story.startswith(
        "*<https://news.example/s/1|@\u200beveryone Nvidia &lt;!channel&gt; leak: "
        "[click here](https://evil.example/phish) &lt;@123456789012345678&gt;>*\n"
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt; @\u200bhere look:" in story
    assert "&lt;@&amp;987&gt; &lt;#555&gt; ∗∗bold∗∗ ∼∼gone∼∼ ˋcodeˋ | &gt; quote" in story
    assert "Wire &lt;!here&gt;" in story
    for text, plain in texts_of(payloads[0]):
        assert "<!channel>" not in text
        assert "<!here>" not in text
        assert "<@1234" not in text
        assert "@everyone" not in text
        assert "@here" not in text
        assert "<https://evil" not in text
        assert_inert(text, plain)
    assert blocks[4]["text"]["text"] == "TSMC @\u200bhere"


def test_layout() -> None:
    [payload] = render_slack(hostile_digest(), COMPANY_NAMES)
    kinds = [b["type"] for b in payload["blocks"]]
    assert kinds == ["header", "context", "header", "section", "header", "section"]
    assert payload["text"] == "ChipWire digest — Mon 30 Nov 2026"
    # each reader sees Slack's dates in their own zone; the fallback is the subscription's zone
    assert payload["blocks"][1]["elements"][0]["text"] == (
        "<!date^1796018400^{date_short_pretty} {time}|Mon 30 Nov 07:00 CET> – "
        "<!date^1796104800^{date_short_pretty} {time}|Tue 1 Dec 07:00 CET>"
    )
    assert payload["blocks"][5]["text"]["text"] == (
        "*<https://news.example/s/2|TSMC ramps 2nm>*\n1 source: Wire · "
        "<!date^1796019240^{date_short_pretty} {time}|Mon 30 Nov 07:14 CET>"
        " · about Nvidia, TSMC\nTSMC said 2nm output doubled this quarter."
    )


def test_non_web_links_are_not_linked() -> None:
    for url in ("urn:chipwire:a1", "javascript:alert(1)"):
        story = replace(make_story(1, "No *link*", "Body.", ("W",), False), url=url)
        digest = replace(hostile_digest(), sections=(DigestSection("S", (story,)),))
        [payload] = render_slack(digest, COMPANY_NAMES)
        assert payload["blocks"][3]["text"]["text"].startswith("*No ∗link∗*\n1 source: W")


def test_empty_digest_sends_the_note_or_nothing() -> None:
    empty = replace(hostile_digest(), sections=(), empty_note="Nothing <!here> today")
    assert render_slack(empty, COMPANY_NAMES) == [
        {
            "text": "Nothing &lt;!here&gt; today",
            "blocks": [
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": "Nothing &lt;!here&gt; today",
                        "verbatim": True,
                    },
                }
            ],
        }
    ]
    assert render_slack(replace(empty, empty_note=None), COMPANY_NAMES) == []


def test_huge_story_is_cut_cleanly() -> None:
    title = "&<>|*" * 2000
    story = make_story(1, title, "&amp; " * 5000, ("A&B" * 300,) * 40, True)
    digest = replace(
        hostile_digest(), title="&" * 1000, sections=(DigestSection("<H>" * 1000, (story,)),)
    )
    [payload] = render_slack(digest, COMPANY_NAMES)
    assert_within_limits(payload)
    text = payload["blocks"][3]["text"]["text"]
    assert text.count(f"<{link_url(story_url(1, True))}|") == 1
    for text, plain in texts_of(payload):
        assert_inert(text, plain)


def test_many_stories_split_into_ordered_parts() -> None:
    stories = tuple(make_story(k, f"Story {k}", "Body.", ("A",), False) for k in range(130))
    digest = replace(
        hostile_digest(),
        sections=(DigestSection("One", stories[:70]), DigestSection("Two", stories[70:])),
    )
    payloads = render_slack(digest, COMPANY_NAMES)
    assert len(payloads) == 3
    for number, payload in enumerate(payloads, start=1):
        assert_within_limits(payload)
        assert payload["text"].endswith(f" (part {number}/3)")
        assert payload["blocks"][0]["text"]["text"].endswith(f" (part {number}/3)")
    headers = [
        b["text"]["text"] for p in payloads for b in p["blocks"][2:] if b["type"] == "header"
    ]
    assert headers == ["One", "One (cont.)", "Two", "Two (cont.)"]


@given(digest=digests())
@PROPERTY
def test_random_digests_fit_slack(digest: Digest) -> None:
    payloads = render_slack(digest, COMPANY_NAMES)
    for payload in payloads:
        assert_within_limits(payload)
        for text, plain in texts_of(payload):
            assert_inert(text, plain)
    if not digest.stories:
        assert len(payloads) == (1 if digest.empty_note else 0)
        return
    total = len(payloads)
    if total > 1:
        for number, payload in enumerate(payloads, start=1):
            assert payload["blocks"][0]["text"]["text"].endswith(f" (part {number}/{total})")
    joined = "\n".join(
        b["text"]["text"] for p in payloads for b in p["blocks"] if b["type"] == "section"
    )
    positions = []
    for story in digest.stories:
        marker = f"<{link_url(story.url)}|"
        assert joined.count(marker) == 1, story.key
        positions.append(joined.index(marker))
    assert positions == sorted(positions)
    assert len(OUR_LINK.findall(joined)) == len(digest.stories)


def test_stories_left_out_are_counted_with_the_commands_that_find_them() -> None:
    [payload] = render_slack(replace(hostile_digest(), left_out=1), COMPANY_NAMES)
    context = payload["blocks"][1]["elements"][0]["text"]
    assert context.endswith(
        "\n1 more story not shown: `/chipnews latest COMPANY` or `/chipnews search WORDS`"
        " finds them."
    )
