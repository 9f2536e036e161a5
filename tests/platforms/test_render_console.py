"""Console digest rendering and the shared text-safety helpers."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.models import Digest
from bot.platforms.console.render import render_console
from bot.text import (
    ELLIPSIS,
    clean,
    fit,
    local_time,
    one_line,
    period_text,
    safe_cut,
    sources_text,
    summary_line,
    text_len,
    truncate,
    zone,
)
from tests.platforms import (
    COMPANY_NAMES,
    HOSTILE_TITLE,
    digests,
    has_lone_surrogate,
    hostile_digest,
    make_story,
    story_url,
    texts,
)

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- bot.text ------------------------------------------------------------------------------


def test_clean_drops_controls_bidi_and_lone_surrogates() -> None:
    assert clean("a\x00b\x1b[1mc\u202ed\ud800e\ufefff") == "ab[1mcdef"
    assert clean("line\nbreak\ttab\u2028sep") == "line break tab sep"


def test_one_line_collapses_whitespace() -> None:
    assert one_line("  Nvidia\n\n  ships \t chips  ") == "Nvidia ships chips"


def test_truncate_cuts_at_a_word_boundary() -> None:
    assert truncate("Nvidia ships new chips today", 16) == "Nvidia ships…"
    assert truncate("short", 16) == "short"
    assert truncate("anything", 0) == ""


def test_truncate_without_spaces_cuts_between_characters() -> None:
    assert truncate("华为发布新芯片昇腾系列", 6) == "华为发布新…"


def test_truncate_keeps_emoji_clusters_whole() -> None:
    family = "👨\u200d👩\u200d👧"
    assert truncate("go " + family * 3, 9) in ("go…", "go " + family + "…")
    assert truncate("ab 👍🏽👍🏽", 7) == "ab…"
    assert truncate("x 🇮🇹🇫🇷", 6) == "x…"


def test_safe_cut_never_splits_a_flag_pair() -> None:
    flags = "🇮🇹🇫🇷"
    assert [safe_cut(flags, i) for i in range(5)] == [0, 0, 2, 2, 4]


def test_text_len_counts_utf16_units() -> None:
    assert text_len("a👍") == 3


@given(text=texts, limit=st.integers(0, 400))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_truncate_is_a_clean_prefix_within_the_limit(text: str, limit: int) -> None:
    text = one_line(text)
    result = truncate(text, limit)
    assert text_len(result) <= limit
    if result.endswith(ELLIPSIS) and result != text:
        head = result.removesuffix(ELLIPSIS)
        assert text.startswith(head)
        rest = text[len(head) :]
        assert not rest or unicodedata.category(rest[0]) not in ("Mn", "Me", "Mc")
        assert not head.endswith("\u200d")
    assert not has_lone_surrogate(result)


@given(text=texts, limit=st.integers(0, 300))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fit_never_cuts_an_escape(text: str, limit: int) -> None:
    def escape(s: str) -> str:
        return "".join("\\" + c if c in "\\*" else c for c in one_line(s)).replace("&", "&amp;")

    result = fit(text, limit, escape)
    assert text_len(result) <= limit
    assert "&" not in result.replace("&amp;", "")
    pairs = result.split("\\\\")
    assert all(part.count("\\") == part.count("\\*") for part in pairs)
    assert not has_lone_surrogate(result)


def test_summary_line_takes_the_first_sentence() -> None:
    text = "Nvidia said on Monday it would ship a new chip. Analysts were surprised."
    assert summary_line(text) == "Nvidia said on Monday it would ship a new chip."
    assert summary_line("U.S. rules tighten. " + "word " * 100).endswith(ELLIPSIS)
    assert len(summary_line("word " * 100)) <= 160
    assert summary_line("华为发布新芯片。第二句。") == "华为发布新芯片。"


def test_times_are_shown_in_the_digest_zone() -> None:
    moment = datetime(2026, 11, 30, 13, 5, tzinfo=UTC)
    assert local_time(moment, zone("Europe/Rome")) == "Mon 30 Nov 14:05 CET"
    assert local_time(moment, zone("No/Such_Zone")) == "Mon 30 Nov 13:05 UTC"
    assert local_time(moment.replace(tzinfo=None), zone("Asia/Shanghai")) == "Mon 30 Nov 21:05 CST"
    start, end = datetime(2026, 11, 29, 6, tzinfo=UTC), datetime(2026, 11, 30, 6, tzinfo=UTC)
    assert period_text(start, end, "Europe/Rome") == (
        "Sun 29 Nov 2026 07:00 – Mon 30 Nov 2026 07:00 (Europe/Rome)"
    )


def test_sources_text() -> None:
    assert sources_text(["Wire"]) == "1 source: Wire"
    assert sources_text(["A", "B", "C"]) == "3 sources: A, B, C"
    assert sources_text([str(i) for i in range(8)]) == "8 sources: 0, 1, 2, 3, 4 and 3 more"


# --- render_console -----------------------------------------------------------------------


def test_console_layout() -> None:
    out = render_console(hostile_digest(), COMPANY_NAMES)
    lines = out.splitlines()
    assert lines[0] == "ChipWire digest — Mon 30 Nov 2026"
    assert lines[1] == "Mon 30 Nov 2026 07:00 – Tue 1 Dec 2026 07:00 (Europe/Rome)"
    assert "Top stories" in lines
    assert f"• {HOSTILE_TITLE}" in lines
    assert "  2 sources: Wire <!here>, Daily · Mon 30 Nov 07:07 CET · about Nvidia" in lines
    assert "  https://news.example/s/1" in lines
    assert lines.index("Top stories") < lines.index("TSMC @here")


def test_console_strips_control_characters() -> None:
    story = make_story(
        1, "Evil\x1b[2J\x07 title\u202e", "Sum\x00mary\nline two.", ("W\x1b",), False
    )
    digest = replace(
        hostile_digest(), sections=(replace(hostile_digest().sections[0], stories=(story,)),)
    )
    out = render_console(digest, COMPANY_NAMES)
    assert "• Evil[2J title" in out
    assert not any(unicodedata.category(ch) in ("Cc", "Cs") and ch != "\n" for ch in out)
    assert "\u202e" not in out


def test_console_omits_urn_links() -> None:
    story = replace(make_story(1, "No link", "Body text.", ("W",), False), url="urn:chipwire:a1")
    digest = replace(
        hostile_digest(), sections=(replace(hostile_digest().sections[0], stories=(story,)),)
    )
    out = render_console(digest, COMPANY_NAMES)
    assert "urn:" not in out
    assert "• No link" in out


def test_console_empty_digest() -> None:
    empty = replace(hostile_digest(), sections=(), empty_note="Nothing new\x00 today.")
    assert render_console(empty, COMPANY_NAMES) == "Nothing new today."
    assert render_console(replace(empty, empty_note=None), COMPANY_NAMES) == ""


@given(digest=digests())
@PROPERTY
def test_console_lists_every_story_once_in_order(digest: Digest) -> None:
    out = render_console(digest, COMPANY_NAMES)
    assert not has_lone_surrogate(out)
    assert not any(unicodedata.category(ch) == "Cc" and ch != "\n" for ch in out)
    if not digest.stories:
        assert out == (one_line(digest.empty_note) if digest.empty_note else "")
        return
    lines = out.splitlines()
    positions = []
    for story in digest.stories:
        k = int(story.key[1:])
        link = "  " + one_line(story_url(k, "?" in story.url)).replace(" ", "%20")
        assert lines.count(link) == 1
        positions.append(lines.index(link))
    assert positions == sorted(positions)
