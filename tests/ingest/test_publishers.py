"""Aggregator items read as the publisher's: Google News search feeds (<source>, suffixed
titles, redirect links, description = headline + publisher) next to the publisher's own feed.

Fixtures in tests/data/feeds were written for this project. Each end-to-end case runs twice:
on the lxml fast path (the documents as written) and on the feedparser path (the same bytes
declared ISO-8859-1, which the fast path declines).
"""

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.digest.stories import stories_of
from bot.ingest.fetch import Fetcher, FetchLimits
from bot.ingest.normalise import normalise_entry
from bot.ingest.parse.fast import parse_fast
from bot.ingest.parse.feedparser import parse_date, parse_feed, parse_with_feedparser
from bot.ingest.parsers import ClassifierSpec, InlineParser
from bot.ingest.pipeline import PollContext, poll_feeds
from bot.models import Article, FeedConfig, ParsedFeed, Story
from bot.platforms.console.render import render_console
from bot.store import queries
from tests.feedserver import FeedServer, feed_server
from tests.support import at, open_store, postgres_available

FEEDS = Path(__file__).resolve().parents[1] / "data" / "feeds"
GN_H20 = "google-news-nvidia-h20.xml"
GN_EXPORT = "google-news-export-controls.xml"
SCMP = "scmp-tech.xml"
HEADLINE = "Nvidia resumes H20 shipments to Chinese cloud providers after licence review"
SCMP_URL = (
    "https://www.scmp.com/tech/big-tech/article/3333101/"
    "nvidia-resumes-h20-shipments-chinese-cloud-providers-after-licence-review"
)


def document(name: str, path: str) -> bytes:
    body = (FEEDS / name).read_bytes()
    if path == "feedparser":
        body = body.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"', 1)
        assert parse_fast(body, parse_date=parse_date) is None
    else:
        assert parse_fast(body, parse_date=parse_date) is not None
    return body


def articles(feed: ParsedFeed) -> list[Article]:
    found = []
    for entry in feed.entries:
        article = normalise_entry(
            entry, feed=feed, source="Google News", declared_language=None, first_seen=at(20)
        )
        assert article is not None
        found.append(article)
    return found


@pytest.mark.parametrize("name", [GN_H20, GN_EXPORT, SCMP])
def test_both_parse_paths_read_the_publisher_alike(name: str) -> None:
    body = (FEEDS / name).read_bytes()
    fast = parse_feed(body)
    slow = parse_with_feedparser(body)
    assert fast.entries == slow.entries
    assert articles(fast) == articles(slow)


def test_a_google_news_item_is_the_publishers() -> None:
    scmp, reuters, toms = articles(parse_feed((FEEDS / GN_H20).read_bytes()))
    assert (scmp.source, scmp.title, scmp.summary) == ("South China Morning Post", HEADLINE, "")
    assert scmp.relayed
    assert scmp.publisher_url == "https://www.scmp.com/"
    assert scmp.url.startswith("https://news.google.com/rss/articles/")
    assert reuters.title.endswith("state-owned data centres")
    assert reuters.source == "Reuters"
    assert toms.title == "Nvidia H20 demand in China: what the new licences allow"
    assert toms.source == "Tom's Hardware"


def test_the_publishers_own_feed_stays_the_feeds() -> None:
    [own, _] = articles(parse_feed((FEEDS / SCMP).read_bytes()))
    assert (own.source, own.relayed, own.publisher_url) == ("Google News", False, None)


class Clock:
    def __call__(self) -> datetime:
        return at(20)


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with feed_server() as running:
        yield running


@pytest.fixture(params=["sqlite", "postgresql"])
async def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[PollContext]:
    if request.param == "postgresql" and (reason := await postgres_available()):
        pytest.skip(reason)
    async with (
        open_store(request.param, tmp_path) as store,
        Fetcher(FetchLimits(total_timeout=3, connect_timeout=2)) as fetcher,
    ):
        yield PollContext(store, fetcher, InlineParser(ClassifierSpec()), Clock())


async def poll(ctx: PollContext, server: FeedServer, path: str, feeds: dict[str, str]) -> None:
    for name, fixture in feeds.items():
        url = server.serve(f"/{fixture}", document(fixture, path))
        config = FeedConfig(url=url, name=name, allow_private_address=True)
        await ctx.store.add_feed(config, "cli", at(20), history=False)
    outcomes = await poll_feeds(ctx, await ctx.store.list_feeds())
    assert not [o.error for o in outcomes if o.error]


async def stories(ctx: PollContext) -> list[Story]:
    found = await ctx.store.digest_candidates(
        target="test", since=at(19), until=at(21), min_score=0.0
    )
    return stories_of(found)


def story_of(found: list[Story], words: str) -> Story:
    [story] = [s for s in found if words in s.title]
    return story


@pytest.mark.parametrize("path", ["fast", "feedparser"])
async def test_aggregator_item_and_the_publishers_own_are_one_story(
    ctx: PollContext, server: FeedServer, path: str
) -> None:
    feeds = {"Google News: Nvidia H20": GN_H20, "Google News: export controls": GN_EXPORT}
    await poll(ctx, server, path, feeds | {"SCMP Tech": SCMP})
    found = await stories(ctx)
    story = story_of(found, "H20 shipments")
    assert story.title == HEADLINE  # no " - South China Morning Post"
    assert len(story.article_ids) == 2  # the Google News item (both queries) and SCMP's own
    assert story.url == SCMP_URL  # the publisher's link, not the redirect; tracking dropped
    assert story.sources == ("SCMP Tech",)  # one publisher, one source
    text = render_console_text(found)
    assert "Google News" not in text
    assert "Reuters" in text


@pytest.mark.parametrize("path", ["fast", "feedparser"])
async def test_two_queries_carrying_one_item_count_one_source(
    ctx: PollContext, server: FeedServer, path: str
) -> None:
    feeds = {"Google News: Nvidia H20": GN_H20, "Google News: export controls": GN_EXPORT}
    await poll(ctx, server, path, feeds)
    found = await stories(ctx)
    story = story_of(found, "H20 shipments")
    assert len(story.article_ids) == 1
    assert story.sources == ("South China Morning Post",)
    assert story.url.startswith("https://news.google.com/rss/articles/")  # nothing better known
    assert story_of(found, "Ascend 910C").sources == ("Reuters",)
    async with ctx.store.engine.connect() as conn:
        top = await conn.run_sync(lambda c: queries.top_sources(c, "nvidia"))
    assert "South China Morning Post" in dict(top)
    assert not [name for name, _ in top if name.startswith("Google News")]


def render_console_text(found: list[Story]) -> str:
    from bot.digest.build import build_digest

    digest = build_digest(
        found,
        title="test",
        period_start=at(19),
        period_end=at(20),
        timezone="UTC",
        company_names={},
        empty_note=None,
    )
    return render_console(digest, {})


BING = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:News="https://www.bing.com:443/news/search?q=nvidia&amp;format=rss">
<channel><title>nvidia - Bing News</title><link>https://www.bing.com/news</link>
<item><title>Nvidia books record data-centre quarter - Reuters</title>
<link>http://www.bing.com/news/apiclick.aspx?ref=FexRss&amp;url=https%3a%2f%2fwww.reuters.com%2ftechnology%2fnvidia-record-quarter%2f</link>
<description>Nvidia reported record data-centre revenue on Wednesday as Blackwell shipments grew.</description>
<pubDate>Wed, 25 Nov 2026 21:10:00 GMT</pubDate>
<News:Source>Reuters</News:Source></item>
</channel></rss>"""


def test_a_bing_news_item_is_its_news_source_publishers() -> None:
    feed = parse_feed(BING)
    [entry] = feed.entries
    assert entry.publisher == "Reuters"
    [item] = articles(feed)
    assert (item.source, item.title) == ("Reuters", "Nvidia books record data-centre quarter")
    assert item.relayed
    assert item.url == "https://www.reuters.com/technology/nvidia-record-quarter/"
