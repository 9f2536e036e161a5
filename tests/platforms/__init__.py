"""Digests for the renderer tests: a hostile one and a hypothesis strategy for random ones."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from bot.models import Attachment, Digest, DigestSection, Story

T0 = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
COMPANY_NAMES = {
    "nvidia": "Nvidia",
    "tsmc": "TSMC",
    "huawei": "Huawei",
    "evil": "@everyone <!here>",
}

HOSTILE_TITLE = (
    "@everyone Nvidia <!channel> leak: [click here](https://evil.example/phish) "
    "<@123456789012345678>"
)
HOSTILE_SUMMARY = (
    "<script>alert(1)</script> @here look: [free chips](https://evil.example/win) "
    "<@&987> <#555> **bold** ~~gone~~ `code` | > quote"
)

# Pieces that mean something to one platform's markup, mixed into the random text.
TOKENS = (
    "@everyone", "@here", "@channel", "<!channel>", "<!here>", "<@123>", "<@&1>", "<#1>",
    "[x](https://evil.example/p)", "<https://evil.example|masked>", "**", "__", "~~", "`", "```",
    "||", "|", ">", "> ", "# ", "-# ", "- ", "1. ", "+ ", "&", "&amp;", "&lt;", "\\", "\\\\",
    "*", "_", "~", "(", ")", "[", "]", "<", "...", ". ", "。", "👍🏽", "🇮🇹🇫🇷", "👨‍👩‍👧",
    "e\u0301", "中文芯片", "华为昇腾", "\u202e", "\x00", "\x1b[31m", "\ud800", "\udfff", " ", "\n",
    "\t", "\u2028",
)  # fmt: skip

ZONES = ("UTC", "Europe/Rome", "Asia/Shanghai", "America/Los_Angeles", "Not/AZone")

_atoms = st.one_of(
    st.text(max_size=12),
    st.sampled_from(TOKENS),
    st.text(alphabet="abc 中*_~`|>#-[]()<@&!:.\\", max_size=12),
)
# Repetition gives long texts (thousands of characters) for little entropy.
_fragments = st.builds(lambda s, n: s * n, _atoms, st.integers(1, 300) | st.integers(1, 3))
texts = st.lists(_fragments, max_size=6).map("".join)


def story_url(k: int, weird: bool) -> str:
    """Our link for story k: unique per story; `weird` adds characters links must encode."""
    base = f"https://news.example/s/{k}"
    return f"{base}?q=a)b|c d&e>f(g)" if weird else base


def make_story(k: int, title: str, summary: str, sources: tuple[str, ...], weird: bool) -> Story:
    return Story(
        key=f"a{k}",
        title=title,
        summary=summary,
        url=story_url(k, weird),
        published_at=T0 + timedelta(minutes=7 * k),
        language=None,
        companies=("nvidia", "tsmc", "evil", "unknown")[: k % 5],
        score=0.5,
        sources=sources,
        article_ids=(k,),
    )


@st.composite
def digests(draw: st.DrawFn, max_stories: int = 200) -> Digest:
    """1-30 sections holding 0-max_stories stories in all; story k links to story_url(k)."""
    n_sections = draw(st.integers(1, 30))
    n_stories = draw(st.integers(0, max_stories))
    cuts = sorted(
        draw(st.lists(st.integers(0, n_stories), min_size=n_sections - 1, max_size=n_sections - 1))
    )
    pool = draw(st.lists(texts, min_size=1, max_size=6))
    names = draw(st.lists(texts, min_size=1, max_size=4))
    weird = draw(st.booleans())
    stories = [
        make_story(
            k,
            title=pool[draw(st.integers(0, len(pool) - 1))],
            summary=pool[draw(st.integers(0, len(pool) - 1))],
            sources=tuple(names[: 1 + k % len(names)]) * (1 + k % 3),
            weird=weird,
        )
        for k in range(n_stories)
    ]
    bounds = [0, *cuts, n_stories]
    sections = tuple(
        DigestSection(
            heading=pool[i % len(pool)], stories=tuple(stories[bounds[i] : bounds[i + 1]])
        )
        for i in range(n_sections)
    )
    return Digest(
        title=draw(st.sampled_from(["ChipWire digest — Mon 30 Nov 2026", pool[0]])),
        period_start=T0,
        period_end=T0 + timedelta(days=1),
        timezone=draw(st.sampled_from(ZONES)),
        sections=sections,
        empty_note=draw(st.sampled_from([None, "Nothing new today.", pool[-1]])),
    )


def hostile_digest() -> Digest:
    hostile = make_story(1, HOSTILE_TITLE, HOSTILE_SUMMARY, ("Wire <!here>", "Daily"), False)
    plain = make_story(
        2,
        "TSMC ramps 2nm",
        "TSMC said 2nm output doubled this quarter. More text.",
        ("Wire",),
        False,
    )
    return Digest(
        title="ChipWire digest — Mon 30 Nov 2026",
        period_start=T0,
        period_end=T0 + timedelta(days=1),
        timezone="Europe/Rome",
        sections=(
            DigestSection("Top stories", (hostile,)),
            DigestSection("TSMC @here", (plain,)),
        ),
    )


def has_lone_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def strings_in(value: object) -> list[str]:
    """Every string inside a JSON-like payload (keys excluded)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in strings_in(v)]
    return []


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    """A real PNG (8-bit greyscale): the platforms never decode it, but a viewer could."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + bytes(range(width)) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = tiny_png()


def chart(filename: str = "trend-nvidia-huawei-30d.png", data: bytes = PNG) -> Attachment:
    return Attachment(filename, data, "Mentions per day: Nvidia and Huawei, last 30 days")
