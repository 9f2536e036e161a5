"""poll_feeds end to end: a real loopback server, the real fetcher, parser and store."""

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.ingest.fetch import Fetcher, FetchLimits
from bot.ingest.jobs import ClassifierSpec
from bot.ingest.parsers import InlineParser
from bot.ingest.pipeline import PollContext, jitter, next_poll_delay, poll_feeds
from bot.models import FeedConfig, FeedState
from bot.platforms.console.ingest_report import print_feed_table
from bot.store.errors import StoreError
from tests.feedserver import FeedServer, feed_server, rss
from tests.support import at, due_feeds, open_store, postgres_available


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


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
        yield PollContext(
            store, fetcher, InlineParser(ClassifierSpec(enabled=False)), Clock(at(20))
        )


async def add(ctx: PollContext, url: str, *, history: bool = False) -> FeedState:
    feed = FeedConfig(url=url, name=url.rsplit("/", 1)[-1], allow_private_address=True)
    return await ctx.store.add_feed(feed, "cli", at(20), history=history)


async def poll_all(ctx: PollContext):
    return await poll_feeds(ctx, await ctx.store.list_feeds())


async def test_tracking_parameters_fold_two_feeds_into_one_article(
    ctx: PollContext, server: FeedServer
) -> None:
    link = "https://News.example:443/story?id=7"
    server.serve("/a", rss(("a1", f"{link}&utm_source=rss&utm_medium=feed", "H20 rules")))
    server.serve("/b", rss(("b1", f"{link}&fbclid=xyz#top", "H20 rules tightened")))
    await add(ctx, server.url("/a"))
    await add(ctx, server.url("/b"))
    outcomes = sorted(await poll_all(ctx), key=lambda o: o.feed_id)
    assert [(o.new_articles, o.new_sources) for o in outcomes] == [(1, 0), (0, 1)]
    [stored] = await ctx.store.recent_articles()
    assert stored.url == "https://news.example/story?id=7"


async def test_unchanged_feed_costs_a_304_and_no_parse(
    ctx: PollContext, server: FeedServer
) -> None:
    server.serve("/f", rss(("1", "https://n.example/1", "One")))
    await add(ctx, server.url("/f"))
    await poll_all(ctx)
    [again] = await poll_all(ctx)
    assert (again.status, again.skipped_parse, again.new_articles) == (304, True, 0)


async def test_identical_body_without_validators_is_not_parsed(
    ctx: PollContext, server: FeedServer
) -> None:
    server.serve("/f", rss(("1", "https://n.example/1", "One")), validators=False)
    await add(ctx, server.url("/f"))
    await poll_all(ctx)
    [again] = await poll_all(ctx)
    assert (again.status, again.skipped_parse) == (200, True)


async def test_new_entries_are_stored_on_the_next_poll(
    ctx: PollContext, server: FeedServer
) -> None:
    server.serve("/f", rss(("1", "https://n.example/1", "One")))
    await add(ctx, server.url("/f"))
    await poll_all(ctx)
    server.serve(
        "/f", rss(("2", "https://n.example/2", "Two"), ("1", "https://n.example/1", "One"))
    )
    [outcome] = await poll_all(ctx)
    assert outcome.new_articles == 1
    assert await ctx.store.count_articles() == 2


async def test_a_failing_feed_never_stops_the_others(ctx: PollContext, server: FeedServer) -> None:
    server.serve("/ok", rss(("1", "https://n.example/1", "One")))
    server.serve("/broken", "oops", status=500)
    server.serve("/html", "<!doctype html><html><body>hi</body></html>", content_type="text/html")
    server.serve("/bomb", '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rss>&a;</rss>')
    for path in ("/ok", "/broken", "/html", "/bomb"):
        await add(ctx, server.url(path))
    await add(ctx, "http://127.0.0.1:9/refused")
    outcomes = {o.url.rsplit("/", 1)[-1]: o for o in await poll_all(ctx)}
    assert outcomes["ok"].new_articles == 1
    assert outcomes["ok"].error is None
    assert outcomes["broken"].error == "HTTP 500"
    assert all(outcomes[name].error for name in ("html", "bomb", "refused"))
    feeds = {f.url.rsplit("/", 1)[-1]: f for f in await ctx.store.list_feeds()}
    assert feeds["broken"].consecutive_failures == 1
    assert feeds["broken"].last_error == "HTTP 500"
    assert feeds["ok"].last_success_at == at(20)


async def test_failures_back_off_and_retry_after_is_honoured(
    ctx: PollContext, server: FeedServer
) -> None:
    server.serve("/busy", "slow down", status=429, headers={"Retry-After": "7200"})
    feed = await add(ctx, server.url("/busy"))
    await poll_all(ctx)
    stored = await ctx.store.get_feed(feed.id)
    assert stored is not None
    assert stored.next_poll_at == at(20) + timedelta(hours=2)
    assert await due_feeds(ctx.store, at(20) + timedelta(hours=1)) == []


def test_jitter_spreads_feeds_within_ten_percent() -> None:
    factors = {round(jitter(feed_id, at(20)), 4) for feed_id in range(1, 200)}
    assert min(factors) >= 0.9
    assert max(factors) <= 1.1
    assert len(factors) > 150  # feeds polled together are due apart next time
    assert jitter(7, at(20)) == jitter(7, at(20))


def test_backoff_doubles_per_failure_up_to_the_cap() -> None:
    delays = [next_poll_delay(600, n, None, 3600) for n in range(5)]
    assert delays == [600, 600, 1200, 2400, 3600]
    assert next_poll_delay(600, 0, 9000, 3600) == 9000


async def test_a_permanent_redirect_moves_what_is_fetched_not_the_feed(
    ctx: PollContext, server: FeedServer
) -> None:
    server.serve("/old", "", status=301, headers={"Location": "/new"}, validators=False)
    server.serve("/new", rss(("1", "https://n.example/1", "One")))
    feed = await add(ctx, server.url("/old"))
    [outcome] = await poll_all(ctx)
    assert outcome.new_articles == 1
    stored = await ctx.store.get_feed(feed.id)
    assert stored is not None
    assert (stored.url, stored.fetch_url) == (server.url("/old"), server.url("/new"))
    await poll_all(ctx)
    assert server.hits == {"/old": 1, "/new": 2}  # the moved URL is what is polled now


async def test_a_moved_config_feed_stays_one_feed_after_a_restart(
    ctx: PollContext, server: FeedServer
) -> None:
    server.serve("/old", "", status=301, headers={"Location": "/new"}, validators=False)
    server.serve("/new", rss(("1", "https://n.example/1", "One")))
    configured = [FeedConfig(url=server.url("/old"), name="Mover", allow_private_address=True)]
    await ctx.store.sync_config(configured, None, at(20))
    await poll_all(ctx)
    await ctx.store.sync_config(configured, None, at(21))  # the next start
    [feed] = await ctx.store.list_feeds()
    assert (feed.url, feed.fetch_url) == (server.url("/old"), server.url("/new"))
    await poll_all(ctx)
    assert server.hits["/new"] == 2
    assert server.hits["/old"] == 1
    with pytest.raises(StoreError, match="already stored as id 1 \\(moved from"):
        await add(ctx, server.url("/new"))
    listing = io.StringIO()
    print_feed_table(await ctx.store.feed_summaries(), listing)
    assert server.url("/old") in listing.getvalue()
    assert f"moved to {server.url('/new')}" in listing.getvalue()


async def test_first_poll_of_a_feed_is_history(ctx: PollContext, server: FeedServer) -> None:
    server.serve("/f", rss(("1", "https://n.example/1", "One")))
    await add(ctx, server.url("/f"), history=True)
    await poll_all(ctx)
    server.serve(
        "/f", rss(("2", "https://n.example/2", "Two"), ("1", "https://n.example/1", "One"))
    )
    await poll_all(ctx)
    flags = {a.url: a.is_history for a in await ctx.store.recent_articles()}
    assert flags == {"https://n.example/1": True, "https://n.example/2": False}


async def test_a_refused_private_host_says_how_to_allow_it(ctx: PollContext) -> None:
    feed = FeedConfig(url="http://127.0.0.1:9/feed", name="mine")
    await ctx.store.add_feed(feed, "cli", at(20))
    [outcome] = await poll_all(ctx)
    assert outcome.error is not None
    assert "allow_private_address = true" in outcome.error


async def test_a_reporter_that_fails_stops_the_poll_instead_of_hanging_it(
    ctx: PollContext, server: FeedServer
) -> None:
    """More feeds than the writer's queue holds, and a reporter that raises at the first one:
    the waiting polls are cancelled and the error comes back (it once waited for ever)."""
    from dataclasses import replace

    small = replace(ctx, max_in_flight=2)
    for n in range(8):
        server.serve(f"/f{n}", rss((f"{n}", f"https://n.example/{n}", f"Story {n}")))
        await add(ctx, server.url(f"/f{n}"))

    def reporter(outcome: object) -> None:
        raise BrokenPipeError("the reader left")

    feeds = await ctx.store.list_feeds()
    with pytest.raises(BrokenPipeError, match="the reader left"):
        await asyncio.wait_for(poll_feeds(small, feeds, reporter), timeout=60)  # a hang guard
