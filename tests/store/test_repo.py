"""The store keeps every article once, on SQLite and on PostgreSQL."""

from dataclasses import replace

import pytest

from bot.models import FeedConfig
from bot.store.repo import FeedUpdate, Store, StoreError
from tests.support import article, at, ingest, record_poll, sync_config_feeds


async def add(store: Store, url: str, *, history: bool = False):
    return await store.add_feed(FeedConfig(url=url, name=url[-1]), "cli", at(20), history=history)


async def test_same_guid_twice_is_one_article(store: Store) -> None:
    feed = await add(store, "https://a.example/feed")
    first = await ingest(store, feed, [(article(1), None)], at(20))
    feed = await store.get_feed(feed.id)
    again = await ingest(store, feed, [(article(1, title="Edited title"), None)], at(21))
    assert (first.new_articles, again.new_articles, again.new_sources) == (1, 0, 0)
    assert await store.count_articles() == 1


async def test_date_only_bump_creates_nothing(store: Store) -> None:
    feed = await add(store, "https://a.example/feed")
    await ingest(store, feed, [(article(1), None)], at(20))
    bumped = article(1, published_at=at(25))
    result = await ingest(store, feed, [(bumped, None)], at(25))
    assert result.new_articles == 0
    [stored] = await store.recent_articles()
    assert stored.published_at == at(20)


async def test_same_url_from_two_feeds_is_one_article_with_two_sources(store: Store) -> None:
    one = await add(store, "https://a.example/feed")
    two = await add(store, "https://b.example/feed")
    await ingest(store, one, [(article(1, guid="a-1"), None)], at(20))
    result = await ingest(store, two, [(article(1, guid="b-77"), None)], at(20))
    assert (result.new_articles, result.new_sources) == (0, 1)
    counts = {s.feed.url: s.article_count for s in await store.feed_summaries()}
    assert counts == {"https://a.example/feed": 1, "https://b.example/feed": 1}
    assert await store.count_articles() == 1


async def test_same_content_under_another_url_is_the_same_article(store: Store) -> None:
    one = await add(store, "https://a.example/feed")
    two = await add(store, "https://b.example/feed")
    await ingest(store, one, [(article(1, guid="x"), None)], at(20))
    mirror = article(1, guid="y", url="https://mirror.example/copy")
    result = await ingest(store, two, [(mirror, None)], at(20))
    assert (result.new_articles, result.new_sources) == (0, 1)


async def test_first_poll_of_a_new_feed_is_history_later_ones_are_new(store: Store) -> None:
    feed = await add(store, "https://a.example/feed", history=True)
    await ingest(store, feed, [(article(1), None), (article(2), None)], at(20))
    feed = await store.get_feed(feed.id)
    assert feed is not None
    assert feed.first_polled
    await ingest(store, feed, [(article(3), None)], at(21))
    history = {a.url: a.is_history for a in await store.recent_articles()}
    assert history == {
        "https://news.example/1": True,
        "https://news.example/2": True,
        "https://news.example/3": False,
    }


async def test_duplicates_inside_one_batch_are_stored_once(store: Store) -> None:
    feed = await add(store, "https://a.example/feed")
    batch = [(article(1), None), (article(1, guid="other"), None), (article(2), None)]
    assert (await ingest(store, feed, batch, at(20))).new_articles == 2


async def test_search_finds_title_and_summary_words(store: Store) -> None:
    feed = await add(store, "https://a.example/feed")
    items = [
        (article(1, title="Huawei Ascend 910C ramps", summary="CloudMatrix racks ship"), None),
        (article(2, title="TSMC results", summary="record revenue on AI demand"), None),
    ]
    await ingest(store, feed, items, at(20))
    assert [a.url for a in await store.search("cloudmatrix")] == ["https://news.example/1"]
    assert [a.url for a in await store.search("record revenue")] == ["https://news.example/2"]
    assert await store.search("nothing-like-this") == []


async def test_adding_the_same_feed_twice_is_refused(store: Store) -> None:
    await add(store, "https://a.example/feed")
    with pytest.raises(StoreError, match="already stored"):
        await add(store, "https://a.example/feed")


async def test_record_poll_counts_failures_and_resets_on_success(store: Store) -> None:
    feed = await add(store, "https://a.example/feed")
    failure = FeedUpdate(at(20), at(21), 500, "HTTP 500", success=False)
    feed = await record_poll(store, feed, failure)
    feed = await record_poll(store, feed, replace(failure, polled_at=at(21)))
    assert (feed.consecutive_failures, feed.last_error, feed.last_success_at) == (
        2,
        "HTTP 500",
        None,
    )
    ok = FeedUpdate(at(22), at(23), 200, None, success=True, etag='"v1"', body_hash="h")
    feed = await record_poll(store, feed, ok)
    assert (feed.consecutive_failures, feed.last_error, feed.etag) == (0, None, '"v1"')
    assert feed.last_success_at == at(22)


async def test_permanent_redirect_moves_the_fetched_url_and_keeps_the_identity(
    store: Store,
) -> None:
    feed = await add(store, "https://a.example/feed")
    moved = FeedUpdate(at(20), at(21), 200, None, success=True, new_url="https://a.example/new")
    stored = await record_poll(store, feed, moved)
    assert (stored.url, stored.fetch_url, stored.poll_url) == (
        "https://a.example/feed",
        "https://a.example/new",
        "https://a.example/new",
    )
    back = FeedUpdate(at(21), at(22), 200, None, success=True, new_url="https://a.example/feed")
    assert (await record_poll(store, stored, back)).fetch_url is None  # moved back home


async def test_config_sync_adds_missing_feeds_and_keeps_cli_ones(store: Store) -> None:
    await add(store, "https://cli.example/feed")
    configured = [FeedConfig(url="https://conf.example/feed", name="Conf", interval=600)]
    await sync_config_feeds(store, configured, at(20))
    await sync_config_feeds(store, [replace(configured[0], name="Renamed")], at(21))
    names = {f.url: f.name for f in await store.list_feeds()}
    assert names == {"https://cli.example/feed": "d", "https://conf.example/feed": "Renamed"}


async def test_removing_a_feed_keeps_its_articles(store: Store) -> None:
    feed = await add(store, "https://a.example/feed")
    await ingest(store, feed, [(article(1), None)], at(20))
    assert (await store.remove_feed(feed.id)) is not None
    assert await store.remove_feed(feed.id) is None
    assert await store.count_articles() == 1


async def test_digest_candidates_carry_every_source_name(store: Store) -> None:
    from bot.models import Classification

    verdict = Classification(True, 0.9, ("nvidia",), ("test",))
    for name in ("One", "Two"):
        feed = await store.add_feed(
            FeedConfig(url=f"https://{name}.example/f", name=name), "cli", at(20), history=False
        )
        await ingest(store, feed, [(article(1, source=name), verdict)], at(20))
    [found] = await store.digest_candidates(target="t", since=at(19), until=at(21), min_score=0.5)
    assert found.sources == ("One", "Two")
    assert found.companies == ("nvidia",)
