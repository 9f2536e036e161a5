from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ingest.normalise import (
    canonical_url,
    content_hash,
    detect_language,
    normalise_entry,
    normalise_language,
    plain_text,
)
from bot.models import ParsedFeed, RawEntry

FIRST_SEEN = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
FEED = ParsedFeed(
    format="rss20", title="Feed", link="https://example.com/", language=None, entries=()
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://example.com/a?utm_source=x&id=3&utm_medium=y",
            "https://example.com/a?id=3",
        ),
        ("https://example.com/a?fbclid=1&b=2&gclid=3&a=1", "https://example.com/a?b=2&a=1"),
        ("https://example.com/a#section", "https://example.com/a"),
        ("HTTPS://Example.COM:443/Path", "https://example.com/Path"),
        ("http://example.com:80/x", "http://example.com/x"),
        ("http://example.com:8080/x", "http://example.com:8080/x"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/?mc_cid=1&mc_eid=2&spm=3", "https://example.com/"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("not a url", "not a url"),
        ("http://[::1]:80/x", "http://[::1]/x"),
        ("http://example.com:99999999/x", "http://example.com:99999999/x"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@given(st.text(max_size=80))
def test_canonical_url_is_idempotent_on_any_text(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once


@given(
    st.sampled_from(["http", "https", "HTTP"]),
    st.from_regex(r"[A-Za-z0-9-]{1,12}\.[a-z]{2,4}", fullmatch=True),
    st.sampled_from(["", ":80", ":443", ":8080"]),
    st.from_regex(r"(/[a-zA-Z0-9._~-]{0,8}){0,3}", fullmatch=True),
    st.lists(
        st.tuples(
            st.sampled_from(["utm_source", "id", "q", "fbclid", "page", "UTM_Campaign"]),
            st.from_regex(r"[a-z0-9]{0,5}", fullmatch=True),
        ),
        max_size=4,
    ),
    st.sampled_from(["", "#frag"]),
)
def test_canonical_url_is_idempotent_on_urls(
    scheme: str, host: str, port: str, path: str, params: list[tuple[str, str]], fragment: str
) -> None:
    query = "&".join(f"{k}={v}" for k, v in params)
    url = f"{scheme}://{host}{port}{path}" + (f"?{query}" if query else "") + fragment
    once = canonical_url(url)
    assert canonical_url(once) == once
    assert "utm_" not in once.lower()
    assert "fbclid" not in once
    assert "#" not in once


def test_plain_text_strips_tags_scripts_and_entities() -> None:
    html = (
        "<p>Nvidia&nbsp;&amp; AMD</p><script>alert('x')</script><style>p{}</style>"
        "<b>chips</b>&#8217;s"
    )
    assert plain_text(html, 200) == "Nvidia\xa0& AMD chips’s".replace("\xa0", " ")


def test_plain_text_double_encoded_and_whitespace() -> None:
    assert plain_text("&amp;lt;b&amp;gt;x", 50) == "x"
    assert plain_text("AT&amp;amp;T", 50) == "AT&T"
    assert plain_text("a < b and c > d", 50) == "a < b and c > d"
    assert plain_text("&lt;b&gt;bold&lt;/b&gt; text", 50) == "bold text"
    assert plain_text("  a\n\t b  ", 50) == "a b"


def test_plain_text_caps_at_word_boundary() -> None:
    text = "Huawei unveils a new Ascend accelerator for training"
    capped = plain_text(text, 25)
    assert len(capped) <= 25
    assert capped.endswith("…")
    assert capped == "Huawei unveils a new…"


def test_plain_text_caps_cjk() -> None:
    text = "华为发布新款昇腾人工智能芯片" * 10
    capped = plain_text(text, 20)
    assert len(capped) == 20
    assert capped.endswith("…")


@given(st.text(max_size=400), st.integers(min_value=0, max_value=300))
def test_plain_text_never_exceeds_cap(text: str, cap: int) -> None:
    assert len(plain_text(text, cap)) <= cap


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("en-US", "en"),
        ("EN", "en"),
        ("zh-CN", "zh"),
        ("zh-Hans", "zh"),
        ("zh_TW", "zh"),
        ("it-IT", "it"),
        ("ita", "it"),
        ("", None),
        (None, None),
        ("!!garbage!!", None),
        ("english language", None),
    ],
)
def test_normalise_language(declared: str | None, expected: str | None) -> None:
    assert normalise_language(declared) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nvidia unveils its next generation of data-centre AI accelerators this week", "en"),
        ("华为发布新一代昇腾人工智能芯片，挑战英伟达在中国市场的地位", "zh"),
        (
            "Il nuovo chip di Huawei sfida Nvidia nel mercato cinese dell'intelligenza artificiale",
            "it",
        ),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_detect_language_too_short() -> None:
    assert detect_language("AMD") is None
    assert detect_language("") is None


def test_content_hash_ignores_case_and_whitespace() -> None:
    assert content_hash("Nvidia  News", "Body\ntext") == content_hash("nvidia news", "body text")
    assert content_hash("a", "b") != content_hash("a", "c")


def _entry(**changes: object) -> RawEntry:
    values: dict[str, object] = {
        "guid": "g1",
        "link": "https://example.com/story?utm_source=rss",
        "title": "<b>TSMC</b> expands",
        "summary": "<p>TSMC expands advanced packaging capacity for AI chips.</p>",
        "author": "Jane",
        "language": None,
        "published": None,
        "updated": None,
    }
    values.update(changes)
    return RawEntry(**values)  # type: ignore[arg-type]


def _normalise(entry: RawEntry, *, declared: str | None = None, feed: ParsedFeed = FEED):
    return normalise_entry(
        entry, feed=feed, source="src", declared_language=declared, first_seen=FIRST_SEEN
    )


def test_content_hash_stable_across_date_only_change() -> None:
    a = _normalise(_entry(published=datetime(2025, 1, 1, tzinfo=UTC)))
    b = _normalise(_entry(published=datetime(2025, 1, 2, tzinfo=UTC)))
    assert a is not None
    assert b is not None
    assert a.content_hash == b.content_hash
    assert a.published_at != b.published_at


def test_normalise_entry_fields() -> None:
    article = _normalise(_entry())
    assert article is not None
    assert article.url == "https://example.com/story"
    assert article.title == "TSMC expands"
    assert article.summary == "TSMC expands advanced packaging capacity for AI chips."
    assert article.source == "src"
    assert article.author == "Jane"
    assert article.language == "en"


def test_published_fallbacks_and_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    published = _normalise(_entry(published=datetime(2025, 1, 1, 10, tzinfo=plus_two)))
    assert published is not None
    assert published.published_at == datetime(2025, 1, 1, 8, tzinfo=UTC)
    assert published.published_at.tzinfo == UTC
    updated = _normalise(_entry(updated=datetime(2025, 2, 1, tzinfo=UTC)))
    assert updated is not None
    assert updated.published_at == datetime(2025, 2, 1, tzinfo=UTC)
    neither = _normalise(_entry())
    assert neither is not None
    assert neither.published_at == FIRST_SEEN


def test_language_precedence() -> None:
    feed_it = ParsedFeed(format="rss20", title="", link=None, language="it-IT", entries=())
    assert _normalise(_entry(language="zh-CN"), declared="en", feed=feed_it).language == "zh"  # type: ignore[union-attr]
    assert _normalise(_entry(), declared="en-GB", feed=feed_it).language == "en"  # type: ignore[union-attr]
    assert _normalise(_entry(), feed=feed_it).language == "it"  # type: ignore[union-attr]


def test_url_from_guid_and_unusable_entries() -> None:
    from_guid = _normalise(_entry(link=None, guid="https://example.com/g#x"))
    assert from_guid is not None
    assert from_guid.url == "https://example.com/g"
    assert _normalise(_entry(link=None, guid="urn:uuid:1", title="")) is None
    assert _normalise(_entry(link="javascript:alert(1)", guid=None, title="  ")) is None
    titled = _normalise(_entry(link=None, guid=None))
    other = _normalise(_entry(link=None, guid=None, title="Another headline"))
    assert titled is not None
    assert other is not None
    assert titled.url.startswith("urn:chipwire:content:")
    assert titled.url != other.url


def test_title_and_summary_caps() -> None:
    article = _normalise(_entry(title="word " * 200, summary="text " * 1000))
    assert article is not None
    assert len(article.title) <= 300
    assert len(article.summary) <= 1000


def test_plain_text_drops_terminal_escapes_nul_and_bidi_overrides() -> None:
    hostile = "Nvidia\x1b[31m red\x07 \u202egnp.exe\x00 done\x85"
    assert plain_text(hostile, 200) == "Nvidia[31m red gnp.exe done"
