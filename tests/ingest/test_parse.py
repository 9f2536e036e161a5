from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ingest.parse.fast import parse_fast
from bot.ingest.parse.feedparser import FeedRejected, parse_date, parse_feed, parse_with_feedparser

RSS20 = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
  <title>Chip News</title>
  <link>https://news.example.com/</link>
  <description>AI chips</description>
  <language>en-us</language>
  <item>
    <title>Nvidia &amp; TSMC expand CoWoS</title>
    <link>https://news.example.com/a/1?utm_source=rss</link>
    <guid isPermaLink="false">story-1</guid>
    <description><![CDATA[<p>Packaging <b>capacity</b> grows.</p>]]></description>
    <content:encoded><![CDATA[<p>Long body</p>]]></content:encoded>
    <dc:creator>Jane Doe</dc:creator>
    <pubDate>Mon, 06 Jan 2025 08:49:37 +0100</pubDate>
  </item>
  <item>
    <title>Relative link</title>
    <link>/a/2</link>
    <guid>https://news.example.com/a/2</guid>
  </item>
</channel>
</rss>"""

RSS10 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://rdf.example.com/">
    <title>RDF chips</title>
    <link>https://rdf.example.com/</link>
    <description>d</description>
    <dc:language>it</dc:language>
  </channel>
  <item rdf:about="https://rdf.example.com/x">
    <title>Cambricon results</title>
    <link>https://rdf.example.com/x</link>
    <description>Ricavi in crescita</description>
    <dc:date>2025-02-03T10:00:00+01:00</dc:date>
  </item>
</rdf:RDF>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="zh-CN">
  <title>Atom chips</title>
  <link href="https://atom.example.com/"/>
  <link rel="self" href="https://atom.example.com/feed.xml"/>
  <id>urn:uuid:feed</id>
  <updated>2025-01-01T00:00:00Z</updated>
  <entry>
    <title type="html">Huawei &lt;i&gt;Ascend&lt;/i&gt;</title>
    <link rel="alternate" type="text/html" href="https://atom.example.com/e/1"/>
    <link rel="enclosure" href="https://atom.example.com/e/1.mp3"/>
    <id>tag:atom.example.com,2025:1</id>
    <published>2025-01-02T03:04:05-05:00</published>
    <updated>2025-01-03T00:00:00Z</updated>
    <author><name>Li Wei</name><email>li@example.com</email></author>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>New <b>chip</b></p></div></content>
  </entry>
  <entry>
    <title>Only an id</title>
    <id>https://atom.example.com/e/2</id>
    <summary>s</summary>
  </entry>
</feed>"""


def _json_feed(version: str) -> bytes:
    return json.dumps(
        {
            "version": version,
            "title": "JSON chips",
            "home_page_url": "https://json.example.com/",
            "language": "en",
            "items": [
                {
                    "id": "1",
                    "url": "https://json.example.com/1",
                    "title": "AMD MI400",
                    "content_html": "<p>Big <i>GPU</i></p>",
                    "date_published": "2025-01-05T10:00:00+02:00",
                    "date_modified": "2025-01-06T10:00:00Z",
                    "authors": [{"name": "Ann"}],
                    "language": "en-GB",
                },
                {
                    "id": 2,
                    "external_url": "rel/2",
                    "content_text": "plain",
                    "author": {"name": "Bob"},
                },
                "not an item",
            ],
        }
    ).encode()


def test_rss20() -> None:
    feed = parse_feed(RSS20, base_url="https://news.example.com/feed.xml")
    assert feed.format == "rss20"
    assert feed.title == "Chip News"
    assert feed.language == "en-us"
    first, second = feed.entries
    assert first.guid == "story-1"
    assert first.title == "Nvidia & TSMC expand CoWoS"
    assert first.summary == "<p>Packaging <b>capacity</b> grows.</p>"
    assert first.author == "Jane Doe"
    assert first.published == datetime(2025, 1, 6, 7, 49, 37, tzinfo=UTC)
    assert second.link == "https://news.example.com/a/2"


def test_rss20_fast_path_matches_feedparser() -> None:
    fast = parse_fast(RSS20, parse_date=parse_date)
    assert fast is not None
    assert fast == parse_with_feedparser(RSS20)


def test_rss10_rdf() -> None:
    feed = parse_feed(RSS10)
    assert feed.format == "rss10"
    assert feed.language == "it"
    (entry,) = feed.entries
    assert entry.title == "Cambricon results"
    assert entry.link == "https://rdf.example.com/x"
    assert entry.guid == "https://rdf.example.com/x"
    assert entry.updated == datetime(2025, 2, 3, 9, 0, tzinfo=UTC)


def test_atom() -> None:
    feed = parse_feed(ATOM)
    assert feed.format == "atom10"
    assert feed.link == "https://atom.example.com/"
    assert feed.language == "zh-CN"
    first, second = feed.entries
    assert first.title == "Huawei <i>Ascend</i>"
    assert first.link == "https://atom.example.com/e/1"
    assert first.author == "Li Wei"
    assert "chip" in first.summary
    assert first.published == datetime(2025, 1, 2, 8, 4, 5, tzinfo=UTC)
    assert first.updated == datetime(2025, 1, 3, tzinfo=UTC)
    assert second.link == "https://atom.example.com/e/2"  # Atom id stands in for a link
    assert parse_fast(ATOM, parse_date=parse_date) is not None


@pytest.mark.parametrize(
    ("version", "expected"),
    [("https://jsonfeed.org/version/1", "json1"), ("https://jsonfeed.org/version/1.1", "json11")],
)
def test_json_feed(version: str, expected: str) -> None:
    feed = parse_feed(_json_feed(version), base_url="https://json.example.com/feed.json")
    assert feed.format == expected
    assert feed.language == "en"
    first, second = feed.entries
    assert first.title == "AMD MI400"
    assert first.summary == "<p>Big <i>GPU</i></p>"
    assert first.author == "Ann"
    assert first.language == "en-GB"
    assert first.published == datetime(2025, 1, 5, 8, tzinfo=UTC)
    assert first.updated == datetime(2025, 1, 6, 10, tzinfo=UTC)
    assert second.guid == "2"
    assert second.summary == "plain"
    assert second.author == "Bob"
    assert second.link == "https://json.example.com/rel/2"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<rss version="2.0"><channel><title>&lol3;</title>
<item><title>&lol3;</title></item></channel></rss>"""


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS,
        BILLION_LAUGHS.decode().encode("utf-16"),
        BILLION_LAUGHS.decode().encode("utf-32"),
        b'<!DOCTYPE rss [<!ENTITY % remote SYSTEM "http://x.invalid/e.dtd"> %remote;]><rss/>',
        b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "http://x.invalid/e.dtd"><rss/>',
        b'<!-- hi --><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"file:///etc/hostname"><rss version="0.91"/>',
        b"\xef\xbb\xbf<!DOCTYPE rss [<!ENTITY a 'b'>]><rss/>",
    ],
)
def test_entity_and_external_dtd_documents_are_refused(body: bytes) -> None:
    with pytest.raises(FeedRejected, match="DOCTYPE"):
        parse_feed(body)


def test_long_prolog_is_refused_not_skipped() -> None:
    body = b"<!--" + b" " * 400_000 + b"--><!DOCTYPE r [<!ENTITY a 'b'>]><rss/>"
    with pytest.raises(FeedRejected):
        parse_feed(body)


def test_netscape_rss091_doctype_is_accepted() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"'
        b' "http://my.netscape.com/publish/formats/rss-0.91.dtd">'
        b'<rss version="0.91"><channel><title>Old</title><link>http://o.example/</link>'
        b"<item><title>t</title><link>http://o.example/1</link></item></channel></rss>"
    )
    feed = parse_feed(body)
    assert feed.entries[0].link == "http://o.example/1"


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><head><title>Hi</title></head><body>x</body></html>",
        b"\n  <html lang='en'><body><p>page</p></body></html>",
        b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        b'"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd"><html/>',
    ],
)
def test_html_is_refused(body: bytes) -> None:
    with pytest.raises(FeedRejected, match="HTML page"):
        parse_feed(body, content_type="text/html")


@pytest.mark.parametrize("body", [b"", b"   \n"])
def test_empty_is_refused(body: bytes) -> None:
    with pytest.raises(FeedRejected, match="empty"):
        parse_feed(body)


@pytest.mark.parametrize(
    "body",
    [b"just some text", b'{"hello": "world"}', b"[1, 2]", b"{not json", b"<foo><bar/></foo>"],
)
def test_non_feeds_are_refused(body: bytes) -> None:
    with pytest.raises(FeedRejected, match="not an RSS, Atom or JSON feed"):
        parse_feed(body)


def test_deeply_nested_json_is_refused() -> None:
    with pytest.raises(FeedRejected):
        parse_feed(b"{" + b'"a":[' * 100_000)


def test_relative_links_resolve_against_feed_link_then_base_url() -> None:
    body = (
        b'<rss version="2.0"><channel><title>t</title><link>/site/</link>'
        b"<item><title>x</title><link>story/1</link></item></channel></rss>"
    )
    feed = parse_feed(body, base_url="https://host.example/feeds/rss.xml")
    assert feed.link == "https://host.example/site/"
    assert feed.entries[0].link == "https://host.example/site/story/1"
    no_base = parse_feed(body)
    assert no_base.entries[0].link == "story/1"


def test_ill_formed_feed_falls_back_to_feedparser() -> None:
    body = (
        b'<rss version="2.0"><channel><title>t &nbsp; x</title>'
        b"<item><title>A&nbsp;B</title><link>https://e.example/1</link></item></channel></rss>"
    )
    assert parse_fast(body, parse_date=parse_date) is None
    feed = parse_feed(body)
    assert feed.entries[0].link == "https://e.example/1"


@given(
    moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31)),
    offset=st.integers(min_value=-14 * 60, max_value=14 * 60),
    zone_name=st.sampled_from(["", "GMT", "UT", "Z"]),
    weekday=st.booleans(),
)
def test_the_common_rss_date_reads_as_feedparser_reads_it(
    moment: datetime, offset: int, zone_name: str, weekday: bool
) -> None:
    from feedparser.datetimes import _parse_date

    sign = "+" if offset >= 0 else "-"
    zone = zone_name or f"{sign}{abs(offset) // 60:02d}{abs(offset) % 60:02d}"
    text = moment.strftime("%d %b %Y %H:%M:%S ") + zone
    if weekday:
        text = moment.strftime("%a, ") + text
    expected = _parse_date(text)
    got = parse_date(text)
    assert got == (datetime(*expected[:6], tzinfo=UTC) if expected else None)
